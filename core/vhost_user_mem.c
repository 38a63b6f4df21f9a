// SPDX-License-Identifier: MIT
/*
 * vhost-user memory tables: SET_MEM_TABLE, ADD_MEM_REG, REM_MEM_REG, in
 * the plain and the XEN_MMAP region forms.
 *
 * Regions are mapped (mmap, or the Xen mapper) on the control thread while
 * the data path runs; the table the device uses changes only with the
 * data path paused; old mappings are released after it resumed. Rings
 * hold pointers into the table (translated once per start), so a change
 * that can remove memory restarts every started ring around it.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "vhost_user_int.h"

#define XEN_KIND (VHU_XEN_MMAP_FOREIGN | VHU_XEN_MMAP_GRANT)
#define XEN_ON_DEMAND \
	(VHU_XEN_MMAP_MAP_ON_DEMAND | VHU_XEN_MMAP_MAP_ON_DEMAND_RUST)

static int xen_flags_check(uint32_t flags, const char **why)
{
	/* 0: a plain fd region sent in the XEN_MMAP form. */
	if (!flags)
		return 0;
	if (flags & ~(XEN_KIND | XEN_ON_DEMAND)) {
		*why = "unknown XEN_MMAP flag bits";
		return -EINVAL;
	}
	if ((flags & XEN_KIND) == XEN_KIND) {
		*why = "XEN_MMAP region is both foreign and grant";
		return -EINVAL;
	}
	if (!(flags & XEN_KIND)) {
		*why = "XEN_MMAP region is neither foreign nor grant";
		return -EINVAL;
	}
	if ((flags & XEN_ON_DEMAND) && !(flags & VHU_XEN_MMAP_GRANT)) {
		*why = "XEN_MMAP map-on-demand is only defined for grant "
		       "regions";
		return -EINVAL;
	}
	return 0;
}

int vhu_region_check(const struct vhu_mem_region *r, const char **why)
{
	if (!r->size) {
		*why = "memory region of size 0";
		return -EINVAL;
	}
	if (r->size > UINT64_MAX - r->gpa || r->size > UINT64_MAX - r->uva ||
	    r->size > UINT64_MAX - r->mmap_offset) {
		*why = "memory region wraps around the address space";
		return -EOVERFLOW;
	}
	if (r->xen)
		return xen_flags_check(r->xen_mmap_flags, why);
	return 0;
}

void vhu_region_release(struct vhu_server *s, struct gmem_mmap_region *r)
{
	log_debug("%s: releasing region gpa 0x%llx size 0x%llx at %p", s->name,
		  (unsigned long long)r->gpa, (unsigned long long)r->size,
		  (void *)r->hva);
	if (r->sub && s->mapper)
		s->mapper->ops->unmap(s->mapper, r->sub);
	gmem_mmap_region_unmap(r);
}

void vhu_mem_release_all(struct vhu_server *s, struct gmem_mmap *m)
{
	for (unsigned i = 0; i < m->n; i++)
		vhu_region_release(s, &m->r[i]);
	m->n = 0;
}

static int map_xen(struct vhu_server *s, struct gmem_mmap_region *out,
		   const struct vhu_mem_region *r, int fd)
{
	struct vhu_xen_region x = {
		.gpa = r->gpa,
		.size = r->size,
		.uva = r->uva,
		.mmap_offset = r->mmap_offset,
		.xen_mmap_flags = r->xen_mmap_flags,
		.domid = r->domid,
	};
	struct gmem *g;
	int ret;

	if (!s->mapper) {
		vhu_log(s, LOG_LEVEL_ERR,
			"%s: Xen %s region at 0x%llx (domain %u): Xen memory "
			"mapping is not set up for this server",
			s->name,
			(x.xen_mmap_flags & VHU_XEN_MMAP_GRANT) ? "grant"
								: "foreign",
			(unsigned long long)x.gpa, x.domid);
		return -EOPNOTSUPP;
	}
	ret = s->mapper->ops->map(s->mapper, &x, fd, &g);
	if (ret < 0)
		return ret;
	ret = gmem_mmap_region_delegate(out, r->gpa, r->size, r->uva, g);
	if (ret < 0)
		s->mapper->ops->unmap(s->mapper, g);
	return ret;
}

