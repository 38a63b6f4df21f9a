// SPDX-License-Identifier: MIT
#include "xen_vhu_mapper.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <xen/xen.h>

#include "vhost_user_wire.h"
#include "xen_gmem_int.h"

struct xen_mapper {
	struct vhu_region_mapper m;
	unsigned foreign_slots;
	xen_sys_open_fn *open;
	struct log_ratelimit rl;
};

static int mapper_map(struct vhu_region_mapper *vm,
		      const struct vhu_xen_region *r, int fd, struct gmem **out)
{
	struct xen_mapper *xm = container_of(vm, struct xen_mapper, m);
	bool grant = r->xen_mmap_flags & VHU_XEN_MMAP_GRANT;
	struct xen_sys *sys;
	char label[64];
	int ret;

	(void)fd;
	if (r->domid >= DOMID_FIRST_RESERVED) {
		log_msg_ratelimited(&xm->rl, LOG_LEVEL_ERR,
				    "XEN_MMAP %s region at 0x%llx: domain %u "
				    "is not a guest's (reserved or out of "
				    "range)",
				    grant ? "grant" : "foreign",
				    (unsigned long long)r->gpa, r->domid);
		return -EINVAL;
	}
	snprintf(label, sizeof(label), "%s region 0x%llx",
		 grant ? "grant" : "foreign", (unsigned long long)r->gpa);
	ret = xm->open(&sys, grant ? XEN_SYS_GNTTAB : XEN_SYS_FOREIGN);
	if (ret < 0)
		return ret;
	if (grant)
		return xen_gmem_grant_create_sys(out, sys, (uint16_t)r->domid,
						 true, label);
	return xen_gmem_foreign_create_sys(out, sys, (uint16_t)r->domid,
					   xm->foreign_slots, label);
}

static void mapper_unmap(struct vhu_region_mapper *vm, struct gmem *g)
{
	(void)vm;
	xen_gmem_destroy(g);
}

static const struct vhu_region_mapper_ops mapper_ops = {
	.map = mapper_map,
	.unmap = mapper_unmap,
};

int xen_vhu_mapper_create_with(struct vhu_region_mapper **out,
			       unsigned foreign_slots, xen_sys_open_fn *open)
{
	struct xen_mapper *xm;

	if (foreign_slots > XEN_GMEM_FOREIGN_SLOTS_MAX)
		return -EINVAL;
	xm = calloc(1, sizeof(*xm));
	if (!xm)
		return -ENOMEM;
	xm->m.ops = &mapper_ops;
	xm->foreign_slots = foreign_slots;
	xm->open = open;
	*out = &xm->m;
	return 0;
}

int xen_vhu_mapper_create(struct vhu_region_mapper **out,
			  unsigned foreign_slots)
{
	return xen_vhu_mapper_create_with(out, foreign_slots, xen_sys_open);
}

void xen_vhu_mapper_destroy(struct vhu_region_mapper *m)
{
	if (m)
		free(container_of(m, struct xen_mapper, m));
}
