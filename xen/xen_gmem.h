/* SPDX-License-Identifier: MIT */
/*
 * Xen guest memory behind core's memory seam (core/gmem.h): a Xen guest's
 * memory reached through grants (the guest shares each buffer, Linux's
 * grant-DMA driver: xen,grant-dma) or through foreign mappings (the guest's
 * whole physical memory; needs device-model privilege over the guest).
 *
 * Grant memory (xen_gmem_grant_create):
 *   A guest address has bit 63 set and encodes a grant reference:
 *   gref = (addr & ~(1ULL << 63)) >> 12, the low 12 bits the offset in the
 *   page; a buffer of several pages uses consecutive grefs. Data buffers
 *   are mapped lazily by map_batch: every page of every range of one call
 *   in one libxengnttab call per permission (device-readable ranges are
 *   mapped PROT_READ: the guest grants them read-only), and unmapped in one
 *   call once every range of that map_batch call has been unmapped. Ring
 *   areas (GMEM_PERSIST) are mapped at translate time, one call each, and
 *   kept until the ring layer releases them. A page the guest has not
 *   granted (or has revoked) fails that map_batch or translate with
 *   -EFAULT and a rate-limited log line naming the domain and the grant
 *   references.
 *
 *   A map_batch call whose ranges total at most the copy limit
 *   (XEN_GMEM_GRANT_COPY_MAX by default, xen_gmem_grant_set_copy_max) is
 *   copied instead of mapped, when the copy arena (64 KiB per gmem) has
 *   room: the device-readable ranges are read with one grant copy call
 *   (none when there are none), the device-writable ones start zeroed
 *   and unmap_batch writes them back whole with one call for all the
 *   ranges it is given. No mapping, no unmap, no TLB flush; such a batch
 *   returns GMEM_APART (its ranges share nothing). A page the guest did
 *   not grant fails the batch as a refused mapping does; one revoked
 *   before the write-back loses the device's data, logged.
 *
 * Foreign memory (xen_gmem_foreign_create):
 *   A guest address is a guest physical address. Guest memory is mapped in
 *   buckets of XEN_GMEM_FOREIGN_BUCKET aligned bytes through a cache of
 *   cache_slots mappings, the least recently used unpinned one evicted
 *   when a new bucket is needed; map_batch pins the buckets of its ranges
 *   until unmap_batch. A translation is cut at a bucket end (the ring layer
 *   then makes two iov segments). A frame the guest does not have fails
 *   the request with -EFAULT. Ring areas (GMEM_PERSIST) get a mapping of
 *   their own, outside the cache, kept until released.
 *
 * Both count the library calls they make (xen_gmem_stats), for tests and
 * benchmarks.
 *
 * Threading: as core/gmem.h: one thread at a time uses a gmem (the
 * device's data path); create/destroy/invalidate on the control thread
 * with the data path paused.
 */
#ifndef VIRTIOBOX_XEN_XEN_GMEM_H
#define VIRTIOBOX_XEN_XEN_GMEM_H

#include <stdint.h>

#include "gmem.h"

#define XEN_GMEM_FOREIGN_BUCKET	       (64u * 1024)
#define XEN_GMEM_GRANT_COPY_MAX	       (16u * 1024)
#define XEN_GMEM_FOREIGN_SLOTS_DEFAULT 64
#define XEN_GMEM_FOREIGN_SLOTS_MAX     4096

/*
 * Grant memory of domain domid (< DOMID_FIRST_RESERVED, 0x7ff0). label
 * names the user in log lines (e.g. "guest1/i2c0"; copied). Opens
 * /dev/xen/gntdev. Returns 0 and *out, or -EINVAL (domid reserved),
 * -EOPNOTSUPP (host page size not 4 KiB), -ENOMEM, or the -errno of
 * opening the grant device (logged).
 */
int xen_gmem_grant_create(struct gmem **out, uint16_t domid, const char *label);

/*
 * Foreign memory of domain domid through a cache of cache_slots mappings
 * (1 .. XEN_GMEM_FOREIGN_SLOTS_MAX; 0 means the default). Opens
 * /dev/xen/privcmd. Returns as xen_gmem_grant_create, -EINVAL also for
 * cache_slots out of range.
 */
int xen_gmem_foreign_create(struct gmem **out, uint16_t domid,
			    unsigned cache_slots, const char *label);

/*
 * Drop every cached foreign mapping (IOREQ_TYPE_INVALIDATE: the guest's
 * memory map changed). Buckets pinned by a live map_batch are unmapped
 * when unpinned and never handed out again; ring areas stay. Call with
 * the data path paused. No-op for grant memory.
 */
void xen_gmem_invalidate(struct gmem *m);

/*
 * Unmap everything and close the device, logging the call counts (one
 * info line). Either kind; NULL accepted.
 */
void xen_gmem_destroy(struct gmem *m);

/* Library calls made so far (a gmem of either kind). */
struct xen_gmem_stats {
	unsigned long map_calls;   /* gnttab / foreignmemory map calls */
	unsigned long unmap_calls; /* and unmap calls */
	unsigned long pages_mapped;
	unsigned long map_failures;   /* map calls the library refused */
	unsigned long copy_calls;     /* grant: grant copy calls */
	unsigned long bytes_copied;   /* grant: in and out */
	unsigned long copy_failures;  /* grant: copy calls with a refusal */
	unsigned long batches_copied; /* grant: map_batch calls copied */
	unsigned long cache_hits;     /* foreign: bucket found in the cache */
	unsigned long evictions;      /* foreign: bucket unmapped for another */
};

/*
 * Grant memory: copy map_batch calls of at most bytes (capped at the
 * arena, 64 KiB) instead of mapping them; 0 maps every batch. Data path
 * paused (or before first use).
 */
void xen_gmem_grant_set_copy_max(struct gmem *m, uint32_t bytes);

/* Copy m's counters to *out. m must be a gmem created here. */
void xen_gmem_get_stats(const struct gmem *m, struct xen_gmem_stats *out);

#endif
