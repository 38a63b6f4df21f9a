// SPDX-License-Identifier: MIT
/*
 * Grant guest memory (see xen_gmem.h). Every mapping is one library call
 * over consecutive grant references; it remembers the ranges (spans) it
 * was made for, so translate can find an address in it and unmap_batch
 * knows when its last range is gone. Ring areas get a mapping each.
 *
 * A small batch is copied instead: its ranges get one block of the copy
 * arena, the device-readable ones filled by one grant copy call, and the
 * device-writable ones copied back to the guest by unmap_batch (one call
 * for every range it is given). The block then stands in for a mapping:
 * same spans, same look-up, no unmap. A larger batch whose ranges of one
 * direction are small copies those and maps the others, so it still takes
 * one map call, not one per direction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xen_gmem_int.h"

#define GNT_ADDR_BIT	   (1ULL << 63)
#define GNT_CALL_PAGES_MAX 1024		/* pages one library call maps */
#define GNT_MAPS_MAX	   4096		/* mappings alive at once */
#define GNT_ARENA	   (64u * 1024) /* copy arena: bytes */
#define GNT_CHUNK	   256u		/* its allocation unit */
#define GNT_CHUNKS	   (GNT_ARENA / GNT_CHUNK)
#define GNT_ALIGN	   8u /* each range's place in a block */

/* One range a mapping was made for. */
struct gnt_span {
	uint64_t gaddr; /* as given, bit 63 included */
	uint64_t end;
	uint32_t page;	 /* first page of the range in the mapping */
	uint32_t off;	 /* copied: its byte offset in the block */
	uint32_t access; /* as given */
	bool live;	 /* not unmapped yet */
};

