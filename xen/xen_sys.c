// SPDX-License-Identifier: MIT
#include "xen_sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xentoollog.h>

#include "log.h"

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

_Static_assert(sizeof(xen_pfn_t) == sizeof(uint64_t),
	       "guest frames are passed as uint64_t");

struct real_sys {
	struct xen_sys sys;
	xentoollog_logger_stdiostream *quiet;
	xengnttab_handle *gt;
	xenforeignmemory_handle *fm;
	xengnttab_grant_copy_segment_t segs[XEN_SYS_COPY_MAX];
};

static int real_gnt_map(struct xen_sys *s, uint32_t domid, uint32_t count,
			uint32_t *refs, int prot, void **addr)
{
	struct real_sys *r = container_of(s, struct real_sys, sys);
	void *a;

	if (!r->gt)
		return -ENODEV;
	a = xengnttab_map_domain_grant_refs(r->gt, count, domid, refs, prot);
	if (!a)
		return errno ? -errno : -EFAULT;
	*addr = a;
	return 0;
}

static int real_gnt_unmap(struct xen_sys *s, void *addr, uint32_t count)
{
	struct real_sys *r = container_of(s, struct real_sys, sys);

	if (!r->gt)
		return -ENODEV;
	return xengnttab_unmap(r->gt, addr, count) < 0 ? -errno : 0;
}

static int real_gnt_copy(struct xen_sys *s, uint32_t domid,
			 struct xen_sys_copy *c, uint32_t count)
{
	struct real_sys *r = container_of(s, struct real_sys, sys);

	if (!r->gt)
		return -ENODEV;
	if (count > XEN_SYS_COPY_MAX)
		return -E2BIG;
	for (uint32_t i = 0; i < count; i++) {
		xengnttab_grant_copy_segment_t *g = &r->segs[i];
		union xengnttab_copy_ptr guest = {
			.foreign = {c[i].ref, c[i].offset, (uint16_t)domid}};

		if (c[i].to_guest) {
			g->source.virt = c[i].buf;
			g->dest = guest;
			g->flags = GNTCOPY_dest_gref;
		} else {
			g->source = guest;
			g->dest.virt = c[i].buf;
			g->flags = GNTCOPY_source_gref;
		}
		g->len = c[i].len;
		g->status = 0;
	}
	if (xengnttab_grant_copy(r->gt, count, r->segs) < 0)
		return errno ? -errno : -EIO;
	for (uint32_t i = 0; i < count; i++)
		c[i].status = r->segs[i].status;
	return 0;
}

static int real_fm_map(struct xen_sys *s, uint32_t domid, size_t pages,
		       const uint64_t *frames, int *err, void **addr)
{
	struct real_sys *r = container_of(s, struct real_sys, sys);
	void *a;

	if (!r->fm)
		return -ENODEV;
	a = xenforeignmemory_map(r->fm, domid, PROT_READ | PROT_WRITE, pages,
				 (const xen_pfn_t *)frames, err);
	if (!a)
		return errno ? -errno : -EFAULT;
	*addr = a;
	return 0;
}

static int real_fm_unmap(struct xen_sys *s, void *addr, size_t pages)
{
	struct real_sys *r = container_of(s, struct real_sys, sys);

	if (!r->fm)
		return -ENODEV;
	return xenforeignmemory_unmap(r->fm, addr, pages) < 0 ? -errno : 0;
}

static void real_close(struct xen_sys *s)
{
	struct real_sys *r = container_of(s, struct real_sys, sys);

	if (r->fm)
		xenforeignmemory_close(r->fm);
	if (r->gt)
		xengnttab_close(r->gt);
	if (r->quiet)
		xtl_logger_destroy((xentoollog_logger *)r->quiet);
	free(r);
}

static const struct xen_sys_ops real_ops = {
	.gnt_map = real_gnt_map,
	.gnt_unmap = real_gnt_unmap,
	.gnt_copy = real_gnt_copy,
	.fm_map = real_fm_map,
	.fm_unmap = real_fm_unmap,
	.close = real_close,
};

int xen_sys_open(struct xen_sys **out, unsigned what)
{
	struct real_sys *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	r->sys.ops = &real_ops;
	/*
	 * The libraries would log every refused map on their own, and a
	 * guest decides how often that happens: keep them to critical lines.
	 * The back-ends log refusals rate-limited, and open failures here.
	 */
	r->quiet = xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	if (what & XEN_SYS_GNTTAB) {
		r->gt = xengnttab_open((xentoollog_logger *)r->quiet, 0);
		if (!r->gt) {
			ret = -errno;
			log_err("xen: cannot open the grant device "
				"/dev/xen/gntdev: %s",
				strerror(errno));
			goto err_close;
		}
	}
	if (what & XEN_SYS_FOREIGN) {
		r->fm = xenforeignmemory_open((xentoollog_logger *)r->quiet, 0);
		if (!r->fm) {
			ret = -errno;
			log_err("xen: cannot open the foreign memory device "
				"/dev/xen/privcmd: %s",
				strerror(errno));
			goto err_close;
		}
	}
	*out = &r->sys;
	return 0;

err_close:
	real_close(&r->sys);
	return ret ? ret : -ENODEV;
}