/* Check and map one region as received. Logs why it failed. */
static int map_region(struct vhu_server *s, struct gmem_mmap_region *out,
		      const struct vhu_mem_region *r, int fd)
{
	const char *why = NULL;
	int ret = vhu_region_check(r, &why);

	if (ret == 0 && r->xen && r->xen_mmap_flags)
		return map_xen(s, out, r, fd);
	if (ret == 0)
		ret = gmem_mmap_region_map(out, r->gpa, r->size, r->uva, fd,
					   r->mmap_offset);
	if (ret == 0)
		log_debug("%s: region gpa 0x%llx size 0x%llx mapped at %p",
			  s->name, (unsigned long long)r->gpa,
			  (unsigned long long)r->size, (void *)out->hva);
	if (ret < 0)
		vhu_log(s, LOG_LEVEL_ERR,
			"%s: memory region gpa 0x%llx size 0x%llx "
			"offset 0x%llx: %s",
			s->name, (unsigned long long)r->gpa,
			(unsigned long long)r->size,
			(unsigned long long)r->mmap_offset,
			why ? why : strerror(-ret));
	return ret;
}

/* Data path paused: stop started rings; returns which ones to restart. */
static uint64_t rings_stop(struct vhu_server *s)
{
	uint64_t was = 0;

	for (unsigned i = 0; i < s->dev->ops->num_queues; i++) {
		if (!s->queues[i].started)
			continue;
		was |= 1ULL << i;
		vhu_queue_stop(s, &s->queues[i]);
	}
	return was;
}

/* Data path paused: restart rings on the new table; report failures. */
static void rings_restart(struct vhu_server *s, uint64_t which)
{
	for (unsigned i = 0; i < s->dev->ops->num_queues; i++) {
		int ret;

		if (!(which & (1ULL << i)))
			continue;
		ret = vhu_queue_start(s, &s->queues[i]);
		if (ret == 0)
			continue;
		vhu_log(s, LOG_LEVEL_ERR,
			"%s: queue %u lost its ring in a memory table "
			"change: %s",
			s->name, i, strerror(-ret));
		s->tp.ops->queue_error(&s->tp, i);
	}
}

int vhu_set_mem_table(struct vhu_server *s, struct vhu_msg *m,
		      struct vhu_queue *q, struct vhu_reply *r)
{
	uint64_t restart;
	int ret = 0;

	(void)q;
	(void)r;
	for (unsigned i = 0; i < m->nregions && ret == 0; i++) {
		struct gmem_mmap_region reg;

		ret = map_region(s, &reg, &m->regions[i], m->fds[i]);
		if (ret < 0)
			break;
		ret = gmem_mmap_insert(&s->staging, &reg);
		if (ret < 0) {
			vhu_log(s, LOG_LEVEL_ERR,
				"%s: SET_MEM_TABLE: regions overlap", s->name);
			vhu_region_release(s, &reg);
		}
	}
	if (ret < 0) {
		vhu_mem_release_all(s, &s->staging);
		return ret;
	}
	dev_thread_pause(s->dt);
	restart = rings_stop(s);
	gmem_mmap_swap(&s->mem, &s->staging);
	rings_restart(s, restart);
	dev_thread_resume(s->dt);
	vhu_mem_release_all(s, &s->staging);
	return 0;
}

int vhu_add_mem_reg(struct vhu_server *s, struct vhu_msg *m,
		    struct vhu_queue *q, struct vhu_reply *r)
{
	const struct vhu_mem_region *mr = &m->regions[0];
	struct gmem_mmap_region reg;
	int ret;

	(void)q;
	(void)r;
	ret = gmem_mmap_check(&s->mem, mr->gpa, mr->size);
	if (ret < 0) {
		vhu_log(s, LOG_LEVEL_ERR, "%s: ADD_MEM_REG at 0x%llx: %s",
			s->name, (unsigned long long)mr->gpa,
			ret == -EEXIST ? "overlaps a region" : "no free slot");
		return ret;
	}
	ret = map_region(s, &reg, mr, m->fds[0]);
	if (ret < 0)
		return ret;
	/* Adding memory moves no mapping: started rings keep running. */
	dev_thread_pause(s->dt);
	ret = gmem_mmap_insert(&s->mem, &reg);
	dev_thread_resume(s->dt);
	if (ret < 0)
		vhu_region_release(s, &reg);
	return ret;
}

int vhu_rem_mem_reg(struct vhu_server *s, struct vhu_msg *m,
		    struct vhu_queue *q, struct vhu_reply *r)
{
	const struct vhu_mem_region *mr = &m->regions[0];
	struct gmem_mmap_region reg;
	uint64_t restart;
	int ret;

	(void)q;
	(void)r;
	dev_thread_pause(s->dt);
	restart = rings_stop(s);
	ret = gmem_mmap_take(&s->mem, mr->gpa, mr->size, mr->uva, &reg);
	rings_restart(s, restart);
	dev_thread_resume(s->dt);
	if (ret < 0) {
		vhu_log(s, LOG_LEVEL_ERR,
			"%s: REM_MEM_REG: no region at 0x%llx size 0x%llx",
			s->name, (unsigned long long)mr->gpa,
			(unsigned long long)mr->size);
		return ret;
	}
	vhu_region_release(s, &reg);
	return 0;
}
