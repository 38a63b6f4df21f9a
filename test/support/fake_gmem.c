// SPDX-License-Identifier: MIT
#include "fake_gmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

static struct fake_gmem_region *region_find(struct fake_gmem *m, uint64_t gaddr)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		struct fake_gmem_region *r = &m->region[i];

		if (gaddr >= r->gaddr && gaddr - r->gaddr < r->size)
			return r;
	}
	return NULL;
}

static bool range_has(uint64_t gaddr, uint64_t len, uint64_t addr)
{
	return addr >= gaddr && addr - gaddr < len;
}

/* Does the armed fault fire for this call? */
static int fault_hit(struct fake_gmem *m, enum fake_gmem_op op, uint64_t gaddr,
		     uint64_t len)
{
	struct fake_gmem_fault *f = &m->fault;

	if (f->op != op || f->err == 0)
		return 0;
	if (f->gaddr != UINT64_MAX && !range_has(gaddr, len, f->gaddr))
		return 0;
	if (f->skip) {
		f->skip--;
		return 0;
	}
	return f->err;
}

static bool live_covers(const struct fake_gmem *m, uint64_t gaddr, uint64_t len,
			uint32_t access)
{
	for (unsigned i = 0; i < m->nlive; i++) {
		const struct gmem_range *r = &m->live[i];

		if ((r->access & access) == access && gaddr >= r->gaddr &&
		    gaddr - r->gaddr + len <= r->len)
			return true;
	}
	return false;
}

static int fake_translate(struct gmem *g, uint64_t gaddr, uint64_t len,
			  uint32_t access, void **hva, uint64_t *maplen)
{
	struct fake_gmem *m = container_of(g, struct fake_gmem, gmem);
	uint32_t rw = access & (GMEM_READ | GMEM_WRITE);
	struct fake_gmem_region *r = NULL;
	uint64_t n;
	int err;

	m->translates++;
	if (len == 0)
		err = -EINVAL;
	else if (gaddr + len < gaddr)
		err = -EOVERFLOW;
	else if (!(r = region_find(m, gaddr)) || (r->access & rw) != rw)
		err = -EFAULT;
	else
		err = fault_hit(m, FAKE_GMEM_FAULT_TRANSLATE, gaddr, len);
	if (err == 0 && m->require_map && !m->untracked &&
	    !(access & GMEM_PERSIST)) {
		n = r->size - (gaddr - r->gaddr);
		if (!live_covers(m, gaddr, len < n ? len : n, rw)) {
			m->unmapped_translates++;
			err = -EFAULT;
		}
	}
	if (err) {
		m->failed_translates++;
		return err;
	}
	n = r->size - (gaddr - r->gaddr);
	if (len < n)
		n = len;
	if (m->max_map && !(access & GMEM_PERSIST) && n > m->max_map)
		n = m->max_map;
	*hva = r->host + (gaddr - r->gaddr);
	*maplen = n;
	/* A direct fake offers a region allowing every access as the
	 * translation window, as gmem_mmap does (not with knobs that make
	 * translate answer differently). */
	if (m->gmem.direct && r->access == (GMEM_READ | GMEM_WRITE) &&
	    !m->max_map && m->fault.op != FAKE_GMEM_FAULT_TRANSLATE) {
		m->gmem.win_gaddr = r->gaddr;
		m->gmem.win_len = r->size;
		m->gmem.win_hva = r->host;
	}
	if ((access & GMEM_PERSIST) && !m->untracked) {
		if (m->npersist == FAKE_GMEM_PERSIST_MAX)
			return -ENOMEM;
		m->persist[m->npersist].gaddr = gaddr;
		m->persist[m->npersist].len = len;
		m->persist[m->npersist].access = access;
		m->npersist++;
		m->persist_translates++;
	}
	return 0;
}

static void fake_release(struct gmem *g, uint64_t gaddr, uint64_t len,
			 uint32_t access)
{
	struct fake_gmem *m = container_of(g, struct fake_gmem, gmem);

	m->releases++;
	if (m->untracked)
		return;
	for (unsigned k = 0; k < m->npersist; k++) {
		if (m->persist[k].gaddr != gaddr || m->persist[k].len != len ||
		    m->persist[k].access != access)
			continue;
		m->persist[k] = m->persist[--m->npersist];
		return;
	}
	m->bad_releases++;
}

