// SPDX-License-Identifier: MIT
#include "fake_xen_sys.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE XEN_SYS_PAGE

struct fake_xen *fake_xen_current;

static struct fake_xen *fx_of(struct xen_sys *s)
{
	return (struct fake_xen *)((char *)s - offsetof(struct fake_xen, sys));
}

/* Map the given guest pages one after the other; NULL on failure. */
static void *map_pages(struct fake_xen *x, const uint32_t *pages, uint32_t n,
		       const bool *skip, int prot)
{
	uint8_t *base = mmap(NULL, (size_t)n * PAGE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		if (skip && skip[i])
			continue;
		if (mmap(base + (size_t)i * PAGE, PAGE, prot,
			 MAP_SHARED | MAP_FIXED, x->memfd,
			 (off_t)pages[i] * PAGE) == MAP_FAILED) {
			munmap(base, (size_t)n * PAGE);
			return NULL;
		}
	}
	return base;
}

static int remember(struct fake_xen *x, void *addr, uint32_t n, int prot,
		    bool foreign)
{
	if (x->nlive == FAKE_XEN_LIVE) {
		munmap(addr, (size_t)n * PAGE);
		return -ENOMEM;
	}
	x->live[x->nlive++] = (struct fake_xen_map){addr, n, prot, foreign};
	return 0;
}

static int forget(struct fake_xen *x, void *addr, uint32_t n, bool foreign)
{
	for (unsigned i = 0; i < x->nlive; i++) {
		if (x->live[i].addr != addr || x->live[i].pages != n ||
		    x->live[i].foreign != foreign)
			continue;
		munmap(addr, (size_t)n * PAGE);
		x->live[i] = x->live[--x->nlive];
		return 0;
	}
	x->bad_unmaps++;
	return -EINVAL;
}

static int fx_gnt_map(struct xen_sys *s, uint32_t domid, uint32_t count,
		      uint32_t *refs, int prot, void **addr)
{
	struct fake_xen *x = fx_of(s);
	uint32_t *pages;
	void *a;

	x->gnt_map_calls++;
	x->last_prot = prot;
	x->last_count = count;
	for (uint32_t i = 0; i < count && i < 64; i++)
		x->last_refs[i] = refs[i];
	if (domid != x->domid)
		return -ESRCH;
	pages = calloc(count, sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		const struct fake_xen_grant *g =
			refs[i] < FAKE_XEN_GREFS ? &x->grant[refs[i]] : NULL;

		/* gntdev: a ref not granted, or granted read-only and
		 * mapped writable, fails the whole call. */
		if (!g || !g->granted || (g->ro && (prot & PROT_WRITE))) {
			free(pages);
			return -EINVAL;
		}
		pages[i] = g->page;
	}
	a = map_pages(x, pages, count, NULL, prot);
	free(pages);
	if (!a)
		return -ENOMEM;
	x->gnt_pages += count;
	*addr = a;
	return remember(x, a, count, prot, false);
}

static int fx_gnt_unmap(struct xen_sys *s, void *addr, uint32_t count)
{
	struct fake_xen *x = fx_of(s);

	x->gnt_unmap_calls++;
	return forget(x, addr, count, false);
}

static int fx_gnt_copy(struct xen_sys *s, uint32_t domid,
		       struct xen_sys_copy *c, uint32_t count)
{
	struct fake_xen *x = fx_of(s);

	x->gnt_copy_calls++;
	if (domid != x->domid)
		return -ESRCH;
	if (x->gnt_copy_error)
		return x->gnt_copy_error;
	if (count > XEN_SYS_COPY_MAX)
		return -E2BIG;
	for (uint32_t i = 0; i < count; i++)
		if (!c[i].len || c[i].offset + c[i].len > PAGE)
			return -EINVAL;
	for (uint32_t i = 0; i < count; i++) {
		const struct fake_xen_grant *g =
			c[i].ref < FAKE_XEN_GREFS ? &x->grant[c[i].ref] : NULL;
		uint8_t *page;

		if (!g) {
			c[i].status = -3; /* GNTST_bad_gntref */
			continue;
		}
		if (!g->granted || (g->ro && c[i].to_guest)) {
			c[i].status = -1; /* GNTST_general_error */
			continue;
		}
		page = fake_xen_page(x, g->page) + c[i].offset;
		if (c[i].to_guest) {
			memcpy(page, c[i].buf, c[i].len);
			x->gnt_copy_out++;
		} else {
			memcpy(c[i].buf, page, c[i].len);
			x->gnt_copy_in++;
		}
		c[i].status = 0;
	}
	return 0;
}