struct gnt_map {
	uint8_t *addr; /* NULL: slot free */
	uint32_t npages;
	bool writable;
	bool persist; /* a ring area: one span, released, not unmapped */
	bool copied;  /* addr is a block of the copy arena */
	uint16_t chunk0, nchunks; /* copied: the block */
	unsigned gen;		  /* the map_batch call that made it */
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
	uint32_t copy_max; /* batch bytes copied rather than mapped; 0: never */
	uint8_t *arena;	   /* GNT_ARENA bytes, made at the first copy */
	uint64_t arena_used[GNT_CHUNKS / 64];
	struct xen_sys_copy pieces[XEN_SYS_COPY_MAX];
	uint32_t npieces;
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
	m->copied = false;
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

/* ---- the copy path ---- */

static bool chunk_used(const struct xen_gnt *g, unsigned i)
{
	return g->arena_used[i / 64] >> (i % 64) & 1;
}

static void chunks_mark(struct xen_gnt *g, unsigned first, unsigned n,
			bool used)
{
	for (unsigned i = first; i < first + n; i++) {
		uint64_t bit = 1ULL << (i % 64);

		if (used)
			g->arena_used[i / 64] |= bit;
		else
			g->arena_used[i / 64] &= ~bit;
	}
}

/* First fit of n chunks: the first one, or -1. */
static int arena_alloc(struct xen_gnt *g, unsigned n)
{
	unsigned run = 0;

	if (!g->arena) {
		void *a = mmap(NULL, GNT_ARENA, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (a == MAP_FAILED)
			return -1;
		g->arena = a;
	}
	for (unsigned i = 0; i < GNT_CHUNKS; i++) {
		if (chunk_used(g, i)) {
			run = 0;
			continue;
		}
		if (++run == n) {
			chunks_mark(g, i + 1 - n, n, true);
			return (int)(i + 1 - n);
		}
	}
	return -1;
}

/* A mapping or copied block is done with: unmap or give the block back. */
static void map_drop(struct xen_gnt *g, struct gnt_map *m)
{
	if (m->copied) {
		chunks_mark(g, m->chunk0, m->nchunks, false);
		slot_free(m);
	} else if (m->addr) {
		unmap_call(g, m);
	} else {
		slot_free(m);
	}
}

static uint32_t pages_of(uint64_t gaddr, uint64_t len)
{
	uint64_t a = gaddr & ~GNT_ADDR_BIT;

	return (uint32_t)(((a + len - 1) >> XEN_SYS_PAGE_SHIFT) -
			  (a >> XEN_SYS_PAGE_SHIFT) + 1);
}

static const char *gntst_str(int st)
{
	switch (st) {
	case -1:
		return "not granted, or granted read-only";
	case -3:
		return "bad grant reference";
	case -8:
		return "permission denied";
	case -9:
		return "bad page";
	default:
		return "refused";
	}
}

/* The pieces of span s (its bytes at buf), one per grant page. */
static void pieces_add(struct xen_gnt *g, const struct gnt_span *s,
		       uint8_t *buf, bool to_guest)
{
	uint64_t a = s->gaddr & ~GNT_ADDR_BIT, len = s->end - s->gaddr;

	for (uint64_t pos = 0; pos < len;) {
		uint32_t off = (uint32_t)((a + pos) & (XEN_SYS_PAGE - 1));
		uint64_t n = XEN_SYS_PAGE - off;

		if (n > len - pos)
			n = len - pos;
		g->pieces[g->npieces++] = (struct xen_sys_copy){
			buf + pos,
			(uint32_t)((a + pos) >> XEN_SYS_PAGE_SHIFT),
			(uint16_t)off,
			(uint16_t)n,
			to_guest,
			0};
		pos += n;
	}
}

/* One grant copy call for the pieces gathered. 0, or -EFAULT (logged). */
static int pieces_copy(struct xen_gnt *g)
{
	uint32_t n = g->npieces, bad = 0, first = 0;
	int ret;

	if (!n)
		return 0;
	g->npieces = 0;
	g->x.stats.copy_calls++;
	ret = g->x.sys->ops->gnt_copy(g->x.sys, g->x.domid, g->pieces, n);
	for (uint32_t i = 0; i < n && ret == 0; i++) {
		if (g->pieces[i].status && !bad++)
			first = i;
		else if (!g->pieces[i].status)
			g->x.stats.bytes_copied += g->pieces[i].len;
	}
	if (ret == 0 && !bad)
		return 0;
	g->x.stats.copy_failures++;
	if (ret < 0)
		log_msg_ratelimited(&g->x.rl, LOG_LEVEL_WARN,
				    "%s: domain %u: grant copy of %u pieces "
				    "failed: %s",
				    g->x.label, g->x.domid, n, strerror(-ret));
	else
		log_msg_ratelimited(
			&g->x.rl, LOG_LEVEL_WARN,
			"%s: domain %u: grant ref 0x%x cannot be %s: %s "
			"(Xen status %d; %u of %u pieces failed)",
			g->x.label, g->x.domid, g->pieces[first].ref,
			g->pieces[first].to_guest ? "written back" : "read",
			gntst_str(g->pieces[first].status),
			g->pieces[first].status, bad, n);
	return -EFAULT;
}

/* The direction a range is mapped or copied in: GMEM_WRITE or GMEM_READ. */
static uint32_t dir_of(const struct gmem_range *r)
{
	return r->access & GMEM_WRITE ? GMEM_WRITE : GMEM_READ;
}

/*
 * Whether the ranges of r[0..n) going in the directions dirs are copied:
 * some bytes, small enough, within one call each way, and well formed
 * (the map path reports what is not). *bytes: their room in a block.
 */
static bool copy_fits(const struct xen_gnt *g, const struct gmem_range *r,
		      unsigned n, uint32_t dirs, uint32_t *bytes)
{
	uint64_t total = 0;
	uint32_t in = 0, out = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t a = r[i].gaddr & ~GNT_ADDR_BIT;

		if (!r[i].len || !(dir_of(&r[i]) & dirs))
			continue;
		if (r[i].gaddr + r[i].len < r[i].gaddr ||
		    (!g->any_address && !(r[i].gaddr & GNT_ADDR_BIT)) ||
		    (a + r[i].len - 1) >> XEN_SYS_PAGE_SHIFT > UINT32_MAX)
			return false;
		total += (r[i].len + GNT_ALIGN - 1) & ~(GNT_ALIGN - 1);
		if (r[i].access & GMEM_READ)
			in += pages_of(r[i].gaddr, r[i].len);
		if (r[i].access & GMEM_WRITE)
			out += pages_of(r[i].gaddr, r[i].len);
	}
	*bytes = (uint32_t)total;
	return total && total <= g->copy_max && in <= XEN_SYS_COPY_MAX &&
	       out <= XEN_SYS_COPY_MAX;
}

/*
 * The directions of the batch to copy: both when it is small, else the
 * one with fewer bytes when that one is (so the other is mapped with one
 * call: one protection per mapping), else none (0).
 */
static uint32_t copy_choose(const struct xen_gnt *g, const struct gmem_range *r,
			    unsigned n, uint32_t *bytes)
{
	uint32_t rd, wr;
	bool rd_fits, wr_fits;

	if (copy_fits(g, r, n, GMEM_READ | GMEM_WRITE, bytes))
		return GMEM_READ | GMEM_WRITE;
	rd_fits = copy_fits(g, r, n, GMEM_READ, &rd);
	wr_fits = copy_fits(g, r, n, GMEM_WRITE, &wr);
	if (rd_fits && (!wr_fits || rd <= wr)) {
		*bytes = rd;
		return GMEM_READ;
	}
	if (wr_fits) {
		*bytes = wr;
		return GMEM_WRITE;
	}
	return 0;
}

/*
 * Copy the ranges of the batch going in the directions dirs into one
 * arena block: 1 when copied, 0 when the arena has no room (the caller
 * maps instead), or -errno.
 */
static int copy_in(struct xen_gnt *g, const struct gmem_range *r, unsigned n,
		   uint32_t dirs, uint32_t bytes)
{
	unsigned nch = (bytes + GNT_CHUNK - 1) / GNT_CHUNK;
	int chunk = arena_alloc(g, nch), slot, ret;
	uint32_t off = 0;
	struct gnt_map *m;

	if (chunk < 0)
		return 0;
	slot = slot_get(g);
	if (slot < 0) {
		chunks_mark(g, (unsigned)chunk, nch, false);
		return slot;
	}
	m = &g->maps[slot];
	m->copied = true;
	m->chunk0 = (uint16_t)chunk;
	m->nchunks = (uint16_t)nch;
	m->addr = g->arena + (size_t)chunk * GNT_CHUNK;
	m->gen = g->gen;
	g->npieces = 0;
	for (unsigned i = 0; i < n; i++) {
		struct gnt_span sp = {.gaddr = r[i].gaddr,
				      .end = r[i].gaddr + r[i].len,
				      .off = off,
				      .access = r[i].access,
				      .live = true};

		if (!r[i].len || !(dir_of(&r[i]) & dirs))
			continue;
		ret = span_add(m, &sp);
		if (ret < 0) {
			g->npieces = 0;
			map_drop(g, m);
			return ret;
		}
		if (r[i].access & GMEM_READ)
			pieces_add(g, &sp, m->addr + off, false);
		else /* what the device leaves unwritten: never stale data */
			memset(m->addr + off, 0, r[i].len);
		off += (r[i].len + GNT_ALIGN - 1) & ~(GNT_ALIGN - 1);
	}
	ret = pieces_copy(g);
	if (ret < 0) {
		map_drop(g, m);
		return ret;
	}
	g->x.stats.batches_copied++;
	return 1;
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
	ret = span_add(m, &(struct gnt_span){.gaddr = r->gaddr,
					     .end = r->gaddr + r->len,
					     .page = m->npages,
					     .access = r->access,
					     .live = true});
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

		if (m->gen != g->gen || m->persist || !(m->npages || m->copied))
			continue;
		map_drop(g, m);
	}
}

