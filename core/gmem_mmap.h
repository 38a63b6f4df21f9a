/* SPDX-License-Identifier: MIT */
/*
 * Guest memory over fd-backed regions, as vhost-user SET_MEM_TABLE,
 * ADD_MEM_REG and REM_MEM_REG describe them: each region is a guest
 * physical range [gpa, gpa + size), the front-end's own virtual address of
 * it (uva), and an fd mapped at mmap_offset.
 *
 * A region is either mmap'd here (gmem_mmap_region_map) or delegated to
 * another struct gmem that translates its range (a Xen grant or foreign
 * region, mapped lazily by xen/). Translations are cut at region ends, so
 * a buffer across two regions becomes two iov segments.
 *
 * Changing a table is split so the data path never waits for mmap/munmap
 * and never sees a half-changed table:
 *   1. control thread, data path running: gmem_mmap_region_map() (slow);
 *   2. data path paused: gmem_mmap_insert / gmem_mmap_take /
 *      gmem_mmap_swap (no syscalls, no allocation);
 *   3. control thread, data path running again: gmem_mmap_region_unmap()
 *      of what was taken or swapped out.
 *
 * Threading: translate/map_batch/unmap_batch (through struct gmem) on the
 * data-path thread; everything else as listed above.
 */
#ifndef VIRTIOBOX_CORE_GMEM_MMAP_H
#define VIRTIOBOX_CORE_GMEM_MMAP_H

#include <stddef.h>
#include <stdint.h>

#include "gmem.h"

#define GMEM_MMAP_REGIONS_MAX 32

struct gmem_mmap_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;	/* front-end virtual address of gpa */
	uint8_t *hva;	/* host address of gpa; NULL for a delegated region */
	void *map_base; /* the mmap to undo, page aligned */
	size_t map_len;
	struct gmem *sub; /* delegated region: translates [gpa, gpa + size) */
};

/*
 * A table of regions, sorted by gpa, never overlapping. gmem.direct is set
 * while no region is delegated: then the ring layer makes no
 * map_batch/unmap_batch calls at all.
 */
struct gmem_mmap {
	struct gmem gmem; /* hand &m->gmem to the ring layer */
	unsigned n;
	unsigned last; /* data path: index of the region found last */
	struct gmem_mmap_region r[GMEM_MMAP_REGIONS_MAX];
};

/* An empty table. No resources; nothing to destroy. */
void gmem_mmap_init(struct gmem_mmap *m);

/*
 * Describe and mmap (read-write, shared) one region: size bytes of fd from
 * mmap_offset, seen by the guest at gpa. mmap_offset and gpa need not be
 * page aligned but must have the same offset within a page (so aligned
 * guest addresses stay aligned host addresses). fd is not taken: the
 * caller may close it afterwards. Returns 0, or
 *   -EINVAL    size 0, larger than the address space, or mmap_offset and
 *              gpa differ within a page
 *   -EOVERFLOW gpa + size, uva + size or mmap_offset + size wraps
 *   -ERANGE    fd is a regular file (memfd, hugetlbfs, ...) shorter than
 *              mmap_offset + size: touching the rest would raise SIGBUS
 *   -errno     from fstat or mmap (e.g. -ENODEV: fd cannot be mapped)
 */
int gmem_mmap_region_map(struct gmem_mmap_region *r, uint64_t gpa,
			 uint64_t size, uint64_t uva, int fd,
			 uint64_t mmap_offset);

/*
 * Describe a delegated region: sub translates [gpa, gpa + size) (addresses
 * passed to it unchanged). sub stays owned by the caller. Returns 0,
 * -EINVAL (size 0) or -EOVERFLOW.
 */
int gmem_mmap_region_delegate(struct gmem_mmap_region *r, uint64_t gpa,
			      uint64_t size, uint64_t uva, struct gmem *sub);

/* munmap an mmap'd region (no-op for a delegated one) and clear *r. */
void gmem_mmap_region_unmap(struct gmem_mmap_region *r);

/*
 * Would [gpa, gpa + size) fit in m? Returns 0, -EEXIST (overlaps a
 * region), -ENOSPC (table full).
 */
int gmem_mmap_check(const struct gmem_mmap *m, uint64_t gpa, uint64_t size);

/* Add r to m (data path paused). Returns as gmem_mmap_check. */
int gmem_mmap_insert(struct gmem_mmap *m, const struct gmem_mmap_region *r);

/*
 * Remove the region with exactly this gpa, size and uva (data path paused)
 * and hand it to the caller in *out, to unmap once the data path runs
 * again. Returns 0 or -ENOENT.
 */
int gmem_mmap_take(struct gmem_mmap *m, uint64_t gpa, uint64_t size,
		   uint64_t uva, struct gmem_mmap_region *out);

/* Exchange the regions of a and b (data path paused). */
void gmem_mmap_swap(struct gmem_mmap *a, struct gmem_mmap *b);

/*
 * Unmap every mmap'd region and empty m. Delegated regions are only
 * forgotten: release their sub first (iterate m->r[0..n)).
 */
void gmem_mmap_clear(struct gmem_mmap *m);

/*
 * Translate a front-end virtual address (vhost-user vring addresses) to a
 * guest address. Returns 0, or -EFAULT when no region holds uva.
 */
int gmem_mmap_uva_to_gpa(const struct gmem_mmap *m, uint64_t uva,
			 uint64_t *gpa);

#endif
