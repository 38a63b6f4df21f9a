// SPDX-License-Identifier: MIT
/*
 * A vhost-user front-end benchmark without a guest: it starts a back-end
 * process, speaks vhost-user to it the way QEMU does (memfd guest memory,
 * EVENT_IDX, split or packed), and drives 3-descriptor read requests
 * (header, one data byte, status) to a simulated register chip, 1, 16 or
 * 64 per kick, kick eventfd to call eventfd.
 *
 *   bench_vhu [VIRTIOBOX]
 *       virtiobox's memory after traffic, for a board of one device and
 *       of three (VmRSS, its anonymous part, VmHWM); without VIRTIOBOX,
 *       of the host build and of its static link (virtiobox-static, the
 *       form deployed)
 *   bench_vhu --compare VIRTIOBOX LVU_I2C|-
 *       requests/s of virtiobox and of the libvhost-user baseline
 *       (test/bench/lvu_i2c.c, split rings only), runs interleaved, the
 *       median of REPS runs each, and their ratio; "-": virtiobox alone
 *
 * VIRTIOBOX defaults to build/host-release/main/virtiobox. It prints
 * numbers and asserts nothing about speed.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_i2c.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ring_driver.h"
#include "vhost_user_wire.h"

#define GPA	 0x100000ull
#define MEM_SIZE 0x200000ull
#define DATA	 (GPA + 0x100000ull)
#define SLOT	 0x40ull
#define SLOTS	 128
#define QSIZE	 256
#define CHIP	 0x1c
#define DEVS_MAX 3
#define RUN_NS	 200000000ll
#define REPS	 5

struct fe {
	int sock;
	bool ack; /* REPLY_ACK negotiated */
	int memfd;
	uint8_t *mem;
	struct fake_gmem fgm;
	uint8_t *fgm_host;
	struct ring_driver drv;
	int kick, call;
	unsigned slot;
};

/* Back-ends started, ended by die() too. */
static pid_t children[2];

