// SPDX-License-Identifier: MIT
/*
 * Grant guest memory (see xen_gmem.h). Every mapping is one library call
 * over consecutive grant references; it remembers the ranges (spans) it
 * was made for, so translate can find an address in it and unmap_batch
 * knows when its last range is gone. Ring areas get a mapping each.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xen_gmem_int.h"

#define GNT_ADDR_BIT	   (1ULL << 63)
#define GNT_CALL_PAGES_MAX 1024 /* pages one library call maps */
#define GNT_MAPS_MAX	   4096 /* mappings alive at once */

/* One range a mapping was made for. */
struct gnt_span {
	uint64_t gaddr; /* as given, bit 63 included */
	uint64_t end;
	uint32_t page;	 /* first page of the range in the mapping */
	uint32_t access; /* as given */
	bool live;	 /* not unmapped yet */
};

struct gnt_map {
	uint8_t *addr; /* NULL: slot free */
	uint32_t npages;
	bool writable;
	bool persist; /* a ring area: one span, released, not unmapped */
	unsigned gen; /* the map_batch call that made it */
	uint32_t nspans, live, cap;
	struct gnt_span *spans; /* kept across uses of the slot */
};

struct xen_gnt {
	struct xen_gmem x;
	bool any_address;
	unsigned gen;
	struct gnt_map *maps;
	uint32_t nmaps; /* slots allocated */
	uint32_t refs[GNT_CALL_PAGES_MAX];
};

static struct xen_gnt *gnt_of(struct gmem *g)
{
	return container_of(xen_gmem_of(g), struct xen_gnt, x);
}

/* First grant reference and page count of a range. */
static int decode(const struct xen_gnt *g, uint64_t gaddr, uint64_t len,
		  uint32_t *ref, uint32_t *npages)
{
	uint64_t a = gaddr & ~GNT_ADDR_BIT, first, last;

	if (!g->any_address && !(gaddr & GNT_ADDR_BIT))
		return -EFAULT;
	first = a >> XEN_SYS_PAGE_SHIFT;
	last = (a + len - 1) >> XEN_SYS_PAGE_SHIFT;
	if (last > UINT32_MAX)
		return -EFAULT;
	if (last - first + 1 > GNT_CALL_PAGES_MAX)
		return -E2BIG;
	*ref = (uint32_t)first;
	*npages = (uint32_t)(last - first + 1);
	return 0;
}

static int slot_get(struct xen_gnt *g)
{
	uint32_t i, n;
	struct gnt_map *m;

	for (i = 0; i < g->nmaps; i++)
		if (!g->maps[i].addr && !g->maps[i].npages)
			return (int)i;
	if (g->nmaps == GNT_MAPS_MAX)
		return -ENOBUFS;
	n = g->nmaps ? g->nmaps * 2 : 16;
	if (n > GNT_MAPS_MAX)
		n = GNT_MAPS_MAX;
	m = realloc(g->maps, n * sizeof(*m));
	if (!m)
		return -ENOMEM;
	memset(m + g->nmaps, 0, (n - g->nmaps) * sizeof(*m));
	g->maps = m;
	i = g->nmaps;
	g->nmaps = n;
	return (int)i;
}

static void slot_free(struct gnt_map *m)
{
	m->addr = NULL;
	m->npages = 0;
	m->nspans = m->live = 0;
	m->persist = false;
}

