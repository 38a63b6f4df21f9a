// SPDX-License-Identifier: MIT
#include "cli_xen.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen_target.h"
#include "xs_client.h"

#define DOMID_MAX 0x7fef /* DOMID_FIRST_RESERVED - 1 */

static void usage(FILE *out)
{
	fputs("usage: virtiobox xen-target DRIVER-DOMAIN GUEST\n"
	      "In dom0: make DRIVER-DOMAIN (a name or a domid) the device "
	      "model of GUEST,\n"
	      "so a virtiobox running in DRIVER-DOMAIN may serve GUEST's "
	      "virtio-mmio devices\n"
	      "(IOREQ server, interrupts, foreign mappings). Run it while "
	      "GUEST is still\n"
	      "paused after its creation, before `xl unpause GUEST`. Xen "
	      "keeps it until\n"
	      "DRIVER-DOMAIN is destroyed, and a domain is the device model "
	      "of one guest\n"
	      "at most. Under a FLASK policy (xsm=flask) the policy decides "
	      "instead: only\n"
	      "xenstore is told (so DRIVER-DOMAIN may read GUEST's name), "
	      "once per guest.\n",
	      out);
}

struct dom {
	unsigned id;
	char name[64];
};

/* A domid or a domain name, as xenstore knows it. */
static int resolve(struct xs_client *xs, const char *arg, struct dom *d)
{
	char *end, path[48], *name = NULL;
	unsigned long id = strtoul(arg, &end, 10);
	int ret;

	if (*arg && !*end && id <= DOMID_MAX) {
		d->id = (unsigned)id;
	} else {
		ret = xs_client_find_domain(xs, arg, &d->id);
		if (ret) {
			fprintf(stderr, "virtiobox xen-target: %s: %s\n", arg,
				ret == -ENOENT	 ? "no domain has this name"
				: ret == -EEXIST ? "more than one domain has "
						   "this name: give its domid"
						 : strerror(-ret));
			return 1;
		}
	}
	snprintf(path, sizeof(path), "/local/domain/%u/name", d->id);
	if (xs_client_read(xs, path, &name)) {
		fprintf(stderr, "virtiobox xen-target: no domain %u\n", d->id);
		return 1;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	free(name);
	return 0;
}

static int refused(const struct dom *dm, const struct dom *g, int err,
		   uint32_t xen)
{
	fprintf(stderr,
		"virtiobox xen-target: cannot make domain %u (%s) the device "
		"model of domain %u (%s): ",
		dm->id, dm->name, g->id, g->name);
	if (err == -EINVAL)
		fprintf(stderr,
			"domain %u is the device model of another domain "
			"already (Xen keeps one target per domain until that "
			"domain is destroyed): destroy and re-create %s, then "
			"run this again; or boot Xen with a FLASK policy that "
			"lets %s serve many guests (docs/deployment-xen.md)\n",
			dm->id, dm->name, dm->name);
	else if (err == -ENOTSUP)
		fprintf(stderr,
			"Xen %u.%u's domctl interface is unknown to this "
			"virtiobox (it knows Xen 4.17 to 4.21)\n",
			xen >> 16, xen & 0xffff);
	else if (err == -EPERM || err == -EACCES)
		fprintf(stderr, "%s (run it in dom0, as root)\n",
			strerror(-err));
	else if (err == -ESRCH)
		fprintf(stderr, "one of them no longer exists\n");
	else
		fprintf(stderr, "%s\n", strerror(-err));
	return 1;
}

static int set_both(struct xs_client *xs, const struct dom *dm,
		    const struct dom *g)
{
	uint32_t xen;
	int ret, flask;

	if (dm->id == g->id || !dm->id) {
		fprintf(stderr,
			"virtiobox xen-target: the driver domain must be "
			"another domain than dom0 and the guest\n");
		return 2;
	}
	flask = xen_target_flask();
	if (flask < 0) {
		fprintf(stderr,
			"virtiobox xen-target: cannot ask Xen for its security "
			"module: %s (run it in dom0, as root)\n",
			strerror(-flask));
		return 1;
	}
	/* Under FLASK a target would only tie dm to this one guest for
	 * life: the policy grants device-model rights by type. */
	if (!flask) {
		ret = xen_target_set((uint16_t)dm->id, (uint16_t)g->id, &xen);
		if (ret)
			return refused(dm, g, ret, xen);
	}
	/* So the driver domain may read the guest's xenstore nodes (its
	 * name) as libxl lets a stub domain. */
	ret = xs_client_set_target(xs, dm->id, g->id);
	if (ret) {
		fprintf(stderr,
			"virtiobox xen-target: Xen made domain %u the device "
			"model of domain %u, but xenstore refused it: %s\n",
			dm->id, g->id, strerror(-ret));
		return 1;
	}
	if (flask)
		printf("Xen enforces a FLASK policy: it decides whether domain "
		       "%u (%s) may be the device model of domain %u (%s), by "
		       "their types (xen/flask/virtiobox.te: virtiobox_dd_t "
		       "serves domU_t); xenstore lets %s read %s's nodes\n",
		       dm->id, dm->name, g->id, g->name, dm->name, g->name);
	else
		printf("domain %u (%s) is the device model of domain %u "
		       "(%s)\n",
		       dm->id, dm->name, g->id, g->name);
	return 0;
}

int cli_xen_target(int argc, char **argv)
{
	struct xs_client *xs;
	struct dom dm = {0}, g = {0};
	int ret;

	if (argc == 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	ret = xs_client_open(&xs);
	if (ret) {
		fprintf(stderr,
			"virtiobox xen-target: cannot connect to xenstore: %s "
			"(run it in dom0, with xenstored running)\n",
			strerror(-ret));
		return 1;
	}
	ret = resolve(xs, argv[1], &dm);
	if (!ret)
		ret = resolve(xs, argv[2], &g);
	if (!ret)
		ret = set_both(xs, &dm, &g);
	xs_client_close(xs);
	return ret;
}