static void die(const char *what)
{
	for (int i = 0; i < 2; i++)
		if (children[i] > 0)
			kill(children[i], SIGTERM);
	fprintf(stderr,
		"bench_vhu: %s: %s (virtiobox's log: "
		"/tmp/vb-bench-vhu-*/log)\n",
		what, strerror(errno));
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- messages ---- */

static void send_msg(struct fe *f, uint32_t req, uint32_t flags, const void *p,
		     uint32_t size, int fd)
{
	struct {
		struct vhu_hdr h;
		uint8_t p[256];
	} m = {.h = {req, flags, size}};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {&m, sizeof(m.h) + size};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	memcpy(m.p, p, size);
	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(f->sock, &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
		die("sendmsg");
}

static uint64_t recv_u64(struct fe *f, uint32_t req)
{
	struct vhu_hdr h;
	uint64_t v = 0;

	if (recv(f->sock, &h, sizeof(h), MSG_WAITALL) != sizeof(h) ||
	    h.request != req || h.size > sizeof(v) ||
	    (h.size && recv(f->sock, &v, h.size, MSG_WAITALL) != h.size)) {
		errno = EPROTO;
		die("reply");
	}
	return v;
}

static uint64_t get(struct fe *f, uint32_t req)
{
	send_msg(f, req, VHU_VERSION, NULL, 0, -1);
	return recv_u64(f, req);
}

/* A request without a reply of its own; acknowledged when REPLY_ACK is. */
static void set(struct fe *f, uint32_t req, const void *p, uint32_t size,
		int fd)
{
	send_msg(f, req, VHU_VERSION | (f->ack ? VHU_FLAG_NEED_REPLY : 0), p,
		 size, fd);
	if (f->ack && recv_u64(f, req) != 0) {
		errno = EPROTO;
		die("request refused");
	}
}

static void set_state(struct fe *f, uint32_t req, uint32_t num)
{
	struct vhu_vring_state s = {0, num};

	set(f, req, &s, sizeof(s), -1);
}

/* ---- one device's front-end ---- */

static int connect_to(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int s;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	for (int i = 0; i < 1000; i++) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			die("socket");
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			return s;
		close(s);
		usleep(10000); /* virtiobox still starting */
	}
	die(path);
	return -1;
}

static void fe_start(struct fe *f, const char *path, bool packed)
{
	uint64_t ring = (1ull << VIRTIO_RING_F_EVENT_IDX) |
			(packed ? 1ull << VIRTIO_F_RING_PACKED : 0);
	uint64_t features, mine;
	struct {
		struct vhu_mem_hdr h;
		struct vhu_region r;
	} t;
	struct vhu_vring_addr a = {0};

	memset(f, 0, sizeof(*f));
	f->sock = connect_to(path);
	features = get(f, VHU_GET_FEATURES);
	mine = features & (ring | (1ull << VIRTIO_F_VERSION_1) |
			   (1ull << VHU_F_PROTOCOL_FEATURES));
	if ((mine & ring) != ring) {
		errno = ENOTSUP;
		die("ring features not offered");
	}
	if (features & (1ull << VHU_F_PROTOCOL_FEATURES)) {
		uint64_t proto = get(f, VHU_GET_PROTOCOL_FEATURES) &
				 (1ull << VHU_PROTOCOL_F_REPLY_ACK);

		set(f, VHU_SET_PROTOCOL_FEATURES, &proto, sizeof(proto), -1);
		f->ack = proto != 0;
	}
	set(f, VHU_SET_OWNER, NULL, 0, -1);
	set(f, VHU_SET_FEATURES, &mine, sizeof(mine), -1);

	f->memfd = memfd_create("bench-guest", MFD_CLOEXEC);
	if (f->memfd < 0 || ftruncate(f->memfd, MEM_SIZE) < 0)
		die("memfd");
	f->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      f->memfd, 0);
	if (f->mem == MAP_FAILED)
		die("mmap");
	if (fake_gmem_init(&f->fgm) ||
	    fake_gmem_add(&f->fgm, GPA, MEM_SIZE, GMEM_READ | GMEM_WRITE))
		die("fake_gmem");
	/* The ring driver writes where virtiobox reads: the memfd. */
	f->fgm_host = f->fgm.region[0].host;
	f->fgm.region[0].host = f->mem;
	t.h = (struct vhu_mem_hdr){1, 0};
	t.r = (struct vhu_region){GPA, MEM_SIZE, (uint64_t)(uintptr_t)f->mem,
				  0};
	set(f, VHU_SET_MEM_TABLE, &t, sizeof(t), f->memfd);

	if (ring_driver_init(&f->drv, &f->fgm,
			     &(struct ring_driver_cfg){.features = ring,
						       .num = QSIZE,
						       .ring = GPA}))
		die("ring_driver_init");
	f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->kick < 0 || f->call < 0)
		die("eventfd");
	set(f, VHU_SET_VRING_CALL, &(uint64_t){0}, 8, f->call);
	set_state(f, VHU_SET_VRING_NUM, QSIZE);
	set_state(f, VHU_SET_VRING_BASE, f->drv.base);
	a.desc = (uint64_t)(uintptr_t)f->mem + (f->drv.layout.desc - GPA);
	a.avail = (uint64_t)(uintptr_t)f->mem + (f->drv.layout.driver - GPA);
	a.used = (uint64_t)(uintptr_t)f->mem + (f->drv.layout.device - GPA);
	set(f, VHU_SET_VRING_ADDR, &a, sizeof(a), -1);
	set(f, VHU_SET_VRING_KICK, &(uint64_t){0}, 8, f->kick);
	if (features & (1ull << VHU_F_PROTOCOL_FEATURES))
		set_state(f, VHU_SET_VRING_ENABLE, 1);
}

static void fe_stop(struct fe *f)
{
	close(f->sock);
	ring_driver_destroy(&f->drv);
	f->fgm.region[0].host = f->fgm_host;
	fake_gmem_destroy(&f->fgm);
	munmap(f->mem, MEM_SIZE);
	close(f->memfd);
	close(f->kick);
	close(f->call);
}

static void add_read(struct fe *f)
{
	uint64_t base = DATA + (f->slot++ % SLOTS) * SLOT;
	struct virtio_i2c_out_hdr *h = fake_gmem_ptr(&f->fgm, base, 8);
	struct ring_seg s[3] = {
		{base, 8, false}, {base + 16, 1, true}, {base + 32, 1, true}};

	h->addr = htole16(CHIP << 1);
	h->flags = htole32(VIRTIO_I2C_FLAGS_M_RD);
	if (ring_driver_add(&f->drv, s, 3, false) < 0) {
		errno = ENOSPC;
		die("ring full");
	}
}

