/* SPDX-License-Identifier: MIT */
/*
 * Guest-memory seam: the only way the ring layer and device models reach
 * guest memory.
 *
 * An implementation translates a guest address range into a host pointer.
 * It may map less than asked for (a range that crosses a region boundary,
 * or a grant page boundary): the caller then asks again for the rest, so one
 * descriptor can become several iov segments.
 *
 * Back-ends that map lazily (Xen grants) also implement map_batch and
 * unmap_batch: the ring layer hands them every range a batch of descriptor
 * chains needs before it translates any of them, and every range of the
 * elements completed since the last flush before that flush publishes
 * them (or of elements dropped by a queue stop or reset). A batch's
 * indirect tables are mapped together just around
 * their reading (one map_batch, one unmap_batch). So every
 * translation other than GMEM_PERSIST is covered by a live mapped range
 * with the same access. Ring areas are translated once per queue start with
 * GMEM_PERSIST and stay valid until the ring layer releases them
 * (gmem_release) when the queue stops or is reset; a back-end that maps
 * ring areas (Xen grants, foreign memory) drops those mappings then.
 *
 * Implementations: core/gmem_mmap.c (fd-backed regions from vhost-user
 * SET_MEM_TABLE / ADD_MEM_REG), test/support/fake_gmem.c (unit tests),
 * and the Xen grant / foreign back-ends in xen/.
 *
 * Threading: one gmem is used by one thread at a time; the owner of the
 * device serialises region changes against the data path.
 */
#ifndef VIRTIOBOX_CORE_GMEM_H
#define VIRTIOBOX_CORE_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Access flags for gmem_translate() and struct gmem_range. */
#define GMEM_READ    0x1u /* the device reads (driver-written buffer) */
#define GMEM_WRITE   0x2u /* the device writes (device-writable buffer) */
#define GMEM_PERSIST 0x4u /* ring area: keep mapped until the queue stops */

/* map_batch: the ranges share no mapping (see struct gmem_ops). */
#define GMEM_APART 1

/* One guest range, as handed to map_batch/unmap_batch. */
struct gmem_range {
	uint64_t gaddr;
	uint32_t len;
	uint32_t access; /* GMEM_READ and/or GMEM_WRITE */
};

struct gmem;

struct gmem_ops {
	/*
	 * Translate [gaddr, gaddr + len) for access.
	 * Returns 0 and sets *hva and *maplen (1 <= *maplen <= len) when at
	 * least the first byte is mapped; -EFAULT when gaddr lies outside
	 * guest memory or the access is not allowed; -EOVERFLOW when
	 * gaddr + len wraps. len 0 is -EINVAL.
	 */
	int (*translate)(struct gmem *m, uint64_t gaddr, uint64_t len,
			 uint32_t access, void **hva, uint64_t *maplen);
	/*
	 * Optional. Map every range before any of them is translated.
	 * Returns 0, GMEM_APART, or -errno; on failure nothing stays mapped.
	 * 0: the ranges may share mappings, so a range's buffer may stay
	 * reachable until every range of the call is unmapped (the ring
	 * layer publishes no used entry meanwhile). GMEM_APART: each range
	 * is gone from the host once it is unmapped (copied, not mapped).
	 */
	int (*map_batch)(struct gmem *m, const struct gmem_range *r,
			 unsigned n);
	/*
	 * Optional. Undo map_batch for these ranges: each range exactly as
	 * mapped (gaddr, len, access) and exactly once, in any order and
	 * grouping (a batch mapped in one call is unmapped per element).
	 * Before it returns, what the device wrote is in guest memory (a
	 * back-end that copies writes it back here), so the ring layer
	 * calls it before publishing the ranges' used entries, and hands it
	 * every element completed since the last flush at once.
	 */
	void (*unmap_batch)(struct gmem *m, const struct gmem_range *r,
			    unsigned n);
	/*
	 * Optional. A GMEM_PERSIST translation is no longer used: gaddr, len
	 * and access exactly as given to that translate call (GMEM_PERSIST
	 * included), once per translate call that returned 0. The host
	 * pointer it returned is invalid afterwards.
	 */
	void (*release)(struct gmem *m, uint64_t gaddr, uint64_t len,
			uint32_t access);
};

/*
 * Embedded in each implementation's own struct; reached with container_of.
 * direct: every range can be translated without map_batch right now (no
 * lazily mapped region), so the ring layer skips map_batch and
 * unmap_batch altogether. A zeroed struct is not direct. The back-end
 * changes it only with the data path paused; an element mapped before
 * the change is still unmapped (the ring layer remembers it).
 */
struct gmem {
	const struct gmem_ops *ops;
	bool direct;
	/*
	 * A window the back-end found last, to translate without a call:
	 * [win_gaddr, win_gaddr + win_len) is at win_hva for every access.
	 * win_len 0: none. Set by the back-end's translate on the data path;
	 * cleared whenever what it describes may change.
	 */
	uint64_t win_gaddr;
	uint64_t win_len;
	uint8_t *win_hva;
};

/* Does a range need map_batch before it is translated? */
static inline bool gmem_needs_map(const struct gmem *m)
{
	return !m->direct && m->ops->map_batch;
}

static inline int gmem_translate(struct gmem *m, uint64_t gaddr, uint64_t len,
				 uint32_t access, void **hva, uint64_t *maplen)
{
	uint64_t off = gaddr - m->win_gaddr;

	/* In the window (and not wrapping): what translate would answer. */
	if (off < m->win_len && len && len <= ~gaddr) {
		uint64_t left = m->win_len - off;

		*hva = m->win_hva + off;
		*maplen = len < left ? len : left;
		return 0;
	}
	return m->ops->translate(m, gaddr, len, access, hva, maplen);
}

static inline int gmem_map_batch(struct gmem *m, const struct gmem_range *r,
				 unsigned n)
{
	return m->ops->map_batch ? m->ops->map_batch(m, r, n) : 0;
}

static inline void gmem_unmap_batch(struct gmem *m, const struct gmem_range *r,
				    unsigned n)
{
	if (m->ops->unmap_batch)
		m->ops->unmap_batch(m, r, n);
}

static inline void gmem_release(struct gmem *m, uint64_t gaddr, uint64_t len,
				uint32_t access)
{
	if (m->ops->release)
		m->ops->release(m, gaddr, len, access);
}

/*
 * Translate a range that must be contiguous in host memory (ring areas,
 * small headers). Returns 0, or -EFAULT when the range is not mapped in one
 * piece, or the translate error. A GMEM_PERSIST translation that was not
 * contiguous is released again before -EFAULT is returned; one that
 * succeeded must be released with gmem_release(m, gaddr, len, access).
 */
int gmem_translate_contig(struct gmem *m, uint64_t gaddr, uint64_t len,
			  uint32_t access, void **hva);

#endif
