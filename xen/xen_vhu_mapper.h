/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user server's mapper for XEN_MMAP memory regions
 * (core/vhost_user.h, struct vhu_region_mapper): a GRANT region becomes
 * grant memory of its domain, a FOREIGN region foreign memory with a cache
 * of foreign_slots mappings (xen/xen_gmem.h). Both map lazily, so the
 * map-on-demand flag (0x100 per the vhost-user spec, 0x8 as rust-vmm
 * sends) is always honoured. Grant regions take guest addresses with or
 * without bit 63 (the region bounds them). The region's fd is not used:
 * virtiobox maps through its own /dev/xen/gntdev and /dev/xen/privcmd
 * handles. A domid >= DOMID_FIRST_RESERVED (0x7ff0) is refused.
 *
 * One mapper serves every vhost-user server of a board; it holds no
 * per-region state beyond the gmem it returns.
 *
 * Threading: map/unmap on the control thread (as the server calls them).
 */
#ifndef VIRTIOBOX_XEN_XEN_VHU_MAPPER_H
#define VIRTIOBOX_XEN_XEN_VHU_MAPPER_H

#include "vhost_user.h"
#include "xen_sys.h"

/*
 * Create the mapper (foreign_slots 0: the default). Returns 0 and *out, or
 * -EINVAL (foreign_slots too large), -ENOMEM. Opens nothing yet: each
 * region opens its own handles.
 */
int xen_vhu_mapper_create(struct vhu_region_mapper **out,
			  unsigned foreign_slots);

/* Same, opening the library seam with open (tests pass a fake). */
int xen_vhu_mapper_create_with(struct vhu_region_mapper **out,
			       unsigned foreign_slots, xen_sys_open_fn *open);

/* Free the mapper (regions it mapped must be unmapped). NULL accepted. */
void xen_vhu_mapper_destroy(struct vhu_region_mapper *m);

#endif
