// SPDX-License-Identifier: MIT
#include "gmem_mmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

static bool wraps(uint64_t base, uint64_t size)
{
	/* base + size must stay representable: end addresses are used. */
	return size > UINT64_MAX - base;
}

/* The region holding gpa, or NULL. Regions are sorted by gpa; the one
 * found last is tried first (an element's segments are usually in one). */
static struct gmem_mmap_region *find(struct gmem_mmap *m, uint64_t gpa)
{
	unsigned lo = 0, hi = m->n;
	struct gmem_mmap_region *last = &m->r[m->last];

	if (m->last < m->n && gpa - last->gpa < last->size && gpa >= last->gpa)
		return last;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		struct gmem_mmap_region *r = &m->r[mid];

		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else {
			m->last = mid;
			return r;
		}
	}
	return NULL;
}

static int mmap_translate(struct gmem *g, uint64_t gaddr, uint64_t len,
			  uint32_t access, void **hva, uint64_t *maplen)
{
	struct gmem_mmap *m = container_of(g, struct gmem_mmap, gmem);
	struct gmem_mmap_region *r;
	uint64_t left;

	if (!len)
		return -EINVAL;
	if (wraps(gaddr, len))
		return -EOVERFLOW;
	r = find(m, gaddr);
	if (!r)
		return -EFAULT;
	left = r->gpa + r->size - gaddr;
	if (len > left)
		len = left; /* cut at the region end: the caller asks again */
	if (r->sub)
		return gmem_translate(r->sub, gaddr, len, access, hva, maplen);
	/* mmap'd regions allow every access: the next look-up in this one
	 * needs no call. */
	g->win_gaddr = r->gpa;
	g->win_len = r->size;
	g->win_hva = r->hva;
	*hva = r->hva + (gaddr - r->gpa);
	*maplen = len;
	return 0;
}

/*
 * Map or unmap the pieces of rg that fall in delegated regions and start
 * before limit. Pieces outside guest memory are skipped: translate reports
 * them. On a map failure, *failed_at is where the failing piece starts.
 */
static int delegate_pieces(struct gmem_mmap *m, const struct gmem_range *rg,
			   bool map, uint64_t limit, uint64_t *failed_at)
{
	uint64_t a = rg->gaddr, end;

	if (!rg->len || wraps(rg->gaddr, rg->len))
		return 0;
	end = rg->gaddr + rg->len;
	while (a < end && a < limit) {
		struct gmem_mmap_region *r = find(m, a);
		uint64_t piece_end;
		struct gmem_range p;
		int ret;

		if (!r)
			return 0;
		piece_end = end - r->gpa < r->size ? end : r->gpa + r->size;
		p = (struct gmem_range){a, (uint32_t)(piece_end - a),
					rg->access};
		if (r->sub && map) {
			ret = gmem_map_batch(r->sub, &p, 1);
			if (ret < 0) {
				*failed_at = a;
				return ret;
			}
		} else if (r->sub) {
			gmem_unmap_batch(r->sub, &p, 1);
		}
		a = piece_end;
	}
	return 0;
}

/*
 * The delegated region holding every range whole, or NULL: then the
 * ranges go to their back-end in one call (a grant back-end maps a batch
 * with one library call).
 */
static struct gmem_mmap_region *one_sub(struct gmem_mmap *m,
					const struct gmem_range *rg, unsigned n)
{
	struct gmem_mmap_region *r = NULL;

	for (unsigned i = 0; i < n; i++) {
		struct gmem_mmap_region *ri;

		if (!rg[i].len || wraps(rg[i].gaddr, rg[i].len))
			return NULL;
		ri = find(m, rg[i].gaddr);
		if (!ri || !ri->sub || (r && ri != r) ||
		    rg[i].gaddr + rg[i].len - ri->gpa > ri->size)
			return NULL;
		r = ri;
	}
	return r;
}

