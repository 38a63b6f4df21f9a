// SPDX-License-Identifier: MIT
/*
 * Builds the running board from its description: host buses, device
 * models, one vhost-user server per device of a vhost-user guest, and the
 * Xen transport (board_xen.c) for the xen-mmio guests.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "board_xen.h"
#include "gpio.h"
#include "gpio_sim_ctl.h"
#include "i2c.h"
#include "log.h"
#include "models.h"
#include "vhost_user.h"
#include "vsock.h"
#include "xen_caps.h"
#include "xen_vhu_mapper.h"

/* One served device: its model and its transport. */
struct board_entry {
	char name[144]; /* "guest/device", for log lines */
	struct i2c_dev *i2c;
	struct gpio_dev *gpio;
	struct gpio_sim_ctl *ctl; /* simulated gpio lines' control socket */
	struct vsock_dev *vsock;
	struct vhu_server *server;
};

struct board {
	const struct board_config *cfg;
	unsigned n;
	struct board_entry *entries;
	struct virtio_dev **vdevs; /* per entry; NULL for vhost-user ones */
	struct board_xen *xen;
	/* XEN_MMAP regions, for every vhost-user server; NULL when the Xen
	 * grant and foreign devices are not usable here */
	struct vhu_region_mapper *xen_mapper;
};

/* Where a device was declared, for messages. */
struct where {
	const struct board_src *src;
	unsigned g, d;
	unsigned flat; /* index over every guest's devices */
};

static void guest_label(const struct board_guest *g, char *buf, size_t len)
{
	if (g->domain)
		snprintf(buf, len, "%s", g->domain);
	else
		snprintf(buf, len, "domid%d", g->domid);
}

static enum i2c_sim_kind sim_kind(enum board_chip_kind k)
{
	return k == BOARD_CHIP_REGS ? I2C_SIM_REGS : I2C_SIM_24C02;
}

static int build_sim_bus(const struct board_i2c *cfg, struct where w,
			 struct i2c_bus **out)
{
	int ret = i2c_sim_create(out);

	for (unsigned i = 0; !ret && i < cfg->nchips; i++) {
		const struct board_chip *c = &cfg->chips[i];
		struct i2c_sim_chip_desc desc = {
			.kind = sim_kind(c->kind),
			.addr = c->address,
			.size = c->size,
			.init = c->init,
			.ninit = c->ninit,
		};

		ret = i2c_sim_add_chip(*out, &desc);
		if (ret) {
			log_err("%s:%u: guests[%u].devices[%u].chips[%u]: "
				"cannot create the chip: %s",
				c->src.file, c->src.line, w.g, w.d, i,
				strerror(-ret));
			i2c_bus_destroy(*out);
		}
	}
	return ret;
}

static int build_bus(const struct board_i2c *cfg, struct where w,
		     struct i2c_bus **out)
{
	int ret;

	if (cfg->is_sim)
		return build_sim_bus(cfg, w, out);
	ret = i2c_hostdev_open(out, cfg->bus);
	if (ret)
		log_err("%s:%u: guests[%u].devices[%u].bus: cannot use %s: %s",
			cfg->bus_src.file, cfg->bus_src.line, w.g, w.d,
			cfg->bus, strerror(-ret));
	return ret;
}

static int build_i2c(struct board_entry *e, const struct board_device *dev,
		     struct where w)
{
	struct i2c_dev_params p = {
		.name = e->name,
		.addresses = dev->i2c.addresses,
		.naddresses = dev->i2c.naddresses,
		.max_transfer = dev->i2c.max_transfer,
	};
	uint64_t packed = dev->packed ? 1ull << VIRTIO_F_RING_PACKED : 0;
	int ret = build_bus(&dev->i2c, w, &p.bus);

	if (ret)
		return ret;
	ret = i2c_dev_create(&e->i2c, &p, packed);
	if (ret) {
		log_err("%s:%u: guests[%u].devices[%u]: cannot create the "
			"device: %s",
			w.src->file, w.src->line, w.g, w.d, strerror(-ret));
		i2c_bus_destroy(p.bus);
	}
	return ret;
}

