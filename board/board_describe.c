// SPDX-License-Identifier: MIT
/* "virtiobox check": what a loaded board file would serve, in words. */
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "models.h"

static void describe_chip(const struct board_chip *c, FILE *out)
{
	if (c->kind == BOARD_CHIP_24C02)
		fprintf(out, "      chip 0x%02x: 24c02 EEPROM, 256 bytes",
			c->address);
	else
		fprintf(out, "      chip 0x%02x: register file, %u registers",
			c->address, c->size);
	if (c->ninit)
		fprintf(out, ", %u initial bytes", c->ninit);
	fputc('\n', out);
}

static void describe_i2c(const struct board_i2c *i2c, FILE *out)
{
	if (i2c->is_sim)
		fprintf(out, "      bus: simulated chips\n");
	else
		fprintf(out, "      bus: host adapter %s%s\n", i2c->bus,
			i2c->shared ? " (shared with other devices)" : "");
	fprintf(out, "      max_transfer: %u bytes per transaction\n",
		i2c->max_transfer);
	fprintf(out, "      allow-list:");
	for (unsigned i = 0; i < i2c->naddresses; i++)
		fprintf(out, " 0x%02x", i2c->addresses[i]);
	fputc('\n', out);
	for (unsigned i = 0; i < i2c->nchips; i++)
		describe_chip(&i2c->chips[i], out);
}

static void describe_gpio(const struct board_gpio *gpio, FILE *out)
{
	if (gpio->is_sim)
		fprintf(out, "      chip: %u simulated lines", gpio->nlines);
	else
		fprintf(out, "      chip: host chip %s, %u lines", gpio->chip,
			gpio->nlines);
	fprintf(out, ", interrupts %s\n", gpio->irq ? "offered" : "off");
	if (gpio->control)
		fprintf(out, "      control socket: %s\n", gpio->control);
	for (unsigned i = 0; i < gpio->nlines; i++) {
		fprintf(out, "      line %u", i);
		if (!gpio->is_sim)
			fprintf(out, ": host line %u", gpio->offsets[i]);
		else
			fprintf(out, ": %s, %u",
				gpio->outputs[i] ? "output" : "input",
				gpio->values[i]);
		if (gpio->names[i])
			fprintf(out, ", \"%s\"", gpio->names[i]);
		fputc('\n', out);
	}
}

static void describe_vsock(const struct board_vsock *v, FILE *out)
{
	fprintf(out, "      guest CID %llu, host listener %s\n",
		(unsigned long long)v->cid, v->uds);
	fprintf(out, "      guest connections to the host reach %s_<port>\n",
		v->uds);
	if (v->group)
		fprintf(out, "      sibling group \"%s\"\n", v->group);
	else
		fprintf(out, "      no sibling group: the host only\n");
	fprintf(out, "      limits: %u connections, %u buffer bytes each way\n",
		v->max_conns, v->buf_size);
}

static void describe_device(const struct board_device *d, FILE *out)
{
	const struct model *m = models_find(d->type);
	unsigned id = m ? m->ops->device_id : 0;

	fprintf(out, "    %s: virtio-%s (device id %u)", d->name, d->type, id);
	if (d->socket)
		fprintf(out, ", vhost-user socket %s", d->socket);
	else
		fprintf(out,
			", virtio-mmio through IOREQ for the guest's next "
			"xl.cfg entry \"type=virtio,device%x, "
			"transport=mmio\"",
			id);
	fprintf(out, ", %s\n",
		d->packed ? "packed and split rings offered"
			  : "split ring only");
	if (!strcmp(d->type, "i2c"))
		describe_i2c(&d->i2c, out);
	else if (!strcmp(d->type, "gpio"))
		describe_gpio(&d->gpio, out);
	else if (!strcmp(d->type, "vsock"))
		describe_vsock(&d->vsock, out);
}

static void describe_guest(const struct board_guest *g, FILE *out)
{
	fprintf(out, "  guest");
	if (g->domain)
		fprintf(out, " \"%s\"", g->domain);
	if (g->domid >= 0)
		fprintf(out, " domid %d", g->domid);
	fprintf(out, ", transport %s", board_transport_name(g->transport));
	if (g->transport == BOARD_TRANSPORT_XEN_MMIO)
		fprintf(out, ": virtiobox is its virtio-mmio transport, served "
			     "when xenstore shows the domain's virtio devices "
			     "(now or later, again after a reboot)");
	if (g->foreign_cache)
		fprintf(out, "; foreign mappings: %u cached per device",
			g->foreign_cache);
	fputc('\n', out);
	for (unsigned d = 0; d < g->ndevices; d++)
		describe_device(&g->devices[d], out);
}

unsigned board_describe(const struct board_config *cfg, FILE *out)
{
	unsigned devices = 0, xen = 0;

	fprintf(out, "board \"%s\" (%s)\n", cfg->name ? cfg->name : "",
		cfg->file);
	for (unsigned g = 0; g < cfg->nguests; g++) {
		describe_guest(&cfg->guests[g], out);
		devices += cfg->guests[g].ndevices;
		if (cfg->guests[g].transport == BOARD_TRANSPORT_XEN_MMIO)
			xen++;
	}
	fprintf(out, "valid: %u guest(s), %u device(s) would be served",
		cfg->nguests, devices);
	if (xen)
		fprintf(out,
			"; %u xen-mmio guest(s) need Xen with IOREQ servers "
			"and root in dom0 (or a driver domain made their "
			"device model)",
			xen);
	fputc('\n', out);
	return devices;
}