static void mmap_unmap_batch(struct gmem *g, const struct gmem_range *r,
			     unsigned n)
{
	struct gmem_mmap *m = container_of(g, struct gmem_mmap, gmem);
	struct gmem_mmap_region *one = one_sub(m, r, n);

	if (one) {
		gmem_unmap_batch(one->sub, r, n);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		delegate_pieces(m, &r[i], false, UINT64_MAX, NULL);
}

static int mmap_map_batch(struct gmem *g, const struct gmem_range *r,
			  unsigned n)
{
	struct gmem_mmap *m = container_of(g, struct gmem_mmap, gmem);
	struct gmem_mmap_region *one = one_sub(m, r, n);
	uint64_t failed_at = 0;
	unsigned i;
	int ret;

	if (one)
		return gmem_map_batch(one->sub, r, n);
	for (i = 0; i < n; i++) {
		ret = delegate_pieces(m, &r[i], true, UINT64_MAX, &failed_at);
		if (ret < 0)
			goto err_unmap;
	}
	return 0;

err_unmap:
	/* Nothing may stay mapped: this range up to the failure, then the
	 * ranges before it. */
	delegate_pieces(m, &r[i], false, failed_at, NULL);
	mmap_unmap_batch(g, r, i);
	return ret;
}

/* Hand the release to the delegated region translate passed it to, with
 * the length cut the same way. */
static void mmap_release(struct gmem *g, uint64_t gaddr, uint64_t len,
			 uint32_t access)
{
	struct gmem_mmap *m = container_of(g, struct gmem_mmap, gmem);
	struct gmem_mmap_region *r;
	uint64_t left;

	if (!len || wraps(gaddr, len))
		return;
	r = find(m, gaddr);
	if (!r || !r->sub)
		return;
	left = r->gpa + r->size - gaddr;
	gmem_release(r->sub, gaddr, len > left ? left : len, access);
}

static const struct gmem_ops gmem_mmap_ops = {
	.translate = mmap_translate,
	.map_batch = mmap_map_batch,
	.unmap_batch = mmap_unmap_batch,
	.release = mmap_release,
};

/* After every table change: is any region delegated (lazily mapped)? */
static void table_changed(struct gmem_mmap *m)
{
	bool direct = true;

	for (unsigned i = 0; i < m->n; i++)
		direct &= m->r[i].sub == NULL;
	m->gmem.direct = direct;
	m->gmem.win_len = 0;
	m->last = 0;
}

void gmem_mmap_init(struct gmem_mmap *m)
{
	memset(m, 0, sizeof(*m));
	m->gmem.ops = &gmem_mmap_ops;
	table_changed(m);
}

static int describe(struct gmem_mmap_region *r, uint64_t gpa, uint64_t size,
		    uint64_t uva)
{
	memset(r, 0, sizeof(*r));
	if (!size)
		return -EINVAL;
	if (wraps(gpa, size) || wraps(uva, size))
		return -EOVERFLOW;
	r->gpa = gpa;
	r->size = size;
	r->uva = uva;
	return 0;
}

static int check_file_size(int fd, uint64_t end)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) &&
	    (st.st_size < 0 || end > (uint64_t)st.st_size))
		return -ERANGE;
	return 0;
}

/*
 * A file that shrinks under a mapping turns our next access into SIGBUS,
 * which would take every device of the process down. Seal the front-end's
 * memfd against shrinking where it allows sealing (QEMU's memory-backend-
 * memfd seals it itself); other files stay a documented limit.
 */
static void seal_shrink(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0 || (seals & F_SEAL_SHRINK))
		return;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		log_debug("guest memory fd %d cannot be sealed against "
			  "shrinking: %s",
			  fd, strerror(errno));
}