static int build_gpio_lines(const struct board_gpio *cfg, struct where w,
			    struct gpio_lines **out)
{
	struct gpio_sim_line_desc desc[BOARD_GPIO_LINES_MAX];
	char err[160];
	int ret;

	if (cfg->is_sim) {
		for (unsigned i = 0; i < cfg->nlines; i++)
			desc[i] = (struct gpio_sim_line_desc){
				.dir = cfg->outputs[i] ? GPIO_LINE_DIR_OUT
						       : GPIO_LINE_DIR_IN,
				.value = cfg->values[i],
			};
		ret = gpio_sim_create(out, cfg->nlines, desc);
		if (ret)
			log_err("%s:%u: guests[%u].devices[%u].lines: cannot "
				"create the simulated lines: %s",
				cfg->lines_src.file, cfg->lines_src.line, w.g,
				w.d, strerror(-ret));
		return ret;
	}
	ret = gpio_hostdev_open(out, cfg->chip, cfg->offsets, cfg->nlines, err,
				sizeof(err));
	if (ret)
		log_err("%s:%u: guests[%u].devices[%u].lines: %s",
			cfg->lines_src.file, cfg->lines_src.line, w.g, w.d,
			err[0] ? err : strerror(-ret));
	return ret;
}

static int build_gpio(struct board_entry *e, const struct board_device *dev,
		      struct where w, struct loop *ctl)
{
	struct gpio_dev_params p = {
		.name = e->name,
		.names = (const char *const *)dev->gpio.names,
		.no_irq = !dev->gpio.irq,
	};
	uint64_t packed = dev->packed ? 1ull << VIRTIO_F_RING_PACKED : 0;
	int ret = build_gpio_lines(&dev->gpio, w, &p.lines);

	if (ret)
		return ret;
	ret = gpio_dev_create(&e->gpio, &p, packed);
	if (ret) {
		log_err("%s:%u: guests[%u].devices[%u]: cannot create the "
			"device: %s",
			w.src->file, w.src->line, w.g, w.d, strerror(-ret));
		gpio_lines_destroy(p.lines);
		return ret;
	}
	if (!dev->gpio.control)
		return 0;
	ret = gpio_sim_ctl_create(&e->ctl, ctl, dev->gpio.control, p.lines);
	if (ret) {
		log_err("%s:%u: guests[%u].devices[%u].control: cannot listen "
			"on %s: %s",
			dev->gpio.control_src.file, dev->gpio.control_src.line,
			w.g, w.d, dev->gpio.control, strerror(-ret));
		gpio_dev_destroy(e->gpio);
		e->gpio = NULL;
	}
	return ret;
}

/* The guest's siblings: the vsock devices of its group in other guests. */
static unsigned siblings(const struct board_config *cfg,
			 const struct board_vsock *v, struct vsock_sibling *out)
{
	unsigned n = 0;

	if (!v->group)
		return 0;
	for (unsigned g = 0; g < cfg->nguests; g++)
		for (unsigned d = 0; d < cfg->guests[g].ndevices; d++) {
			const struct board_device *o =
				&cfg->guests[g].devices[d];

			if (strcmp(o->type, "vsock") || &o->vsock == v ||
			    !o->vsock.group || strcmp(o->vsock.group, v->group))
				continue;
			if (n < VSOCK_DEV_SIBLINGS_MAX)
				out[n++] = (struct vsock_sibling){
					.cid = o->vsock.cid,
					.uds = o->vsock.uds,
					.uds_seq = o->vsock.uds_seq,
				};
		}
	return n;
}

