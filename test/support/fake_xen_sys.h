/* SPDX-License-Identifier: MIT */
/*
 * Test fake of the Xen library seam (xen/xen_sys.h): a simulated guest
 * whose memory is npages pages of a memfd, a grant table over those pages,
 * and holes (frames the guest does not have).
 *
 * Mappings are real: gnt_map and fm_map mmap the guest's pages, one after
 * the other, with the protection asked for, so a device write through a
 * read-only grant faults as it would under Xen, and what the device writes
 * is in the guest's page (fake_xen_page). gnt_copy copies to and from
 * those pages with Xen's per-piece checks (a ref not granted, or granted
 * read-only and written, gets GNTST_general_error; one out of the table
 * GNTST_bad_gntref; a piece crossing its page fails the call as gntdev
 * does). Every call is counted and every
 * mapping remembered, so tests check call counts, protections and leaks.
 *
 *   struct fake_xen fx;
 *   fake_xen_init(&fx, 64);
 *   fake_xen_grant(&fx, 10, 3, true);     // gref 10 -> page 3, read-only
 *   xen_gmem_grant_create_sys(&m, &fx.sys, 1, false, "t");
 *   ...
 *   xen_gmem_destroy(m);                  // calls close: counted only
 *   fake_xen_fini(&fx);
 *
 * Not thread-safe. fake_xen_open (for code taking a xen_sys_open_fn)
 * hands out fake_xen_current, which the test sets.
 */
#ifndef VIRTIOBOX_TEST_FAKE_XEN_SYS_H
#define VIRTIOBOX_TEST_FAKE_XEN_SYS_H

#include <stdbool.h>
#include <stdint.h>

#include "xen_sys.h"

#define FAKE_XEN_GREFS 2048
#define FAKE_XEN_LIVE  256

struct fake_xen_grant {
	bool granted;
	bool ro;
	uint32_t page;
};

struct fake_xen_map {
	void *addr;
	uint32_t pages;
	int prot;
	bool foreign;
};

struct fake_xen {
	struct xen_sys sys; /* hand &fx.sys to the code under test */

	int memfd;
	uint8_t *mem; /* the guest's pages, read-write, for the test */
	uint32_t npages;
	bool *hole;	/* npages entries: frame not in the guest */
	uint32_t domid; /* calls for another domain fail with -ESRCH */
	int fm_error;	/* non-zero: every fm_map fails with it (-EPERM) */
	struct fake_xen_grant grant[FAKE_XEN_GREFS];

	/* counters */
	unsigned long gnt_map_calls, gnt_unmap_calls;
	unsigned long gnt_copy_calls, gnt_copy_in, gnt_copy_out; /* pieces */
	int gnt_copy_error; /* non-zero: every gnt_copy fails with it */
	unsigned long fm_map_calls, fm_unmap_calls;
	unsigned long gnt_pages, fm_pages; /* pages mapped, all calls */
	unsigned long bad_unmaps;	   /* unmap of no live mapping */
	unsigned long opens, closes;
	int last_prot;		/* protection of the last gnt_map */
	uint32_t last_count;	/* pages of the last map call */
	uint32_t last_refs[64]; /* first refs of the last gnt_map */

	struct fake_xen_map live[FAKE_XEN_LIVE];
	unsigned nlive;
};

/* A guest of npages pages, domain 1, no grants. 0 or -errno. */
int fake_xen_init(struct fake_xen *x, uint32_t npages);
/* Unmap what is still mapped and free the guest. */
void fake_xen_fini(struct fake_xen *x);

/* Grant (or re-grant) page to gref; revoke takes it back. */
void fake_xen_grant(struct fake_xen *x, uint32_t gref, uint32_t page, bool ro);
void fake_xen_revoke(struct fake_xen *x, uint32_t gref);

/* The test's view of a guest page. */
uint8_t *fake_xen_page(struct fake_xen *x, uint32_t page);

/* Mappings alive, of one kind. */
unsigned fake_xen_live(const struct fake_xen *x, bool foreign);

extern struct fake_xen *fake_xen_current;
int fake_xen_open(struct xen_sys **out, unsigned what);

#endif