static int fx_fm_map(struct xen_sys *s, uint32_t domid, size_t pages,
		     const uint64_t *frames, int *err, void **addr)
{
	struct fake_xen *x = fx_of(s);
	uint32_t *pg = calloc(pages, sizeof(*pg));
	bool *skip = calloc(pages, sizeof(*skip));
	void *a = NULL;

	x->fm_map_calls++;
	x->last_count = (uint32_t)pages;
	if (!pg || !skip || domid != x->domid || x->fm_error) {
		free(pg);
		free(skip);
		return x->fm_error	   ? x->fm_error
		       : domid != x->domid ? -ESRCH
					   : -ENOMEM;
	}
	for (size_t i = 0; i < pages; i++) {
		skip[i] = frames[i] >= x->npages || x->hole[frames[i]];
		err[i] = skip[i] ? -EINVAL : 0;
		pg[i] = skip[i] ? 0 : (uint32_t)frames[i];
	}
	a = map_pages(x, pg, (uint32_t)pages, skip, PROT_READ | PROT_WRITE);
	free(pg);
	free(skip);
	if (!a)
		return -ENOMEM;
	x->fm_pages += pages;
	*addr = a;
	return remember(x, a, (uint32_t)pages, PROT_READ | PROT_WRITE, true);
}

static int fx_fm_unmap(struct xen_sys *s, void *addr, size_t pages)
{
	struct fake_xen *x = fx_of(s);

	x->fm_unmap_calls++;
	return forget(x, addr, (uint32_t)pages, true);
}

static void fx_close(struct xen_sys *s)
{
	fx_of(s)->closes++;
}

static const struct xen_sys_ops fx_ops = {
	.gnt_map = fx_gnt_map,
	.gnt_unmap = fx_gnt_unmap,
	.gnt_copy = fx_gnt_copy,
	.fm_map = fx_fm_map,
	.fm_unmap = fx_fm_unmap,
	.close = fx_close,
};

int fake_xen_init(struct fake_xen *x, uint32_t npages)
{
	memset(x, 0, sizeof(*x));
	x->sys.ops = &fx_ops;
	x->domid = 1;
	x->npages = npages;
	x->memfd = memfd_create("fake-xen-guest", 0);
	if (x->memfd < 0)
		return -errno;
	if (ftruncate(x->memfd, (off_t)npages * PAGE) < 0)
		goto err_close;
	x->mem = mmap(NULL, (size_t)npages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, x->memfd, 0);
	if (x->mem == MAP_FAILED)
		goto err_close;
	x->hole = calloc(npages, sizeof(*x->hole));
	if (!x->hole) {
		munmap(x->mem, (size_t)npages * PAGE);
		errno = ENOMEM;
		goto err_close;
	}
	return 0;

err_close:
	close(x->memfd);
	return -errno;
}

void fake_xen_fini(struct fake_xen *x)
{
	while (x->nlive)
		forget(x, x->live[0].addr, x->live[0].pages,
		       x->live[0].foreign);
	munmap(x->mem, (size_t)x->npages * PAGE);
	close(x->memfd);
	free(x->hole);
}

void fake_xen_grant(struct fake_xen *x, uint32_t gref, uint32_t page, bool ro)
{
	x->grant[gref] = (struct fake_xen_grant){true, ro, page};
}

void fake_xen_revoke(struct fake_xen *x, uint32_t gref)
{
	x->grant[gref].granted = false;
}

uint8_t *fake_xen_page(struct fake_xen *x, uint32_t page)
{
	return x->mem + (size_t)page * PAGE;
}

unsigned fake_xen_live(const struct fake_xen *x, bool foreign)
{
	unsigned n = 0;

	for (unsigned i = 0; i < x->nlive; i++)
		n += x->live[i].foreign == foreign;
	return n;
}

int fake_xen_open(struct xen_sys **out, unsigned what)
{
	(void)what;
	if (!fake_xen_current)
		return -ENODEV;
	fake_xen_current->opens++;
	*out = &fake_xen_current->sys;
	return 0;
}