static int build_vsock(struct board *b, struct board_entry *e,
		       const struct board_device *dev, struct where w)
{
	struct vsock_sibling sib[VSOCK_DEV_SIBLINGS_MAX];
	struct vsock_dev_params p = {
		.name = e->name,
		.cid = dev->vsock.cid,
		.uds = dev->vsock.uds,
		.uds_seq = dev->vsock.uds_seq,
		.max_conns = dev->vsock.max_conns,
		.buf_size = dev->vsock.buf_size,
		.siblings = sib,
	};
	uint64_t packed = dev->packed ? 1ull << VIRTIO_F_RING_PACKED : 0;
	int ret;

	p.nsiblings = siblings(b->cfg, &dev->vsock, sib);
	ret = vsock_dev_create(&e->vsock, &p, packed);
	if (ret)
		log_err("%s:%u: guests[%u].devices[%u].uds: cannot listen on "
			"%s: %s",
			dev->vsock.uds_src.file, dev->vsock.uds_src.line, w.g,
			w.d, dev->vsock.uds, strerror(-ret));
	return ret;
}

static struct virtio_dev *entry_virtio(struct board_entry *e)
{
	if (e->vsock)
		return vsock_dev_virtio(e->vsock);
	return e->gpio ? gpio_dev_virtio(e->gpio) : i2c_dev_virtio(e->i2c);
}

static void entry_destroy_model(struct board_entry *e)
{
	vsock_dev_destroy(e->vsock);
	e->vsock = NULL;
	gpio_sim_ctl_destroy(e->ctl);
	gpio_dev_destroy(e->gpio);
	i2c_dev_destroy(e->i2c);
	e->ctl = NULL;
	e->gpio = NULL;
	e->i2c = NULL;
}

static int build_entry(struct board *b, struct board_entry *e, struct loop *ctl,
		       struct where w)
{
	const struct board_guest *g = &b->cfg->guests[w.g];
	const struct board_device *dev = &g->devices[w.d];
	struct vhu_server_opts o = {
		.socket_path = dev->socket,
		.name = e->name,
		.offer_packed = dev->packed,
		.offer_xen_mmap = b->xen_mapper != NULL,
		.xen_mapper = b->xen_mapper,
	};
	char guest[80];
	int ret;

	guest_label(g, guest, sizeof(guest));
	snprintf(e->name, sizeof(e->name), "%s/%s", guest, dev->name);
	if (!models_find(dev->type)) {
		log_err("%s:%u: guests[%u].devices[%u].type: no model serves "
			"\"%s\"",
			w.src->file, w.src->line, w.g, w.d, dev->type);
		return -ENOTSUP;
	}
	if (!strcmp(dev->type, "gpio"))
		ret = build_gpio(e, dev, w, ctl);
	else if (!strcmp(dev->type, "vsock"))
		ret = build_vsock(b, e, dev, w);
	else
		ret = build_i2c(e, dev, w);
	if (ret)
		return ret;
	if (g->transport == BOARD_TRANSPORT_XEN_MMIO) {
		b->vdevs[w.flat] = entry_virtio(e);
		return 0;
	}
	/* vhu_server_create logs its own failures, naming the socket. */
	ret = vhu_server_create(&e->server, ctl, entry_virtio(e), &o);
	if (ret)
		entry_destroy_model(e);
	return ret;
}

static bool has_xen_guests(const struct board_config *cfg)
{
	for (unsigned g = 0; g < cfg->nguests; g++)
		if (cfg->guests[g].transport == BOARD_TRANSPORT_XEN_MMIO)
			return true;
	return false;
}

/*
 * Offer XEN_MMAP over vhost-user when this domain can map Xen guests'
 * memory both ways (/dev/xen/gntdev and /dev/xen/privcmd open).
 */
static int board_xen_mapper(struct board *b)
{
	struct xen_caps caps;
	int ret;

	xen_caps_probe(&caps);
	if (!caps.gnttab || !caps.foreignmemory)
		return 0;
	ret = xen_vhu_mapper_create(&b->xen_mapper, 0);
	if (ret) {
		log_err("cannot set up Xen memory mapping for XEN_MMAP: %s",
			strerror(-ret));
		return ret;
	}
	log_info("Xen grant and foreign mappings available: vhost-user "
		 "servers offer XEN_MMAP and VIRTIO_F_ACCESS_PLATFORM");
	return 0;
}