int gmem_mmap_region_map(struct gmem_mmap_region *r, uint64_t gpa,
			 uint64_t size, uint64_t uva, int fd,
			 uint64_t mmap_offset)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t delta = mmap_offset % page;
	void *base;
	int ret;

	ret = describe(r, gpa, size, uva);
	if (ret < 0)
		return ret;
	if (wraps(mmap_offset, size))
		return -EOVERFLOW;
	if (size > SIZE_MAX - delta || mmap_offset - delta > INT64_MAX)
		return -EINVAL;
	/* Host and guest addresses must agree within a page, or an aligned
	 * ring in guest memory is a misaligned one in ours. */
	if (delta != gpa % page)
		return -EINVAL;
	seal_shrink(fd);
	ret = check_file_size(fd, mmap_offset + size);
	if (ret < 0)
		return ret;
	base = mmap(NULL, (size_t)(size + delta), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE, fd,
		    (off_t)(mmap_offset - delta));
	if (base == MAP_FAILED)
		return -errno;
	r->map_base = base;
	r->map_len = (size_t)(size + delta);
	r->hva = (uint8_t *)base + delta;
	return 0;
}

int gmem_mmap_region_delegate(struct gmem_mmap_region *r, uint64_t gpa,
			      uint64_t size, uint64_t uva, struct gmem *sub)
{
	int ret = describe(r, gpa, size, uva);

	if (ret == 0)
		r->sub = sub;
	return ret;
}

void gmem_mmap_region_unmap(struct gmem_mmap_region *r)
{
	if (r->map_base && munmap(r->map_base, r->map_len) < 0)
		log_err("gmem: munmap of guest region 0x%llx: %s",
			(unsigned long long)r->gpa, strerror(errno));
	memset(r, 0, sizeof(*r));
}

/* Index where a region starting at gpa belongs. */
static unsigned slot_for(const struct gmem_mmap *m, uint64_t gpa)
{
	unsigned i = 0;

	while (i < m->n && m->r[i].gpa < gpa)
		i++;
	return i;
}

int gmem_mmap_check(const struct gmem_mmap *m, uint64_t gpa, uint64_t size)
{
	unsigned i = slot_for(m, gpa);

	/* Sorted and disjoint: only the neighbours can overlap. */
	if (i > 0 && m->r[i - 1].gpa + m->r[i - 1].size > gpa)
		return -EEXIST;
	if (i < m->n && gpa + size > m->r[i].gpa)
		return -EEXIST;
	if (m->n == GMEM_MMAP_REGIONS_MAX)
		return -ENOSPC;
	return 0;
}

int gmem_mmap_insert(struct gmem_mmap *m, const struct gmem_mmap_region *r)
{
	unsigned i = slot_for(m, r->gpa);
	int ret = gmem_mmap_check(m, r->gpa, r->size);

	if (ret < 0)
		return ret;
	memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(m->r[0]));
	m->r[i] = *r;
	m->n++;
	table_changed(m);
	return 0;
}

int gmem_mmap_take(struct gmem_mmap *m, uint64_t gpa, uint64_t size,
		   uint64_t uva, struct gmem_mmap_region *out)
{
	for (unsigned i = 0; i < m->n; i++) {
		struct gmem_mmap_region *r = &m->r[i];

		if (r->gpa != gpa || r->size != size || r->uva != uva)
			continue;
		*out = *r;
		memmove(r, r + 1, (m->n - i - 1) * sizeof(*r));
		m->n--;
		table_changed(m);
		return 0;
	}
	return -ENOENT;
}

void gmem_mmap_swap(struct gmem_mmap *a, struct gmem_mmap *b)
{
	struct gmem_mmap tmp = *a;

	*a = *b;
	*b = tmp;
	table_changed(a);
	table_changed(b);
}

void gmem_mmap_clear(struct gmem_mmap *m)
{
	for (unsigned i = 0; i < m->n; i++)
		gmem_mmap_region_unmap(&m->r[i]);
	m->n = 0;
	table_changed(m);
}

int gmem_mmap_uva_to_gpa(const struct gmem_mmap *m, uint64_t uva, uint64_t *gpa)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct gmem_mmap_region *r = &m->r[i];

		if (uva >= r->uva && uva - r->uva < r->size) {
			*gpa = r->gpa + (uva - r->uva);
			return 0;
		}
	}
	return -EFAULT;
}