static int fake_map_batch(struct gmem *g, const struct gmem_range *r,
			  unsigned n)
{
	struct fake_gmem *m = container_of(g, struct fake_gmem, gmem);

	m->map_calls++;
	if (m->map_hook)
		m->map_hook(m, m->map_hook_arg);
	if (m->untracked) {
		m->ranges_mapped += n;
		return 0;
	}
	if (m->nlive + n > FAKE_GMEM_LIVE_MAX)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		int err =
			fault_hit(m, FAKE_GMEM_FAULT_MAP, r[i].gaddr, r[i].len);

		if (err)
			return err; /* nothing recorded yet: nothing mapped */
	}
	for (unsigned i = 0; i < n; i++)
		m->live[m->nlive++] = r[i];
	m->ranges_mapped += n;
	return m->apart ? GMEM_APART : 0;
}

static void fake_unmap_batch(struct gmem *g, const struct gmem_range *r,
			     unsigned n)
{
	struct fake_gmem *m = container_of(g, struct fake_gmem, gmem);

	m->unmap_calls++;
	if (m->untracked) {
		m->ranges_unmapped += n;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned k;

		for (k = 0; k < m->nlive; k++)
			if (m->live[k].gaddr == r[i].gaddr &&
			    m->live[k].len == r[i].len &&
			    m->live[k].access == r[i].access)
				break;
		if (k == m->nlive) {
			m->bad_unmaps++;
			continue;
		}
		m->live[k] = m->live[--m->nlive];
		m->ranges_unmapped++;
	}
}

static const struct gmem_ops fake_gmem_ops = {
	.translate = fake_translate,
	.map_batch = fake_map_batch,
	.unmap_batch = fake_unmap_batch,
	.release = fake_release,
};

int fake_gmem_init(struct fake_gmem *m)
{
	memset(m, 0, sizeof(*m));
	m->gmem.ops = &fake_gmem_ops;
	m->live = calloc(FAKE_GMEM_LIVE_MAX, sizeof(*m->live));
	return m->live ? 0 : -ENOMEM;
}

void fake_gmem_destroy(struct fake_gmem *m)
{
	for (unsigned i = 0; i < m->nregions; i++)
		free(m->region[i].host);
	free(m->live);
	memset(m, 0, sizeof(*m));
}

int fake_gmem_add(struct fake_gmem *m, uint64_t gaddr, uint64_t size,
		  uint32_t access)
{
	struct fake_gmem_region *r;
	void *host;

	if (size == 0 || gaddr + size < gaddr)
		return -EINVAL;
	for (unsigned i = 0; i < m->nregions; i++) {
		r = &m->region[i];
		if (gaddr < r->gaddr + r->size && r->gaddr < gaddr + size)
			return -EINVAL;
	}
	if (m->nregions == FAKE_GMEM_REGIONS_MAX)
		return -ENOSPC;
	/* Aligned like a page, exact size so ASan sees the end. */
	if (posix_memalign(&host, 4096, size))
		return -ENOMEM;
	memset(host, 0, size);
	r = &m->region[m->nregions++];
	*r = (struct fake_gmem_region){gaddr, size, access, host};
	return 0;
}

void *fake_gmem_ptr(struct fake_gmem *m, uint64_t gaddr, uint64_t len)
{
	struct fake_gmem_region *r = region_find(m, gaddr);

	if (!r || len > r->size - (gaddr - r->gaddr))
		return NULL;
	return r->host + (gaddr - r->gaddr);
}

static int copy(struct fake_gmem *m, uint64_t gaddr, void *buf, uint64_t len,
		bool to_guest)
{
	uint8_t *p = buf;

	while (len) {
		struct fake_gmem_region *r = region_find(m, gaddr);
		uint64_t n;

		if (!r)
			return -EFAULT;
		n = r->size - (gaddr - r->gaddr);
		if (n > len)
			n = len;
		if (to_guest)
			memcpy(r->host + (gaddr - r->gaddr), p, n);
		else
			memcpy(p, r->host + (gaddr - r->gaddr), n);
		gaddr += n;
		p += n;
		len -= n;
	}
	return 0;
}

int fake_gmem_write(struct fake_gmem *m, uint64_t gaddr, const void *buf,
		    uint64_t len)
{
	return copy(m, gaddr, (void *)buf, len, true);
}

int fake_gmem_read(struct fake_gmem *m, uint64_t gaddr, void *buf, uint64_t len)
{
	return copy(m, gaddr, buf, len, false);
}

unsigned fake_gmem_persist_live(const struct fake_gmem *m)
{
	return m->npersist;
}

unsigned fake_gmem_live(const struct fake_gmem *m)
{
	return m->nlive;
}

void fake_gmem_reset_counters(struct fake_gmem *m)
{
	m->translates = m->map_calls = m->unmap_calls = 0;
	m->ranges_mapped = m->ranges_unmapped = 0;
	m->bad_unmaps = m->unmapped_translates = m->failed_translates = 0;
	m->persist_translates = m->releases = m->bad_releases = 0;
}
