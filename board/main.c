// SPDX-License-Identifier: MIT
/*
 * virtiobox: virtio device back-ends for Xen guests (and any vhost-user
 * front-end), configured by a board file.
 */
#include <gpiod.h>
#include <libconfig.h>
#include <stdio.h>
#include <string.h>

#include "xen_caps.h"

static void usage(FILE *out)
{
	fputs("usage: virtiobox --board FILE   serve every device the board file declares\n"
	      "       virtiobox check FILE     validate FILE and print what would be served\n"
	      "       virtiobox info           what this domain offers (Xen interfaces)\n"
	      "       virtiobox --version\n"
	      "       virtiobox --help\n",
	      out);
}

static int cmd_info(void)
{
	struct xen_caps caps;

	xen_caps_probe(&caps);
	printf("xen: %s\n", xen_caps_is_xen(&caps) ? "yes" : "no");
	printf("  event channels     %s\n", caps.evtchn ? "yes" : "no");
	printf("  grant mappings     %s\n", caps.gnttab ? "yes" : "no");
	printf("  foreign mappings   %s\n", caps.foreignmemory ? "yes" : "no");
	printf("  device model       %s\n", caps.devicemodel ? "yes" : "no");
	printf("  xenstore           %s\n", caps.xenstore ? "yes" : "no");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("virtiobox 0.1 (libgpiod %s, libconfig %d.%d)\n",
		       gpiod_version_string(), LIBCONFIG_VER_MAJOR,
		       LIBCONFIG_VER_MINOR);
		return 0;
	}
	if (!strcmp(argv[1], "info"))
		return cmd_info();
	fprintf(stderr, "virtiobox: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
