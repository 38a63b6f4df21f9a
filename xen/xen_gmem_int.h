/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by xen/xen_gmem*.c and their unit tests: the common
 * head of both back-ends and constructors that take the library seam
 * (xen_sys.h) as a parameter, so tests pass a fake.
 */
#ifndef VIRTIOBOX_XEN_XEN_GMEM_INT_H
#define VIRTIOBOX_XEN_XEN_GMEM_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "xen_gmem.h"
#include "xen_sys.h"

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

enum xen_gmem_kind { XEN_GMEM_GRANT, XEN_GMEM_FOREIGN };

/* Head of both back-ends' structs. */
struct xen_gmem {
	struct gmem gmem;
	enum xen_gmem_kind kind;
	uint16_t domid;
	char label[64];
	struct xen_sys *sys;
	struct xen_gmem_stats stats;
	struct log_ratelimit rl; /* per guest memory: one guest cannot
				  * silence another's lines */
};

static inline struct xen_gmem *xen_gmem_of(struct gmem *g)
{
	return container_of(g, struct xen_gmem, gmem);
}

/* 0, or -EINVAL (domid >= DOMID_FIRST_RESERVED), -EOPNOTSUPP (page size). */
int xen_gmem_check(uint32_t domid);

/*
 * The constructors behind the public ones, with the library seam given.
 * They take sys in every case (closed on failure). Grant: with
 * any_address, addresses without bit 63 are accepted too and decoded the
 * same way (vhost-user grant regions, whose table already bounds them).
 */
int xen_gmem_grant_create_sys(struct gmem **out, struct xen_sys *sys,
			      uint16_t domid, bool any_address,
			      const char *label);
int xen_gmem_foreign_create_sys(struct gmem **out, struct xen_sys *sys,
				uint16_t domid, unsigned cache_slots,
				const char *label);

/* The destroys: unmap everything, xen_gmem_log_release, close, free. */
void xen_gmem_grant_destroy(struct xen_gmem *x);
void xen_gmem_foreign_destroy(struct xen_gmem *x);
void xen_gmem_foreign_invalidate(struct xen_gmem *x);
/* The info line with x's final call counts. */
void xen_gmem_log_release(const struct xen_gmem *x);

#endif
