/* SPDX-License-Identifier: MIT */
/*
 * One generic virtio device as libxl describes it in xenstore, under
 * the back-end's /local/domain/<self>/backend/virtio/<domid>/<devid>/:
 * base (hex), irq, type ("virtio,device<hex id>"), grant_usage, online,
 * state. Parsing only: no xenstore access here, so every rule is
 * unit-tested on strings.
 */
#ifndef VIRTIOBOX_XEN_XEN_VIRTIO_ENTRY_H
#define VIRTIOBOX_XEN_XEN_VIRTIO_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Each device window is 0x200 bytes (config space at 0x100). */
#define XEN_VIRTIO_WINDOW_SIZE 0x200u
/* Guest SPIs start at 32; libxl hands out 33 and up. */
#define XEN_VIRTIO_IRQ_MIN 32u
#define XEN_VIRTIO_IRQ_MAX 1019u

/* XenbusState values the back-end reads and writes. */
#define XEN_VIRTIO_STATE_INITIALISING 1
#define XEN_VIRTIO_STATE_INITWAIT     2
#define XEN_VIRTIO_STATE_CLOSING      5
#define XEN_VIRTIO_STATE_CLOSED	      6

struct xen_virtio_entry {
	uint16_t domid;
	unsigned devid;
	/* Entries of the domain of the same type with a lower devid: libxl
	 * numbers them in xl.cfg order, and the board matches by this. */
	unsigned rank;
	char domain[64]; /* the guest's name; "" when xenstore has none */
	uint64_t base;
	unsigned irq;
	uint32_t device_id; /* VIRTIO_ID_* */
	bool grant; /* grant_usage: grants (1) or foreign mappings (0) */
};

/* The raw strings read from xenstore; NULL for a missing key. */
struct xen_virtio_strings {
	const char *base, *irq, *type, *grant_usage;
};

/*
 * Fill e's base, irq, device_id and grant from s. Returns 0, or -EINVAL
 * with a reason in why (always NUL-terminated): a missing key, base not
 * hex or not 0x200-aligned (or wrapping), irq outside 32..1019, a type
 * that is not "virtio,device<hex>", grant_usage other than 0 or 1.
 * A missing grant_usage means grants (libxl's default for a back-end in
 * another domain than the guest).
 */
int xen_virtio_entry_parse(struct xen_virtio_entry *e,
			   const struct xen_virtio_strings *s, char *why,
			   size_t whylen);

/* "virtio,device22" -> 0x22. Returns 0 or -EINVAL. */
int xen_virtio_type_parse(const char *type, uint32_t *device_id);

/* A decimal xenstore number (domid, devid, state). Returns 0 or -EINVAL. */
int xen_virtio_uint_parse(const char *s, unsigned max, unsigned *out);

#endif
