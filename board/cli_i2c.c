// SPDX-License-Identifier: MIT
/*
 * "virtiobox i2c": vhost-device-i2c's command line (rust-vmm/vhost-device)
 * as a board: -s PATH -c N -l "<bus>:<addr>[:<addr>],...", the socket
 * suffixed with the guest's index, buses by adapter number or name,
 * decimal client addresses.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "board_config.h"
#include "cli.h"

#define SYSFS_I2C "/sys/bus/i2c/devices"

enum { OPT_SOCKET, OPT_COUNT, OPT_LIST, OPT_VERSION };

static const struct cli_opt opts[] = {
	[OPT_SOCKET] = {'s', "socket-path", "PATH",
			"vhost-user socket; suffixed with 0..N-1 as "
			"vhost-device-i2c does (PATH0, PATH1, ...)",
			NULL},
	[OPT_COUNT] =
		{'c', "socket-count", "N",
		 "number of guests (sockets); default 1, and 1 is all "
		 "virtiobox serves: vhost-device-i2c gives every guest the "
		 "same chips, virtiobox an address to one guest only",
		 NULL},
	[OPT_LIST] = {'l', "device-list", "LIST",
		      "<bus>:<addr>[:<addr>]: one bus (a virtiobox i2c device "
		      "serves one host adapter): adapter number N "
		      "(/dev/i2c-N) or adapter name (" SYSFS_I2C
		      "/i2c-N/name); client addresses in decimal (32 = 0x20)",
		      NULL},
	[OPT_VERSION] = {'V', "version", NULL, NULL,
			 "it prints vhost-device-i2c's version; use "
			 "virtiobox --version"},
	{0},
};

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* An adapter's name from <sysfs>/<entry>/name, trimmed; 0 or -errno. */
static int read_name(const char *sysfs, const char *entry, char *buf,
		     size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s/name", sysfs, entry);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	memmove(buf, trim(buf), strlen(trim(buf)) + 1);
	return 0;
}

int cli_i2c_resolve_bus(const char *sysfs, const char *bus, char *path,
			size_t pathlen, char *err, size_t errlen)
{
	char name[256], found[sizeof(((struct dirent *)0)->d_name)] = "";
	struct dirent *e;
	DIR *d;

	if (is_number(bus)) {
		snprintf(path, pathlen, "/dev/i2c-%s", bus);
		return 0;
	}
	d = opendir(sysfs);
	if (!d) {
		int ret = -errno;

		snprintf(err, errlen,
			 "bus \"%s\": cannot list adapters in %s: %s", bus,
			 sysfs, strerror(-ret));
		return ret;
	}
	/* Adapters only: i2c-N (clients are N-00AA and have names too). */
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "i2c-", 4) ||
		    !is_number(e->d_name + 4) ||
		    read_name(sysfs, e->d_name, name, sizeof(name)) ||
		    strcmp(name, bus))
			continue;
		if (found[0]) {
			snprintf(err, errlen,
				 "bus \"%s\": %s and %s both have that name; "
				 "give the adapter number",
				 bus, found, e->d_name);
			closedir(d);
			return -EEXIST;
		}
		snprintf(found, sizeof(found), "%s", e->d_name);
	}
	closedir(d);
	if (!found[0]) {
		snprintf(
			err, errlen,
			"bus \"%s\": no adapter in %s has that name (nor is it "
			"an adapter number)",
			bus, sysfs);
		return -ENOENT;
	}
	snprintf(path, pathlen, "/dev/%s", found);
	return 0;
}