/* batch requests, a kick when the device asks for one, all used back. */
static void round_trip(struct fe *f, unsigned batch)
{
	unsigned got = 0;
	uint16_t id;
	uint32_t len;
	uint64_t v;

	for (unsigned i = 0; i < batch; i++)
		add_read(f);
	if (ring_driver_publish(&f->drv) == 1 &&
	    write(f->kick, &(uint64_t){1}, 8) != 8)
		die("kick");
	for (;;) {
		while (ring_driver_get_used(&f->drv, &id, &len) == 1)
			got++;
		if (got == batch)
			break;
		if (ring_driver_irq_enable(&f->drv) == 1)
			continue;
		if (poll(&(struct pollfd){f->call, POLLIN, 0}, 1, 5000) != 1) {
			errno = ETIMEDOUT;
			die("no used buffer notification");
		}
		if (read(f->call, &v, 8) != 8)
			die("call");
	}
}

/* ---- the virtiobox process ---- */

struct vb {
	pid_t pid;
	char dir[64];
	unsigned ndevs; /* 0: the libvhost-user baseline */
};

/* Run exe with args in vb->dir, its log lines in a file there (which a
 * failed run leaves for a look). */
static void vb_exec(struct vb *vb, const char *exe, const char *a1,
		    const char *a2, const char *a3, const char *a4)
{
	char log[128];

	vb->pid = fork();
	if (vb->pid < 0)
		die("fork");
	for (int i = 0; i < 2; i++)
		if (children[i] <= 0) {
			children[i] = vb->pid;
			break;
		}
	if (vb->pid == 0) {
		snprintf(log, sizeof(log), "%s/log", vb->dir);
		if (!freopen(log, "w", stderr))
			_exit(127);
		execl(exe, exe, a1, a2, a3, a4, (char *)NULL);
		fprintf(stderr, "bench_vhu: %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
}

static void vb_dir(struct vb *vb)
{
	snprintf(vb->dir, sizeof(vb->dir), "/tmp/vb-bench-vhu-XXXXXX");
	if (!mkdtemp(vb->dir))
		die("mkdtemp");
}

static void lvu_start(struct vb *vb, const char *exe)
{
	char sock[128];

	vb_dir(vb);
	vb->ndevs = 0;
	snprintf(sock, sizeof(sock), "%s/lvu.sock", vb->dir);
	vb_exec(vb, exe, sock, NULL, NULL, NULL);
}

static void vb_start(struct vb *vb, const char *exe, unsigned ndevs)
{
	char board[128];
	FILE *b;

	vb_dir(vb);
	vb->ndevs = ndevs;
	snprintf(board, sizeof(board), "%s/board.conf", vb->dir);
	b = fopen(board, "w");
	if (!b)
		die(board);
	fprintf(b, "name = \"bench\";\nguests = ( { domain = \"bench\"; "
		   "transport = \"vhost-user\"; devices = (\n");
	for (unsigned i = 0; i < ndevs; i++)
		fprintf(b,
			"%s{ type = \"i2c\"; name = \"i2c%u\"; socket = "
			"\"i2c%u.sock\"; packed = true; bus = \"sim\"; "
			"chips = ( { type = \"regs\"; address = 0x%x; "
			"size = 16; } ); }\n",
			i ? "," : "", i, i, CHIP);
	fprintf(b, "); } );\n");
	fclose(b);
	vb_exec(vb, exe, "--board", board, "--runtime-dir", vb->dir);
}

static void vb_sock(const struct vb *vb, unsigned i, char *out, size_t n)
{
	if (vb->ndevs)
		snprintf(out, n, "%s/i2c%u.sock", vb->dir, i);
	else
		snprintf(out, n, "%s/lvu.sock", vb->dir);
}

/* VmRSS, RssAnon, VmHWM of the process, KiB. */
static void vb_mem(const struct vb *vb, long kib[3])
{
	static const char *keys[3] = {"VmRSS:", "RssAnon:", "VmHWM:"};
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)vb->pid);
	f = fopen(path, "r");
	if (!f)
		die(path);
	while (fgets(line, sizeof(line), f))
		for (int k = 0; k < 3; k++)
			if (strncmp(line, keys[k], strlen(keys[k])) == 0)
				kib[k] = atol(line + strlen(keys[k]));
	fclose(f);
}

static void vb_stop(struct vb *vb)
{
	char path[128];

	kill(vb->pid, SIGTERM);
	waitpid(vb->pid, NULL, 0);
	for (int i = 0; i < 2; i++)
		if (children[i] == vb->pid)
			children[i] = 0;
	for (unsigned i = 0; i < vb->ndevs || i == 0; i++) {
		vb_sock(vb, i, path, sizeof(path));
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/board.conf", vb->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/log", vb->dir);
	unlink(path);
	rmdir(vb->dir);
}

/* ---- the runs ---- */

