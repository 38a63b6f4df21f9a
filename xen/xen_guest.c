// SPDX-License-Identifier: MIT
#include "xen_guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev_thread.h"
#include "log.h"
#include "virtio_dev.h"
#include "virtio_mmio.h"
#include "xen_gmem.h"
#include "xen_ioreq.h"

/* A vCPU waits while its ioreq is served: a stuck device is skipped. */
#define XG_PAUSE_MS 1000

struct xg_dev {
	struct xen_ioreq_window win;
	struct vmmio m;
	struct gmem *mem;
	struct xen_guest *g;
	unsigned devid, irq;
	char name[96];
	struct log_ratelimit rl;
};

struct xen_guest {
	uint16_t domid;
	char label[96];
	struct xen_ioreq *srv;
	struct xg_dev *dev[XEN_IOREQ_WINDOWS_MAX];
	unsigned n;
};

static int win_read(struct xen_ioreq_window *w, uint32_t off, unsigned size,
		    uint64_t *val)
{
	struct xg_dev *d = container_of(w, struct xg_dev, win);

	return vmmio_read(&d->m, off, size, val);
}

static int win_write(struct xen_ioreq_window *w, uint32_t off, unsigned size,
		     uint64_t val)
{
	struct xg_dev *d = container_of(w, struct xg_dev, win);

	return vmmio_write(&d->m, off, size, val);
}

/* The guest gave memory back: no foreign mapping may outlive it. */
static void win_invalidate(struct xen_ioreq_window *w)
{
	struct xg_dev *d = container_of(w, struct xg_dev, win);
	struct dev_thread *t = vmmio_thread(&d->m);

	if (dev_thread_pause_within(t,
				    dev_thread_is_stuck(t) ? 0 : XG_PAUSE_MS)) {
		log_msg_ratelimited(&d->rl, LOG_LEVEL_WARN,
				    "%s: data path stuck (in a host call?): "
				    "its foreign mappings are kept past an "
				    "invalidate",
				    d->name);
		return;
	}
	xen_gmem_invalidate(d->mem);
	dev_thread_resume(t);
}

static const struct xen_ioreq_window_ops win_ops = {
	.read = win_read,
	.write = win_write,
	.invalidate = win_invalidate,
};

static void raise_irq(struct vmmio *m)
{
	struct xg_dev *d = container_of(m, struct xg_dev, m);

	xen_ioreq_set_irq(d->g->srv, d->irq);
}

static const struct vmmio_ops vmmio_xen_ops = {.raise_irq = raise_irq};

int xen_guest_create(struct xen_guest **out, uint16_t domid, const char *label)
{
	struct xen_guest *g = calloc(1, sizeof(*g));
	int ret;

	if (!g)
		return -ENOMEM;
	g->domid = domid;
	snprintf(g->label, sizeof(g->label), "%s", label);
	ret = xen_ioreq_create(&g->srv, domid, label);
	if (ret) {
		free(g);
		return ret;
	}
	*out = g;
	return 0;
}

static int make_mem(struct xg_dev *d, const struct xen_guest_dev_params *p)
{
	int ret = p->grant
			  ? xen_gmem_grant_create(&d->mem, d->g->domid, d->name)
			  : xen_gmem_foreign_create(&d->mem, d->g->domid,
						    p->fcache, d->name);

	if (ret)
		log_err("%s: cannot reach the guest's memory through %s: %s",
			d->name, p->grant ? "grants" : "foreign mappings",
			strerror(-ret));
	return ret;
}

int xen_guest_add(struct xen_guest *g, const struct xen_guest_dev_params *p)
{
	struct xg_dev *d;
	int ret;

	if (g->n == XEN_IOREQ_WINDOWS_MAX)
		return -ENOSPC;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->g = g;
	d->devid = p->devid;
	d->irq = p->irq;
	snprintf(d->name, sizeof(d->name), "%s", p->name);
	d->win =
		(struct xen_ioreq_window){&win_ops, p->base, VMMIO_WINDOW_SIZE};
	ret = make_mem(d, p);
	if (ret)
		goto err_free;
	ret = vmmio_init(&d->m, p->dev, d->mem, &vmmio_xen_ops, d->name);
	if (ret) {
		log_err("%s: cannot set up the virtio-mmio device: %s", d->name,
			strerror(-ret));
		goto err_mem;
	}
	ret = xen_ioreq_add(g->srv, &d->win);
	if (ret)
		goto err_vmmio;
	g->dev[g->n++] = d;
	return 0;

err_vmmio:
	vmmio_destroy(&d->m);
err_mem:
	xen_gmem_destroy(d->mem);
err_free:
	free(d);
	return ret;
}

static void remove_dev(struct xen_guest *g, struct xg_dev *d)
{
	xen_ioreq_remove(g->srv, &d->win);
	/* Resets the device: rings stopped and their guest mappings dropped
	 * before the memory goes, and the next guest starts from reset. */
	vmmio_destroy(&d->m);
	xen_gmem_destroy(d->mem);
	free(d);
}

int xen_guest_remove(struct xen_guest *g, unsigned devid)
{
	for (unsigned i = 0; i < g->n; i++) {
		if (g->dev[i]->devid != devid)
			continue;
		remove_dev(g, g->dev[i]);
		g->dev[i] = g->dev[--g->n];
		return 0;
	}
	return -ENOENT;
}

unsigned xen_guest_devices(const struct xen_guest *g)
{
	return g->n;
}

uint16_t xen_guest_domid(const struct xen_guest *g)
{
	return g->domid;
}

void xen_guest_destroy(struct xen_guest *g)
{
	struct xen_ioreq_stats st;

	if (!g)
		return;
	while (g->n)
		remove_dev(g, g->dev[--g->n]);
	xen_ioreq_get_stats(g->srv, &st);
	log_info("%s: %llu register reads, %llu writes, %llu invalidates, "
		 "%llu outside every window, %llu unsupported",
		 g->label, (unsigned long long)st.reads,
		 (unsigned long long)st.writes,
		 (unsigned long long)st.invalidates,
		 (unsigned long long)st.unclaimed, (unsigned long long)st.bad);
	xen_ioreq_destroy(g->srv);
	free(g);
}
