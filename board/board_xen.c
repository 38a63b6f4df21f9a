// SPDX-License-Identifier: MIT
#include "board_xen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "models.h"
#include "xen_discover.h"
#include "xen_guest.h"

/* One xen-mmio guest of the board, and the domain serving as it now. */
struct bx_guest {
	const struct board_guest *cfg;
	struct virtio_dev *const *vdev; /* cfg->ndevices models */
	struct xen_guest *xg;		/* NULL while no domain is served */
	unsigned devid[BOARD_XEN_MMIO_DEVICES_MAX];
};

struct board_xen {
	struct xen_discover_client client;
	const struct board_config *cfg;
	struct xen_discover *disc;
	struct bx_guest *guest; /* cfg->nguests, unused for vhost-user */
	uint32_t *used;		/* bit d of guest g: device given */
};

static const char *type_name(uint32_t device_id, char *buf, size_t len)
{
	for (unsigned i = 0; i < models_count(); i++)
		if (models_table[i].ops->device_id == device_id)
			return models_table[i].type;
	snprintf(buf, len, "virtio device id %u", device_id);
	return buf;
}

static bool guest_matches(const struct board_guest *g,
			  const struct xen_virtio_entry *e)
{
	if (g->transport != BOARD_TRANSPORT_XEN_MMIO)
		return false;
	if (g->domain && strcmp(g->domain, e->domain))
		return false;
	return g->domid < 0 || g->domid == e->domid;
}

int board_xen_match(const struct board_config *cfg,
		    const struct xen_virtio_entry *e, unsigned *g, unsigned *d)
{
	for (unsigned i = 0; i < cfg->nguests; i++) {
		const struct board_guest *guest = &cfg->guests[i];
		unsigned rank = 0;

		if (!guest_matches(guest, e))
			continue;
		*g = i;
		for (unsigned j = 0; j < guest->ndevices; j++) {
			const struct model *m =
				models_find(guest->devices[j].type);

			if (!m || m->ops->device_id != e->device_id)
				continue;
			if (rank++ == e->rank) {
				*d = j;
				return 0;
			}
		}
		return -ENODEV;
	}
	return -ENOENT;
}

static void entry_label(const struct xen_virtio_entry *e, char *buf, size_t len)
{
	snprintf(buf, len, "domain %u (%s) virtio device %u", e->domid,
		 *e->domain ? e->domain : "no name", e->devid);
}

static int refuse(const struct xen_virtio_entry *e, int why)
{
	char label[128], tbuf[32];
	const char *type = type_name(e->device_id, tbuf, sizeof(tbuf));

	entry_label(e, label, sizeof(label));
	if (why == -ENOENT)
		log_info("%s (%s): the board file has no xen-mmio guest for "
			 "this domain: ignored",
			 label, type);
	else
		log_info("%s (%s): the board file gives this guest no (more) "
			 "%s devices: ignored",
			 label, type, type);
	return why;
}

static int start_guest(struct bx_guest *bg, const struct xen_virtio_entry *e)
{
	char label[96];

	snprintf(label, sizeof(label), "%s (domain %u)",
		 *e->domain ? e->domain : "guest", e->domid);
	return xen_guest_create(&bg->xg, e->domid, label);
}

static int bx_attach(struct xen_discover_client *c,
		     const struct xen_virtio_entry *e)
{
	struct board_xen *x = container_of(c, struct board_xen, client);
	struct xen_guest_dev_params p;
	struct bx_guest *bg;
	char name[144], label[128];
	unsigned g, d;
	int ret = board_xen_match(x->cfg, e, &g, &d);

	if (ret)
		return refuse(e, ret);
	bg = &x->guest[g];
	/* The previous incarnation of a rebooted guest goes first. */
	if (bg->xg && xen_guest_domid(bg->xg) != e->domid)
		return -EAGAIN;
	snprintf(name, sizeof(name), "%s/%s", e->domain,
		 bg->cfg->devices[d].name);
	entry_label(e, label, sizeof(label));
	if (x->used[g] & (1u << d)) {
		log_warn("%s: %s: the device is served as virtio device %u "
			 "already: ignored",
			 name, label, bg->devid[d]);
		return -EBUSY;
	}
	if (!bg->xg && (ret = start_guest(bg, e))) {
		log_err("%s: %s not served (see above)", name, label);
		return ret;
	}
	p = (struct xen_guest_dev_params){
		.devid = e->devid,
		.base = e->base,
		.irq = e->irq,
		.grant = e->grant,
		.fcache = bg->cfg->foreign_cache,
		.dev = bg->vdev[d],
		.name = name,
	};
	ret = xen_guest_add(bg->xg, &p);
	if (ret) {
		log_err("%s: %s not served (see above)", name, label);
		if (!xen_guest_devices(bg->xg)) {
			xen_guest_destroy(bg->xg);
			bg->xg = NULL;
		}
		return ret;
	}
	x->used[g] |= 1u << d;
	bg->devid[d] = e->devid;
	log_info("%s: serving %s: virtio-mmio at 0x%llx, irq %u, guest "
		 "memory through %s",
		 name, label, (unsigned long long)e->base, e->irq,
		 e->grant ? "grants" : "foreign mappings");
	return 0;
}

static void bx_detach(struct xen_discover_client *c, uint16_t domid,
		      unsigned devid)
{
	struct board_xen *x = container_of(c, struct board_xen, client);

	for (unsigned g = 0; g < x->cfg->nguests; g++) {
		struct bx_guest *bg = &x->guest[g];

		if (!bg->xg || xen_guest_domid(bg->xg) != domid)
			continue;
		for (unsigned d = 0; d < bg->cfg->ndevices; d++) {
			if (!(x->used[g] & (1u << d)) || bg->devid[d] != devid)
				continue;
			xen_guest_remove(bg->xg, devid);
			x->used[g] &= ~(1u << d);
		}
		if (!x->used[g]) {
			xen_guest_destroy(bg->xg);
			bg->xg = NULL;
		}
	}
}

static const struct xen_discover_ops bx_ops = {
	.attach = bx_attach,
	.detach = bx_detach,
};

int board_xen_create(struct board_xen **out, const struct board_config *cfg,
		     struct virtio_dev *const *vdevs, struct loop *ctl)
{
	struct board_xen *x = calloc(1, sizeof(*x));
	unsigned flat = 0;
	int ret;

	if (!x)
		return -ENOMEM;
	x->client.ops = &bx_ops;
	x->cfg = cfg;
	x->guest = calloc(cfg->nguests ? cfg->nguests : 1, sizeof(*x->guest));
	x->used = calloc(cfg->nguests ? cfg->nguests : 1, sizeof(*x->used));
	if (!x->guest || !x->used) {
		board_xen_destroy(x);
		return -ENOMEM;
	}
	for (unsigned g = 0; g < cfg->nguests; g++) {
		x->guest[g].cfg = &cfg->guests[g];
		x->guest[g].vdev = &vdevs[flat];
		flat += cfg->guests[g].ndevices;
	}
	ret = xen_discover_create(&x->disc, ctl, &x->client);
	if (ret) {
		board_xen_destroy(x);
		return ret;
	}
	*out = x;
	return 0;
}

void board_xen_destroy(struct board_xen *x)
{
	if (!x)
		return;
	xen_discover_destroy(x->disc); /* detaches what is served */
	for (unsigned g = 0; x->guest && g < x->cfg->nguests; g++)
		xen_guest_destroy(x->guest[g].xg);
	free(x->used);
	free(x->guest);
	free(x);
}