static double rate(struct fe *f, unsigned batch)
{
	int64_t t0, t;
	unsigned long reqs = 0;

	for (int i = 0; i < 200; i++)
		round_trip(f, batch);
	t0 = now_ns();
	do {
		round_trip(f, batch);
		reqs += batch;
		t = now_ns();
	} while (t - t0 < RUN_NS);
	return reqs * 1e9 / (double)(t - t0);
}

/* Memory of a board of ndevs devices after traffic on every one. */
static void board_mem(const char *exe, unsigned ndevs, long kib[3])
{
	struct fe f[DEVS_MAX];
	struct vb vb;
	char path[128];

	vb_start(&vb, exe, ndevs);
	for (unsigned i = 0; i < ndevs; i++) {
		vb_sock(&vb, i, path, sizeof(path));
		fe_start(&f[i], path, false);
		for (int k = 0; k < 2000; k++)
			round_trip(&f[i], 16);
	}
	vb_mem(&vb, kib);
	for (unsigned i = 0; i < ndevs; i++)
		fe_stop(&f[i]);
	vb_stop(&vb);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One connection's run on a back-end: requests/s. */
static double one_run(struct vb *vb, bool packed, unsigned batch)
{
	char path[128];
	struct fe f;
	double r;

	vb_sock(vb, 0, path, sizeof(path));
	fe_start(&f, path, packed);
	r = rate(&f, batch);
	fe_stop(&f);
	/* The back-end notices the hang-up before the next connection. */
	usleep(20000);
	return r;
}

static int compare(const char *exe, const char *lvu)
{
	static const unsigned batches[] = {1, 16, 64};
	struct vb vb, base;
	bool have_base = strcmp(lvu, "-") != 0;

	vb_start(&vb, exe, 1);
	if (have_base)
		lvu_start(&base, lvu);
	printf("vhost-user front-end, no guest: i2c read requests to a "
	       "simulated register chip, queue %u, EVENT_IDX; median of %d "
	       "interleaved runs of %.1f s\n",
	       QSIZE, REPS, RUN_NS / 1e9);
	printf("%-7s %9s %14s %14s %8s\n", "ring", "per kick", "virtiobox r/s",
	       "libvhost-user", "ratio");
	for (int packed = 0; packed < 2; packed++)
		for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]);
		     i++) {
			double v[REPS], l[REPS];
			bool with_base = have_base && !packed;

			for (int k = 0; k < REPS; k++) {
				v[k] = one_run(&vb, packed, batches[i]);
				l[k] = with_base ? one_run(&base, false,
							   batches[i])
						 : 0;
			}
			qsort(v, REPS, sizeof(v[0]), cmp_double);
			qsort(l, REPS, sizeof(l[0]), cmp_double);
			printf("%-7s %9u %14.0f", packed ? "packed" : "split",
			       batches[i], v[REPS / 2]);
			if (with_base)
				printf(" %14.0f %8.2f\n", l[REPS / 2],
				       v[REPS / 2] / l[REPS / 2]);
			else
				printf(" %14s %8s\n", "-", "-");
			fflush(stdout);
		}
	vb_stop(&vb);
	if (have_base)
		vb_stop(&base);
	return 0;
}

static void mem_rows(const char *exe)
{
	long one[3], three[3];

	if (access(exe, X_OK) < 0)
		die(exe);
	board_mem(exe, 1, one);
	board_mem(exe, 3, three);
	printf("virtiobox memory after traffic (KiB), i2c devices on simulated "
	       "chips, 16 requests per kick, %s:\n",
	       exe);
	printf("  1 device:  RSS %ld (anon %ld), peak %ld\n", one[0], one[1],
	       one[2]);
	printf("  3 devices: RSS %ld (anon %ld), peak %ld\n", three[0],
	       three[1], three[2]);
	printf("  each extra device: RSS %ld (anon %ld)\n",
	       (three[0] - one[0]) / 2, (three[1] - one[1]) / 2);
}

int main(int argc, char **argv)
{
	static const char *const exes[] = {
		"build/host-release/main/virtiobox",
		"build/host-release/main/virtiobox-static",
	};

	if (argc == 4 && strcmp(argv[1], "--compare") == 0)
		return compare(argv[2], argv[3]);
	if (argc > 1) {
		mem_rows(argv[1]);
	} else {
		mem_rows(exes[0]);
		if (access(exes[1], X_OK) == 0)
			mem_rows(exes[1]);
	}
	printf("(throughput against libvhost-user: bench_vhu_baseline.py)\n");
	return 0;
}
