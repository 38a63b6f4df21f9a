/* SPDX-License-Identifier: MIT */
/*
 * Test fake of the guest-memory seam (struct gmem): a few regions of heap
 * memory placed at chosen guest addresses.
 *
 *   struct fake_gmem m;
 *   fake_gmem_init(&m);
 *   fake_gmem_add(&m, 0x10000, 0x10000, GMEM_READ | GMEM_WRITE);
 *   vq_start(&vq, &m.gmem, ...);        // the ring layer sees &m.gmem
 *   ...
 *   fake_gmem_destroy(&m);
 *
 * Besides translating, it checks how the ring layer uses the seam:
 *   - every map_batch range is remembered until an unmap_batch names the
 *     same range (gaddr, len, access); an unmap of a range that is not
 *     mapped counts in bad_unmaps, live_ranges is what is still mapped;
 *   - with require_map set, translating a range (other than GMEM_PERSIST)
 *     that no live mapped range covers fails with -EFAULT and counts in
 *     unmapped_translates;
 *   - max_map caps the length one translate call returns (not for
 *     GMEM_PERSIST ring areas), to force one descriptor into several iov
 *     segments even inside a region;
 *   - every successful GMEM_PERSIST translation is remembered until a
 *     release names it (gaddr, len, access); a release of one that is not
 *     remembered counts in bad_releases, fake_gmem_persist_live is what
 *     is still held;
 *   - fault injection makes translate or map_batch fail for one address;
 *   - gmem.direct set (by the test) makes it memory that needs no
 *     map_batch, like fd-backed vhost-user memory: the ring layer then
 *     calls neither map_batch nor unmap_batch, and translate offers the
 *     region it found as the seam's translation window (regions allowing
 *     read and write, without max_map or a translate fault set when it
 *     is offered; a test that sets one later clears gmem.win_len).
 *
 * Region memory is allocated with the exact size asked for, so ASan flags
 * an access one byte past a region. The public fields below may be read
 * and set by tests directly. Not thread-safe: the device side (the ring
 * layer) calls translate/map/unmap from one thread; other threads may only
 * use host pointers obtained from fake_gmem_ptr().
 */
#ifndef VIRTIOBOX_TEST_FAKE_GMEM_H
#define VIRTIOBOX_TEST_FAKE_GMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"

#define FAKE_GMEM_REGIONS_MAX 8
#define FAKE_GMEM_LIVE_MAX    8192 /* ranges mapped at once */
#define FAKE_GMEM_PERSIST_MAX 64   /* ring areas held at once */

struct fake_gmem_region {
	uint64_t gaddr;
	uint64_t size;
	uint32_t access; /* GMEM_READ and/or GMEM_WRITE allowed */
	uint8_t *host;
};

enum fake_gmem_op {
	FAKE_GMEM_FAULT_NONE,
	FAKE_GMEM_FAULT_TRANSLATE,
	FAKE_GMEM_FAULT_MAP,
};

/*
 * A bad address: every call of op whose range covers gaddr fails with err,
 * after skip such calls succeeded. Clear it by zeroing the struct.
 */
struct fake_gmem_fault {
	enum fake_gmem_op op;
	uint64_t gaddr; /* UINT64_MAX: any address */
	unsigned skip;	/* matching calls that still succeed first */
	int err;	/* -errno returned */
};

struct fake_gmem {
	struct gmem gmem; /* hand &m.gmem to the code under test */

	struct fake_gmem_region region[FAKE_GMEM_REGIONS_MAX];
	unsigned nregions;

	/* knobs */
	uint64_t max_map; /* 0: no cap */
	bool require_map; /* translate needs a live map_batch range */
	bool apart;	  /* map_batch answers GMEM_APART (a copying
			   * back-end) instead of 0 */
	bool untracked;	  /* map/unmap only count (benchmarks): no live
			   * ranges, no bad_unmaps, no require_map */
	struct fake_gmem_fault fault;
	/* Called at the start of every map_batch: lets a test act as a guest
	 * that rewrites memory between the walk and the translation. */
	void (*map_hook)(struct fake_gmem *m, void *arg);
	void *map_hook_arg;

	/* counters */
	unsigned long translates;
	unsigned long map_calls, unmap_calls;
	unsigned long ranges_mapped, ranges_unmapped;
	unsigned long bad_unmaps;	   /* unmap of a range not mapped */
	unsigned long unmapped_translates; /* see require_map */
	unsigned long failed_translates;   /* any translate returning < 0 */
	unsigned long persist_translates;  /* GMEM_PERSIST ones returning 0 */
	unsigned long releases, bad_releases;

	/* live mapped ranges (private; see fake_gmem_live) */
	struct gmem_range *live;
	unsigned nlive;
	/* held ring areas (private; see fake_gmem_persist_live) */
	struct {
		uint64_t gaddr, len;
		uint32_t access;
	} persist[FAKE_GMEM_PERSIST_MAX];
	unsigned npersist;
};

/* Empty memory, no regions. Returns 0 or -ENOMEM. */
int fake_gmem_init(struct fake_gmem *m);
void fake_gmem_destroy(struct fake_gmem *m);

/*
 * Add a zeroed region of size bytes at gaddr, allowing access (GMEM_READ,
 * GMEM_WRITE or both). Regions must not overlap. Returns 0, -EINVAL
 * (size 0, overlap, wrap), -ENOSPC (too many regions), -ENOMEM.
 */
int fake_gmem_add(struct fake_gmem *m, uint64_t gaddr, uint64_t size,
		  uint32_t access);

/* Host pointer for [gaddr, gaddr + len) if it lies in one region, or NULL.
 * Ignores access rights, knobs and counters (for the test itself). */
void *fake_gmem_ptr(struct fake_gmem *m, uint64_t gaddr, uint64_t len);

/* Copy to/from guest memory (may span adjacent regions). 0 or -EFAULT. */
int fake_gmem_write(struct fake_gmem *m, uint64_t gaddr, const void *buf,
		    uint64_t len);
int fake_gmem_read(struct fake_gmem *m, uint64_t gaddr, void *buf,
		   uint64_t len);

/* Ranges mapped by map_batch and not unmapped yet. */
unsigned fake_gmem_live(const struct fake_gmem *m);

/* GMEM_PERSIST translations not released yet. */
unsigned fake_gmem_persist_live(const struct fake_gmem *m);

/* Zero every counter (not the live ranges). */
void fake_gmem_reset_counters(struct fake_gmem *m);

#endif