static int span_add(struct gnt_map *m, const struct gnt_span *s)
{
	if (m->nspans == m->cap) {
		uint32_t n = m->cap ? m->cap * 2 : 8;
		struct gnt_span *p = realloc(m->spans, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		m->spans = p;
		m->cap = n;
	}
	m->spans[m->nspans++] = *s;
	m->live++;
	return 0;
}

/* Map g->refs[0..m->npages) into slot m. */
static int map_call(struct xen_gnt *g, struct gnt_map *m)
{
	int prot = PROT_READ | (m->writable ? PROT_WRITE : 0);
	void *addr;
	int ret;

	g->x.stats.map_calls++;
	ret = g->x.sys->ops->gnt_map(g->x.sys, g->x.domid, m->npages, g->refs,
				     prot, &addr);
	if (ret < 0) {
		g->x.stats.map_failures++;
		log_msg_ratelimited(
			&g->x.rl, LOG_LEVEL_WARN,
			"%s: domain %u: grant refs 0x%x-0x%x (%s, %u range%s) "
			"cannot be mapped: %s",
			g->x.label, g->x.domid, g->refs[0],
			g->refs[m->npages - 1],
			m->writable ? "read-write" : "read-only", m->nspans,
			m->nspans == 1 ? "" : "s", strerror(-ret));
		slot_free(m);
		return -EFAULT;
	}
	g->x.stats.pages_mapped += m->npages;
	m->addr = addr;
	return 0;
}

static void unmap_call(struct xen_gnt *g, struct gnt_map *m)
{
	int ret;

	g->x.stats.unmap_calls++;
	ret = g->x.sys->ops->gnt_unmap(g->x.sys, m->addr, m->npages);
	if (ret < 0)
		log_msg_ratelimited(&g->x.rl, LOG_LEVEL_ERR,
				    "%s: domain %u: unmapping %u grant pages: "
				    "%s",
				    g->x.label, g->x.domid, m->npages,
				    strerror(-ret));
	slot_free(m);
}

/*
 * Add range r to the mapping being built in *slot (starting one if *slot
 * is -1, mapping the current one first if r does not fit).
 */
static int batch_add(struct xen_gnt *g, int *slot, const struct gmem_range *r,
		     bool writable)
{
	uint32_t ref, np;
	struct gnt_map *m;
	int ret = decode(g, r->gaddr, r->len, &ref, &np);

	if (ret < 0)
		return ret;
	if (*slot >= 0 && g->maps[*slot].npages + np > GNT_CALL_PAGES_MAX) {
		ret = map_call(g, &g->maps[*slot]);
		*slot = -1;
		if (ret < 0)
			return ret;
	}
	if (*slot < 0) {
		*slot = slot_get(g);
		if (*slot < 0)
			return *slot;
		m = &g->maps[*slot];
		m->writable = writable;
		m->gen = g->gen;
		m->npages = 0;
	}
	m = &g->maps[*slot];
	ret = span_add(m, &(struct gnt_span){r->gaddr, r->gaddr + r->len,
					     m->npages, r->access, true});
	if (ret < 0)
		return ret;
	for (uint32_t k = 0; k < np; k++)
		g->refs[m->npages + k] = ref + k;
	m->npages += np;
	return 0;
}

/* Undo every mapping the current map_batch call made. */
static void batch_undo(struct xen_gnt *g)
{
	for (uint32_t i = 0; i < g->nmaps; i++) {
		struct gnt_map *m = &g->maps[i];

		if (m->gen != g->gen || m->persist || !m->npages)
			continue;
		if (m->addr)
			unmap_call(g, m);
		else
			slot_free(m);
	}
}

static int gnt_map_batch(struct gmem *gm, const struct gmem_range *r,
			 unsigned n)
{
	struct xen_gnt *g = gnt_of(gm);
	int ret = 0;

	g->gen++;
	/* One pass per permission: one library call maps one way. */
	for (int pass = 0; pass < 2 && ret == 0; pass++) {
		bool writable = pass == 1;
		int slot = -1;

		for (unsigned i = 0; i < n && ret == 0; i++) {
			if (!r[i].len ||
			    !!(r[i].access & GMEM_WRITE) != writable)
				continue;
			if (r[i].gaddr + r[i].len < r[i].gaddr)
				ret = -EOVERFLOW;
			else
				ret = batch_add(g, &slot, &r[i], writable);
		}
		if (ret == 0 && slot >= 0)
			ret = map_call(g, &g->maps[slot]);
	}
	if (ret < 0)
		batch_undo(g);
	return ret;
}

static void gnt_unmap_batch(struct gmem *gm, const struct gmem_range *r,
			    unsigned n)
{
	struct xen_gnt *g = gnt_of(gm);

	for (unsigned i = 0; i < n; i++) {
		uint64_t end = r[i].gaddr + r[i].len;
		bool found = false;

		if (!r[i].len)
			continue;
		for (uint32_t k = 0; k < g->nmaps && !found; k++) {
			struct gnt_map *m = &g->maps[k];

			if (!m->addr || m->persist)
				continue;
			for (uint32_t j = 0; j < m->nspans && !found; j++) {
				struct gnt_span *s = &m->spans[j];

				if (!s->live || s->gaddr != r[i].gaddr ||
				    s->end != end || s->access != r[i].access)
					continue;
				found = true;
				s->live = false;
				if (--m->live == 0)
					unmap_call(g, m);
			}
		}
		if (!found)
			log_debug("%s: unmap of grant range 0x%llx+%u that is "
				  "not mapped",
				  g->x.label, (unsigned long long)r[i].gaddr,
				  r[i].len);
	}
}

static int map_persist(struct xen_gnt *g, uint64_t gaddr, uint64_t len,
		       uint32_t access, void **hva)
{
	uint32_t ref, np;
	struct gnt_map *m;
	int slot, ret = decode(g, gaddr, len, &ref, &np);

	if (ret < 0)
		return -EFAULT;
	slot = slot_get(g);
	if (slot < 0)
		return slot;
	m = &g->maps[slot];
	m->writable = access & GMEM_WRITE;
	m->persist = true;
	m->npages = np;
	m->gen = 0;
	ret = span_add(m,
		       &(struct gnt_span){gaddr, gaddr + len, 0, access, true});
	if (ret < 0) {
		slot_free(m);
		return ret;
	}
	for (uint32_t k = 0; k < np; k++)
		g->refs[k] = ref + k;
	ret = map_call(g, m);
	if (ret < 0)
		return ret;
	*hva = m->addr + (gaddr & (XEN_SYS_PAGE - 1));
	return 0;
}

static int gnt_translate(struct gmem *gm, uint64_t gaddr, uint64_t len,
			 uint32_t access, void **hva, uint64_t *maplen)
{
	struct xen_gnt *g = gnt_of(gm);
	bool write = access & GMEM_WRITE;

	if (!len)
		return -EINVAL;
	if (gaddr + len < gaddr)
		return -EOVERFLOW;
	if (access & GMEM_PERSIST) {
		int ret = map_persist(g, gaddr, len, access, hva);

		if (ret == 0)
			*maplen = len;
		return ret;
	}
	for (uint32_t k = 0; k < g->nmaps; k++) {
		struct gnt_map *m = &g->maps[k];

		if (!m->addr || m->persist || (write && !m->writable))
			continue;
		for (uint32_t j = 0; j < m->nspans; j++) {
			const struct gnt_span *s = &m->spans[j];
			uint64_t page0 =
				s->gaddr & ~(uint64_t)(XEN_SYS_PAGE - 1);

			if (!s->live || gaddr < s->gaddr || gaddr >= s->end)
				continue;
			*hva = m->addr + (uint64_t)s->page * XEN_SYS_PAGE +
			       (gaddr - page0);
			*maplen = s->end - gaddr < len ? s->end - gaddr : len;
			return 0;
		}
	}
	return -EFAULT;
}

static void gnt_release(struct gmem *gm, uint64_t gaddr, uint64_t len,
			uint32_t access)
{
	struct xen_gnt *g = gnt_of(gm);

	for (uint32_t k = 0; k < g->nmaps; k++) {
		struct gnt_map *m = &g->maps[k];

		if (m->addr && m->persist && m->spans[0].gaddr == gaddr &&
		    m->spans[0].end == gaddr + len &&
		    m->spans[0].access == access) {
			unmap_call(g, m);
			return;
		}
	}
}

static const struct gmem_ops gnt_ops = {
	.translate = gnt_translate,
	.map_batch = gnt_map_batch,
	.unmap_batch = gnt_unmap_batch,
	.release = gnt_release,
};

int xen_gmem_grant_create_sys(struct gmem **out, struct xen_sys *sys,
			      uint16_t domid, bool any_address,
			      const char *label)
{
	struct xen_gnt *g;
	int ret = xen_gmem_check(domid);

	if (ret < 0)
		goto err_close;
	g = calloc(1, sizeof(*g));
	if (!g) {
		ret = -ENOMEM;
		goto err_close;
	}
	g->x.gmem.ops = &gnt_ops;
	g->x.kind = XEN_GMEM_GRANT;
	g->x.domid = domid;
	g->x.sys = sys;
	snprintf(g->x.label, sizeof(g->x.label), "%s", label ? label : "xen");
	g->any_address = any_address;
	*out = &g->x.gmem;
	return 0;

err_close:
	sys->ops->close(sys);
	return ret;
}

void xen_gmem_grant_destroy(struct xen_gmem *x)
{
	struct xen_gnt *g = container_of(x, struct xen_gnt, x);

	for (uint32_t k = 0; k < g->nmaps; k++) {
		if (g->maps[k].addr)
			unmap_call(g, &g->maps[k]);
		free(g->maps[k].spans);
	}
	free(g->maps);
	xen_gmem_log_release(x);
	x->sys->ops->close(x->sys);
	free(g);
}