static int gnt_map_batch(struct gmem *gm, const struct gmem_range *r,
			 unsigned n)
{
	struct xen_gnt *g = gnt_of(gm);
	uint32_t bytes, copied;
	int ret = 0;

	g->gen++;
	copied = copy_choose(g, r, n, &bytes);
	if (copied) {
		ret = copy_in(g, r, n, copied, bytes);
		if (ret < 0)
			return ret;
		if (ret == 0) /* the arena is full: all mapped */
			copied = 0;
		if (copied == (GMEM_READ | GMEM_WRITE))
			return GMEM_APART;
		ret = 0;
	}
	/* One pass per permission: one library call maps one way. */
	for (int pass = 0; pass < 2 && ret == 0; pass++) {
		uint32_t dir = pass ? GMEM_WRITE : GMEM_READ;
		int slot = -1;

		if (copied & dir)
			continue;
		for (unsigned i = 0; i < n && ret == 0; i++) {
			if (!r[i].len || dir_of(&r[i]) != dir)
				continue;
			if (r[i].gaddr + r[i].len < r[i].gaddr)
				ret = -EOVERFLOW;
			else
				ret = batch_add(g, &slot, &r[i], pass == 1);
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
				if (m->copied && (s->access & GMEM_WRITE)) {
					if (g->npieces + pages_of(s->gaddr,
								  r[i].len) >
					    XEN_SYS_COPY_MAX)
						pieces_copy(g);
					pieces_add(g, s, m->addr + s->off,
						   true);
				}
				/* A freed block is not reused before the
				 * copy below: nothing is allocated here. */
				if (--m->live == 0)
					map_drop(g, m);
			}
		}
		if (!found)
			log_debug("%s: unmap of grant range 0x%llx+%u that is "
				  "not mapped",
				  g->x.label, (unsigned long long)r[i].gaddr,
				  r[i].len);
	}
	/* A guest that revoked a buffer before its completion loses what
	 * the device wrote: logged, nothing else to do. */
	pieces_copy(g);
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
	ret = span_add(m, &(struct gnt_span){.gaddr = gaddr,
					     .end = gaddr + len,
					     .access = access,
					     .live = true});
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

		if (!m->addr || m->persist ||
		    (write && !m->writable && !m->copied))
			continue;
		for (uint32_t j = 0; j < m->nspans; j++) {
			const struct gnt_span *s = &m->spans[j];
			uint64_t page0 =
				s->gaddr & ~(uint64_t)(XEN_SYS_PAGE - 1);

			if (!s->live || gaddr < s->gaddr || gaddr >= s->end ||
			    (write && !(s->access & GMEM_WRITE)))
				continue;
			if (m->copied)
				*hva = m->addr + s->off + (gaddr - s->gaddr);
			else
				*hva = m->addr +
				       (uint64_t)s->page * XEN_SYS_PAGE +
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
	log_ratelimit_init(&g->x.rl, g->x.label);
	g->any_address = any_address;
	g->copy_max = XEN_GMEM_GRANT_COPY_MAX;
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
			map_drop(g, &g->maps[k]);
		free(g->maps[k].spans);
	}
	free(g->maps);
	if (g->arena)
		munmap(g->arena, GNT_ARENA);
	xen_gmem_log_release(x);
	x->sys->ops->close(x->sys);
	free(g);
}

void xen_gmem_grant_set_copy_max(struct gmem *m, uint32_t bytes)
{
	struct xen_gnt *g = gnt_of(m);

	g->copy_max = bytes < GNT_ARENA ? bytes : GNT_ARENA;
}
