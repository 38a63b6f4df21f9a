// SPDX-License-Identifier: MIT
/* What the grant and foreign back-ends share: checks and dispatch. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <xen/xen.h>

#include "xen_gmem_int.h"

int xen_gmem_check(uint32_t domid)
{
	if (domid >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	/* Grants and frames are 4 KiB Xen pages; one host page each. */
	if (sysconf(_SC_PAGESIZE) != XEN_SYS_PAGE)
		return -EOPNOTSUPP;
	return 0;
}

int xen_gmem_grant_create(struct gmem **out, uint16_t domid, const char *label)
{
	struct xen_sys *sys;
	int ret = xen_gmem_check(domid);

	if (ret == 0)
		ret = xen_sys_open(&sys, XEN_SYS_GNTTAB);
	if (ret < 0)
		return ret;
	return xen_gmem_grant_create_sys(out, sys, domid, false, label);
}

int xen_gmem_foreign_create(struct gmem **out, uint16_t domid,
			    unsigned cache_slots, const char *label)
{
	struct xen_sys *sys;
	int ret = xen_gmem_check(domid);

	if (ret == 0 && cache_slots > XEN_GMEM_FOREIGN_SLOTS_MAX)
		ret = -EINVAL;
	if (ret == 0)
		ret = xen_sys_open(&sys, XEN_SYS_FOREIGN);
	if (ret < 0)
		return ret;
	return xen_gmem_foreign_create_sys(out, sys, domid, cache_slots, label);
}

void xen_gmem_invalidate(struct gmem *m)
{
	struct xen_gmem *x;

	if (!m)
		return;
	x = xen_gmem_of(m);
	if (x->kind == XEN_GMEM_FOREIGN)
		xen_gmem_foreign_invalidate(x);
}

void xen_gmem_log_release(struct xen_gmem *x)
{
	/* Its memory goes next: out of the log flusher's list first. */
	log_ratelimit_fini(&x->rl);
	log_info("%s: domain %u: %s memory released after %lu map and %lu "
		 "unmap calls (%lu pages, %lu maps refused), %lu copy calls "
		 "(%lu bytes, %lu refused)",
		 x->label, x->domid,
		 x->kind == XEN_GMEM_GRANT ? "grant" : "foreign",
		 x->stats.map_calls, x->stats.unmap_calls,
		 x->stats.pages_mapped, x->stats.map_failures,
		 x->stats.copy_calls, x->stats.bytes_copied,
		 x->stats.copy_failures);
}

void xen_gmem_destroy(struct gmem *m)
{
	struct xen_gmem *x;

	if (!m)
		return;
	x = xen_gmem_of(m);
	if (x->kind == XEN_GMEM_GRANT)
		xen_gmem_grant_destroy(x);
	else
		xen_gmem_foreign_destroy(x);
}

void xen_gmem_get_stats(const struct gmem *m, struct xen_gmem_stats *out)
{
	*out = container_of(m, const struct xen_gmem, gmem)->stats;
}