int board_create(struct board **out, const struct board_config *cfg,
		 struct loop *ctl)
{
	struct board *b;
	unsigned total = 0;
	int ret;

	for (unsigned g = 0; g < cfg->nguests; g++)
		total += cfg->guests[g].ndevices;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cfg = cfg;
	b->entries = calloc(total ? total : 1, sizeof(*b->entries));
	b->vdevs = calloc(total ? total : 1, sizeof(*b->vdevs));
	if (!b->entries || !b->vdevs) {
		board_destroy(b);
		return -ENOMEM;
	}
	ret = board_xen_mapper(b);
	if (ret) {
		board_destroy(b);
		return ret;
	}
	for (unsigned g = 0; g < cfg->nguests; g++) {
		for (unsigned d = 0; d < cfg->guests[g].ndevices; d++) {
			struct where w = {&cfg->guests[g].devices[d].src, g, d,
					  b->n};

			ret = build_entry(b, &b->entries[b->n], ctl, w);
			if (ret) {
				board_destroy(b);
				return ret;
			}
			b->n++;
		}
	}
	if (has_xen_guests(cfg)) {
		ret = board_xen_create(&b->xen, cfg, b->vdevs, ctl);
		if (ret) {
			board_destroy(b);
			return ret;
		}
	}
	*out = b;
	return 0;
}

/* What a device did, once its data path has stopped (exact counters). */
static void log_stats(const struct board_entry *e)
{
	struct gpio_dev_stats gs;
	struct i2c_dev_stats st;
	struct vsock_dev_stats vs;

	if (e->vsock) {
		vsock_dev_get_stats(e->vsock, &vs);
		log_info("%s: connections: %llu from the guest, %llu to it, "
			 "%llu refused; %llu bytes to the host, %llu to the "
			 "guest; %llu packets dropped, %llu malformed, %llu "
			 "RSTs sent",
			 e->name, (unsigned long long)vs.conns_guest,
			 (unsigned long long)vs.conns_host,
			 (unsigned long long)vs.refused,
			 (unsigned long long)vs.bytes_to_host,
			 (unsigned long long)vs.bytes_to_guest,
			 (unsigned long long)vs.dropped,
			 (unsigned long long)vs.malformed,
			 (unsigned long long)vs.rst_sent);
		return;
	}

	if (e->gpio) {
		gpio_dev_get_stats(e->gpio, &gs);
		log_info("%s: %llu requests (%llu malformed, %llu refused by "
			 "the host); interrupts: %llu delivered, %llu buffers "
			 "returned unused",
			 e->name, (unsigned long long)gs.requests,
			 (unsigned long long)gs.malformed,
			 (unsigned long long)gs.host_errors,
			 (unsigned long long)gs.irqs,
			 (unsigned long long)gs.invalid);
		return;
	}
	if (!e->i2c)
		return;
	i2c_dev_get_stats(e->i2c, &st);
	log_info("%s: %llu requests in %llu transactions; refused: %llu off "
		 "the allow-list, %llu malformed, %llu over max_transfer; "
		 "%llu failed on the bus",
		 e->name, (unsigned long long)st.requests,
		 (unsigned long long)st.transactions,
		 (unsigned long long)st.refused,
		 (unsigned long long)st.malformed,
		 (unsigned long long)st.oversize,
		 (unsigned long long)st.bus_errors);
}

void board_destroy(struct board *b)
{
	if (!b)
		return;
	/* Transports first: no data path may run on a destroyed model. */
	board_xen_destroy(b->xen);
	for (unsigned i = 0; i < b->n; i++)
		vhu_server_destroy(b->entries[i].server);
	for (unsigned i = 0; i < b->n; i++) {
		log_stats(&b->entries[i]);
		entry_destroy_model(&b->entries[i]);
	}
	xen_vhu_mapper_destroy(b->xen_mapper);
	free(b->vdevs);
	free(b->entries);
	free(b);
}

unsigned board_device_count(const struct board *b)
{
	return b->n;
}
