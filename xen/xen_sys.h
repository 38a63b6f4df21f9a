/* SPDX-License-Identifier: MIT */
/*
 * Internal seam between the Xen guest-memory back-ends (xen_gmem_grant.c,
 * xen_gmem_foreign.c) and the Xen libraries: the few libxengnttab and
 * libxenforeignmemory calls they make. xen/xen_sys.c implements it with
 * the real libraries; test/support/fake_xen_sys.c with a simulated guest,
 * so the back-ends are unit-tested without Xen. Nothing outside xen/ and
 * its tests uses this header.
 *
 * Pages are Xen pages of XEN_SYS_PAGE bytes (4 KiB, on Arm too).
 *
 * Threading: one struct xen_sys is used by one thread at a time.
 */
#ifndef VIRTIOBOX_XEN_XEN_SYS_H
#define VIRTIOBOX_XEN_XEN_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XEN_SYS_PAGE_SHIFT 12
#define XEN_SYS_PAGE	   (1u << XEN_SYS_PAGE_SHIFT)

/* What xen_sys_open opens. */
#define XEN_SYS_GNTTAB	0x1u /* /dev/xen/gntdev */
#define XEN_SYS_FOREIGN 0x2u /* /dev/xen/privcmd */

/* Pieces one gnt_copy call takes at most. */
#define XEN_SYS_COPY_MAX 128

/*
 * One piece of a grant copy: len bytes between local memory at buf and
 * the guest's granted page ref at offset, within that page
 * (offset + len <= XEN_SYS_PAGE).
 */
struct xen_sys_copy {
	void *buf;
	uint32_t ref;
	uint16_t offset;
	uint16_t len;
	bool to_guest;	/* buf -> the guest's page; else the page -> buf */
	int16_t status; /* set by gnt_copy: 0, or Xen's GNTST_* (< 0) */
};

struct xen_sys;

struct xen_sys_ops {
	/*
	 * Map count grant references of domid, consecutively, with prot
	 * (PROT_READ, or PROT_READ | PROT_WRITE), as
	 * xengnttab_map_domain_grant_refs. All or nothing. Returns 0 and
	 * *addr, or -errno (nothing mapped).
	 */
	int (*gnt_map)(struct xen_sys *s, uint32_t domid, uint32_t count,
		       uint32_t *refs, int prot, void **addr);
	/* Unmap what gnt_map returned (addr, count exactly). 0 or -errno. */
	int (*gnt_unmap)(struct xen_sys *s, void *addr, uint32_t count);
	/*
	 * Copy count (<= XEN_SYS_COPY_MAX) pieces between domid's granted
	 * pages and local memory, as one xengnttab_grant_copy call. Returns
	 * 0 with every piece's status set, or -errno when the call failed as
	 * a whole (what was copied is unknown).
	 */
	int (*gnt_copy)(struct xen_sys *s, uint32_t domid,
			struct xen_sys_copy *c, uint32_t count);
	/*
	 * Map guest frames of domid, consecutively, read-write, as
	 * xenforeignmemory_map. Returns 0 and *addr with err[i] 0 for each
	 * frame mapped and -errno for each not (that page must not be
	 * touched), or -errno when nothing is mapped.
	 */
	int (*fm_map)(struct xen_sys *s, uint32_t domid, size_t pages,
		      const uint64_t *frames, int *err, void **addr);
	/* Unmap what fm_map returned (addr, pages exactly). 0 or -errno. */
	int (*fm_unmap)(struct xen_sys *s, void *addr, size_t pages);
	/* Close the handles; mappings still present are dropped. */
	void (*close)(struct xen_sys *s);
};

struct xen_sys {
	const struct xen_sys_ops *ops;
};

/*
 * Open the interfaces in what (XEN_SYS_GNTTAB, XEN_SYS_FOREIGN) with the
 * real Xen libraries. Returns 0 and *out (close with (*out)->ops->close),
 * or -errno of the interface that cannot be opened (logged, naming it).
 */
int xen_sys_open(struct xen_sys **out, unsigned what);

/* The type of xen_sys_open, so tests can hand a fake opener around. */
typedef int xen_sys_open_fn(struct xen_sys **out, unsigned what);

#endif
