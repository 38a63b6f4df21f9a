// SPDX-License-Identifier: MIT
#include "xen_virtio_entry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE_PREFIX "virtio,device"

static int parse_ull(const char *s, int base, unsigned long long max,
		     unsigned long long *out)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, base);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

int xen_virtio_uint_parse(const char *s, unsigned max, unsigned *out)
{
	unsigned long long v;

	if (parse_ull(s, 10, max, &v))
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int xen_virtio_type_parse(const char *type, uint32_t *device_id)
{
	size_t n = strlen(TYPE_PREFIX);
	unsigned long long v;
	const char *hex;

	if (!type || strncmp(type, TYPE_PREFIX, n))
		return -EINVAL;
	hex = type + n;
	if (!strncmp(hex, "0x", 2) || !strncmp(hex, "0X", 2))
		return -EINVAL;
	if (parse_ull(hex, 16, 0xffffffffull, &v) || !v)
		return -EINVAL;
	*device_id = (uint32_t)v;
	return 0;
}

static int bad(char *why, size_t whylen, const char *fmt, const char *val)
{
	snprintf(why, whylen, fmt, val ? val : "(missing)");
	return -EINVAL;
}

int xen_virtio_entry_parse(struct xen_virtio_entry *e,
			   const struct xen_virtio_strings *s, char *why,
			   size_t whylen)
{
	unsigned long long base;
	unsigned irq, grant = 1;

	if (whylen)
		why[0] = '\0';
	/* libxl writes base as 0x%lx. */
	if (!s->base || strncmp(s->base, "0x", 2) ||
	    parse_ull(s->base + 2, 16, ~0ull - XEN_VIRTIO_WINDOW_SIZE, &base) ||
	    base % XEN_VIRTIO_WINDOW_SIZE)
		return bad(why, whylen,
			   "base \"%s\" is not a 0x200-aligned hex address",
			   s->base);
	if (xen_virtio_uint_parse(s->irq, XEN_VIRTIO_IRQ_MAX, &irq) ||
	    irq < XEN_VIRTIO_IRQ_MIN)
		return bad(why, whylen,
			   "irq \"%s\" is not an SPI (32..1019); was the "
			   "device declared with transport=mmio?",
			   s->irq);
	if (xen_virtio_type_parse(s->type, &e->device_id))
		return bad(why, whylen,
			   "type \"%s\" is not virtio,device<hex id>", s->type);
	if (s->grant_usage && xen_virtio_uint_parse(s->grant_usage, 1, &grant))
		return bad(why, whylen, "grant_usage \"%s\" is not 0 or 1",
			   s->grant_usage);
	e->base = base;
	e->irq = irq;
	e->grant = grant;
	return 0;
}