struct bus_list {
	char *name;
	unsigned naddr;
	unsigned addr[BOARD_I2C_ADDR_MAX + 1];
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_addr(const char *s, struct bus_list *b, char *err,
		      size_t errlen)
{
	unsigned long v;

	if (!is_number(s))
		return fail(err, errlen,
			    "--device-list: \"%s\" is not a decimal address",
			    s);
	v = strtoul(s, NULL, 10);
	if (v < BOARD_I2C_ADDR_MIN || v > BOARD_I2C_ADDR_MAX)
		return fail(err, errlen,
			    "--device-list: address %s is out of range %d..%d "
			    "(0x%02x..0x%02x; the others are reserved by I2C)",
			    s, BOARD_I2C_ADDR_MIN, BOARD_I2C_ADDR_MAX,
			    BOARD_I2C_ADDR_MIN, BOARD_I2C_ADDR_MAX);
	for (unsigned i = 0; i < b->naddr; i++)
		if (b->addr[i] == v)
			return fail(
				err, errlen,
				"--device-list: address %lu is listed twice",
				v);
	b->addr[b->naddr++] = (unsigned)v;
	return 0;
}

/* "<bus>:<addr>[:<addr>]": one bus is all a virtiobox i2c device serves. */
static int parse_list(char *list, struct bus_list *b, char *err, size_t errlen)
{
	char *rest, *a;
	unsigned buses = 1;
	int ret = 0;

	list = trim(list);
	for (const char *c = list; *c; c++)
		buses += *c == ',';
	if (buses > 1)
		return fail(
			err, errlen,
			"--device-list names %u buses: vhost-device-i2c "
			"merges them into one guest bus, a virtiobox i2c "
			"device serves one host adapter; write a board file "
			"with one device per adapter (virtiobox-board(5))",
			buses);
	rest = list;
	b->name = trim(strsep(&rest, ":"));
	if (!*b->name)
		return fail(err, errlen, "--device-list: the bus has no name");
	while (!ret && (a = strsep(&rest, ":")))
		ret = parse_addr(trim(a), b, err, errlen);
	if (!ret && !b->naddr)
		ret = fail(err, errlen,
			   "--device-list: bus \"%s\" lists no client address",
			   b->name);
	return ret;
}

static int parse_count(const char *s, char *err, size_t errlen)
{
	if (!s)
		return 0;
	if (!is_number(s) || strtoul(s, NULL, 10) == 0)
		return fail(
			err, errlen,
			"--socket-count: \"%s\" is not a count of 1 or more",
			s);
	if (strtoul(s, NULL, 10) > 1)
		return fail(err, errlen,
			    "--socket-count %s: vhost-device-i2c gives every "
			    "guest the same chips; virtiobox gives an address "
			    "to one guest only (virtiobox-board(5), "
			    "Isolation); write a board file giving each guest "
			    "its own addresses",
			    s);
	return 0;
}

/* The socket as vhost-device-i2c names it (PATH0), made absolute. */
static int socket_path(const char *given, char *out, size_t len, char *err,
		       size_t errlen)
{
	char cwd[PATH_MAX];
	int n;

	if (!*given)
		return fail(err, errlen, "--socket-path is empty");
	if (given[0] == '/')
		n = snprintf(out, len, "%s0", given);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(out, len, "%s/%s0", cwd, given);
	else
		return fail(err, errlen,
			    "cannot read the working directory: %s",
			    strerror(errno));
	if (n < 0 || (size_t)n >= len)
		return fail(err, errlen,
			    "--socket-path: %s... is longer than the %zu bytes "
			    "a UNIX socket path takes",
			    out, len - 1);
	return 0;
}

static void write_board(FILE *out, const char *const *v, const char *sock,
			const char *bus, const struct bus_list *b)
{
	fprintf(out, "# virtiobox i2c --socket-path ");
	cli_put_string(out, v[OPT_SOCKET]);
	fprintf(out, " --socket-count %s --device-list ",
		v[OPT_COUNT] ? v[OPT_COUNT] : "1");
	cli_put_string(out, v[OPT_LIST]);
	fprintf(out, "\n# as a board file: serve it with virtiobox --board "
		     "FILE (virtiobox-board(5)).\n"
		     "name = \"vhost-device-i2c\";\n"
		     "guests = (\n"
		     "  {\n"
		     "    domain = \"guest0\";\n"
		     "    transport = \"vhost-user\";\n"
		     "    devices = (\n"
		     "      {\n"
		     "        type = \"i2c\";\n"
		     "        name = \"i2c0\";\n"
		     "        socket = ");
	cli_put_string(out, sock);
	fprintf(out, ";\n        bus = ");
	cli_put_string(out, bus);
	fprintf(out, ";%s%s%s\n        addresses = [",
		is_number(b->name) ? "" : "  # adapter \"",
		is_number(b->name) ? "" : b->name,
		is_number(b->name) ? "" : "\" when this was written");
	for (unsigned i = 0; i < b->naddr; i++)
		fprintf(out, "%s 0x%02x", i ? "," : "", b->addr[i]);
	fprintf(out, " ];\n"
		     "      }\n"
		     "    );\n"
		     "  }\n"
		     ");\n");
}

static int build(const char *const *v, FILE *out, char *err, size_t errlen)
{
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)], bus[PATH_MAX];
	char *list = NULL, *given = NULL;
	struct bus_list b = {0};
	int ret;

	if (!v[OPT_SOCKET])
		return fail(err, errlen, "--socket-path is required");
	if (!v[OPT_LIST])
		return fail(err, errlen, "--device-list is required");
	ret = parse_count(v[OPT_COUNT], err, errlen);
	if (ret)
		return ret;
	given = strdup(v[OPT_SOCKET]);
	list = strdup(v[OPT_LIST]);
	if (!given || !list)
		ret = -ENOMEM;
	if (!ret)
		ret = socket_path(trim(given), sock, sizeof(sock), err, errlen);
	if (!ret)
		ret = parse_list(list, &b, err, errlen);
	if (!ret)
		ret = cli_i2c_resolve_bus(SYSFS_I2C, b.name, bus, sizeof(bus),
					  err, errlen);
	if (!ret)
		write_board(out, v, sock, bus, &b);
	free(given);
	free(list);
	return ret;
}

const struct cli_spec cli_i2c = {
	.name = "i2c",
	.daemon = "vhost-device-i2c",
	.opts = opts,
	.build = build,
};
