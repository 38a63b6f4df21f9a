// SPDX-License-Identifier: MIT
/*
 * Driver side of split and packed rings, for tests and benchmarks. The
 * barriers mirror a real driver's so the device can run on another thread.
 */
#include "ring_driver.h"

#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define AVAIL_F	    (1u << VRING_PACKED_DESC_F_AVAIL)
#define USED_F	    (1u << VRING_PACKED_DESC_F_USED)
#define WRAP_BIT    (1u << VRING_PACKED_EVENT_F_WRAP_CTR)
#define TABLE_BYTES (RING_DRIVER_SEGS_MAX * 16u)

static uint16_t ld16(const void *p)
{
	return le16toh(*(const volatile uint16_t *)p);
}

static uint32_t ld32(const void *p)
{
	return le32toh(*(const volatile uint32_t *)p);
}

static void st16(void *p, uint16_t v)
{
	*(volatile uint16_t *)p = htole16(v);
}

static void st32(void *p, uint32_t v)
{
	*(volatile uint32_t *)p = htole32(v);
}

static void st64(void *p, uint64_t v)
{
	*(volatile uint64_t *)p = htole64(v);
}

static uint64_t used_offset(uint16_t num)
{
	return (16ull * num + 6 + 2ull * num + 3) & ~3ull;
}

uint64_t ring_driver_ring_size(uint64_t features, uint16_t num)
{
	if (features & (1ull << VIRTIO_F_RING_PACKED))
		return 16ull * num + 8;
	return used_offset(num) + 6 + 8ull * num;
}

static int layout(struct ring_driver *d, const struct ring_driver_cfg *c)
{
	uint64_t size = ring_driver_ring_size(c->features, c->num);
	uint8_t *p = fake_gmem_ptr(d->mem, c->ring, size);

	if (!p)
		return -EFAULT;
	memset(p, 0, size);
	d->layout.num = c->num;
	d->layout.desc = c->ring;
	if (d->packed) {
		d->layout.driver = c->ring + 16ull * c->num;
		d->layout.device = d->layout.driver + 4;
		d->pdesc = (void *)p;
		d->driver_event = (void *)(p + 16ull * c->num);
		d->device_event = (void *)(p + 16ull * c->num + 4);
	} else {
		d->layout.driver = c->ring + 16ull * c->num;
		d->layout.device = c->ring + used_offset(c->num);
		d->desc = (void *)p;
		d->avail = (void *)(p + 16ull * c->num);
		d->used = (void *)(p + used_offset(c->num));
	}
	return 0;
}

static int alloc_state(struct ring_driver *d)
{
	unsigned n = d->num;

	d->buf = calloc(n, sizeof(*d->buf));
	d->next = calloc(n, sizeof(*d->next));
	d->free_ids = calloc(n, sizeof(*d->free_ids));
	d->staged_slot = calloc(n, sizeof(*d->staged_slot));
	d->staged_flags = calloc(n, sizeof(*d->staged_flags));
	if (!d->buf || !d->next || !d->free_ids || !d->staged_slot ||
	    !d->staged_flags)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		d->next[i] = (uint16_t)(i + 1);
		d->free_ids[i] = (uint16_t)(n - 1 - i);
	}
	d->nfree_ids = (uint16_t)n;
	d->num_free = (uint16_t)n;
	return 0;
}

int ring_driver_init(struct ring_driver *d, struct fake_gmem *mem,
		     const struct ring_driver_cfg *cfg)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->mem = mem;
	d->features = cfg->features;
	d->packed = cfg->features & (1ull << VIRTIO_F_RING_PACKED);
	d->event_idx = cfg->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	d->num = cfg->num;
	d->tables = cfg->tables;
	if (cfg->num == 0 || cfg->num > 32768 || cfg->ring % 16)
		return -EINVAL;
	if (!d->packed && (cfg->num & (cfg->num - 1)))
		return -EINVAL;
	if (d->packed && cfg->start >= cfg->num)
		return -EINVAL;
	if (cfg->tables &&
	    !fake_gmem_ptr(mem, cfg->tables, (uint64_t)TABLE_BYTES * cfg->num))
		return -EFAULT;
	ret = layout(d, cfg);
	if (ret == 0)
		ret = alloc_state(d);
	if (ret < 0) {
		ring_driver_destroy(d);
		return ret;
	}
	if (d->packed) {
		d->next_avail = d->pub_avail = d->last_used = cfg->start;
		d->avail_wrap = d->pub_wrap = d->used_wrap = true;
		d->base = cfg->start | WRAP_BIT;
	} else {
		d->avail_idx = d->kicked_idx = d->last_used = cfg->start;
		st16(&d->avail->idx, cfg->start);
		st16(&d->used->idx, cfg->start);
		d->base = cfg->start;
	}
	return 0;
}

void ring_driver_destroy(struct ring_driver *d)
{
	free(d->buf);
	free(d->next);
	free(d->free_ids);
	free(d->staged_slot);
	free(d->staged_flags);
	memset(d, 0, sizeof(*d));
}

void *ring_driver_table(struct ring_driver *d, uint16_t id)
{
	if (!d->tables || id >= d->num)
		return NULL;
	return fake_gmem_ptr(d->mem, d->tables + (uint64_t)id * TABLE_BYTES,
			     TABLE_BYTES);
}

/* Fill buffer id's indirect table; returns its guest address. */
static uint64_t fill_table(struct ring_driver *d, uint16_t id,
			   const struct ring_seg *s, unsigned n)
{
	uint8_t *t = ring_driver_table(d, id);

	for (unsigned k = 0; k < n; k++) {
		uint8_t *e = t + 16 * k;
		uint16_t flags = s[k].write ? VRING_DESC_F_WRITE : 0;

		if (!d->packed && k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		st64(e, s[k].gaddr);
		st32(e + 8, s[k].len);
		/* split: flags, next; packed: id (ignored), flags */
		st16(e + (d->packed ? 14 : 12), flags);
		st16(e + (d->packed ? 12 : 14), d->packed ? 0 : k + 1);
	}
	return d->tables + (uint64_t)id * TABLE_BYTES;
}

static int split_add(struct ring_driver *d, const struct ring_seg *s,
		     unsigned n, bool indirect)
{
	uint16_t head = d->free_head, i = head, last = head;
	unsigned need = indirect ? 1 : n;

	if (need > d->num_free)
		return -ENOSPC;
	for (unsigned k = 0; k < need; k++) {
		struct vring_desc *dd = &d->desc[i];
		uint16_t flags = 0;

		if (indirect) {
			st64(&dd->addr, fill_table(d, head, s, n));
			st32(&dd->len, 16 * n);
			flags = VRING_DESC_F_INDIRECT;
		} else {
			st64(&dd->addr, s[k].gaddr);
			st32(&dd->len, s[k].len);
			flags = s[k].write ? VRING_DESC_F_WRITE : 0;
			if (k + 1 < n)
				flags |= VRING_DESC_F_NEXT;
		}
		st16(&dd->flags, flags);
		st16(&dd->next, d->next[i]);
		last = i;
		i = d->next[i];
	}
	d->free_head = d->next[last];
	d->num_free -= need;
	d->buf[head] = (struct ring_driver_buf){(uint16_t)need, true};
	d->last_head = head;
	st16(&d->avail->ring[d->avail_idx++ & (d->num - 1)], head);
	return head;
}

static uint16_t avail_bits(bool wrap)
{
	return wrap ? AVAIL_F : USED_F;
}

/* Write one packed descriptor at the next slot; flags of the head are
 * staged for publish. */
static void packed_put(struct ring_driver *d, uint64_t addr, uint32_t len,
		       uint16_t id, uint16_t flags, bool head)
{
	struct vring_packed_desc *pd = &d->pdesc[d->next_avail];

	flags |= avail_bits(d->avail_wrap);
	st64(&pd->addr, addr);
	st32(&pd->len, len);
	st16(&pd->id, id);
	if (head) {
		d->last_head = d->next_avail;
		d->staged_slot[d->nstaged] = d->next_avail;
		d->staged_flags[d->nstaged++] = flags;
	} else {
		st16(&pd->flags, flags);
	}
	if (++d->next_avail == d->num) {
		d->next_avail = 0;
		d->avail_wrap = !d->avail_wrap;
	}
}

static int packed_add(struct ring_driver *d, const struct ring_seg *s,
		      unsigned n, bool indirect)
{
	unsigned need = indirect ? 1 : n;
	uint16_t id;

	if (need > d->num_free || d->nfree_ids == 0)
		return -ENOSPC;
	id = d->free_ids[--d->nfree_ids];
	if (indirect) {
		packed_put(d, fill_table(d, id, s, n), 16 * n, id,
			   VRING_DESC_F_INDIRECT, true);
	} else {
		for (unsigned k = 0; k < n; k++)
			packed_put(d, s[k].gaddr, s[k].len, id,
				   (s[k].write ? VRING_DESC_F_WRITE : 0) |
					   (k + 1 < n ? VRING_DESC_F_NEXT : 0),
				   k == 0);
	}
	d->num_free -= need;
	d->buf[id] = (struct ring_driver_buf){(uint16_t)need, true};
	return id;
}

int ring_driver_add(struct ring_driver *d, const struct ring_seg *segs,
		    unsigned n, bool indirect)
{
	if (n == 0 || n > RING_DRIVER_SEGS_MAX || (indirect && !d->tables))
		return -EINVAL;
	return d->packed ? packed_add(d, segs, n, indirect)
			 : split_add(d, segs, n, indirect);
}

void ring_driver_split_post(struct ring_driver *d, uint16_t head)
{
	st16(&d->avail->ring[d->avail_idx++ & (d->num - 1)], head);
}

void ring_driver_packed_post(struct ring_driver *d,
			     const struct vring_packed_desc *descs, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		packed_put(d, descs[k].addr, descs[k].len, descs[k].id,
			   descs[k].flags & ~(AVAIL_F | USED_F), k == 0);
	d->num_free = n < d->num_free ? d->num_free - n : 0;
}

static int split_publish(struct ring_driver *d)
{
	uint16_t old = d->kicked_idx, new = d->avail_idx;

	if (old == new)
		return 0;
	/* Orders descriptors and avail ring entries before the idx that
	 * publishes them; pairs with the device's acquire after reading it. */
	atomic_thread_fence(memory_order_release);
	st16(&d->avail->idx, new);
	/* Orders the idx store before reading the device's suppression
	 * fields; pairs with the device's full barrier in set_notify. */
	atomic_thread_fence(memory_order_seq_cst);
	d->kicked_idx = new;
	if (d->event_idx)
		return vring_need_event(ld16(&d->used->ring[d->num]), new, old);
	return !(ld16(&d->used->flags) & VRING_USED_F_NO_NOTIFY);
}

static uint16_t lin(const struct ring_driver *d, uint16_t idx, bool wrap)
{
	return wrap ? idx : idx + d->num;
}

/* vring_need_event over linear positions modulo 2 * num. */
static int need_event_lin(const struct ring_driver *d, uint16_t off_wrap,
			  uint16_t new, uint16_t old)
{
	uint32_t two = 2u * d->num;
	uint32_t ev = lin(d, off_wrap & ~WRAP_BIT, off_wrap & WRAP_BIT) % two;

	return (new + two - ev - 1) % two < (new + two - old) % two;
}

static int packed_publish(struct ring_driver *d)
{
	uint16_t old = lin(d, d->pub_avail, d->pub_wrap);
	uint16_t new = lin(d, d->next_avail, d->avail_wrap);
	uint16_t flags;

	if (d->nstaged == 0)
		return 0;
	/* Orders every descriptor body before the head flags that make the
	 * chains available; pairs with the device's acquire after it reads
	 * a head's flags. */
	atomic_thread_fence(memory_order_release);
	while (d->nstaged) {
		d->nstaged--; /* last first: the batch appears at once */
		st16(&d->pdesc[d->staged_slot[d->nstaged]].flags,
		     d->staged_flags[d->nstaged]);
	}
	/* Orders the head flags before reading the device event structure;
	 * pairs with the device's full barrier in set_notify. */
	atomic_thread_fence(memory_order_seq_cst);
	d->pub_avail = d->next_avail;
	d->pub_wrap = d->avail_wrap;
	flags = ld16(&d->device_event->flags);
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return 0;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !d->event_idx)
		return 1;
	/* Orders flags before off_wrap; pairs with the device's release. */
	atomic_thread_fence(memory_order_acquire);
	return need_event_lin(d, ld16(&d->device_event->off_wrap), new, old);
}

int ring_driver_publish(struct ring_driver *d)
{
	return d->packed ? packed_publish(d) : split_publish(d);
}

static int split_get_used(struct ring_driver *d, uint16_t *id, uint32_t *len)
{
	struct vring_used_elem *u;
	uint32_t uid;
	uint16_t head, i;

	if (ld16(&d->used->idx) == d->last_used)
		return 0;
	/* Orders the idx read before the element read; pairs with the
	 * device's release before it stores used->idx. */
	atomic_thread_fence(memory_order_acquire);
	u = &d->used->ring[d->last_used & (d->num - 1)];
	uid = ld32(&u->id);
	*id = (uint16_t)uid;
	*len = ld32(&u->len);
	if (uid >= d->num || !d->buf[*id].busy)
		return -EPROTO;
	head = i = *id;
	for (unsigned k = 1; k < d->buf[head].ndesc; k++)
		i = d->next[i];
	d->next[i] = d->free_head;
	d->free_head = head;
	d->num_free += d->buf[head].ndesc;
	d->buf[head].busy = false;
	d->last_used++;
	return 1;
}

static int packed_get_used(struct ring_driver *d, uint16_t *id, uint32_t *len)
{
	struct vring_packed_desc *pd = &d->pdesc[d->last_used];
	uint16_t flags = ld16(&pd->flags);
	bool avail = flags & AVAIL_F, used = flags & USED_F;

	if (avail != used || used != d->used_wrap)
		return 0;
	/* Orders the flags read before id and len; pairs with the device's
	 * release before it stores the first used flags of a batch. */
	atomic_thread_fence(memory_order_acquire);
	*id = ld16(&pd->id);
	*len = ld32(&pd->len);
	if (*id >= d->num || !d->buf[*id].busy)
		return -EPROTO;
	d->last_used += d->buf[*id].ndesc;
	if (d->last_used >= d->num) {
		d->last_used -= d->num;
		d->used_wrap = !d->used_wrap;
	}
	d->num_free += d->buf[*id].ndesc;
	d->buf[*id].busy = false;
	d->free_ids[d->nfree_ids++] = *id;
	return 1;
}

int ring_driver_get_used(struct ring_driver *d, uint16_t *id, uint32_t *len)
{
	return d->packed ? packed_get_used(d, id, len)
			 : split_get_used(d, id, len);
}

unsigned ring_driver_num_free(const struct ring_driver *d)
{
	return d->num_free;
}

uint16_t ring_driver_used_pos(const struct ring_driver *d)
{
	return d->packed ? d->last_used | (d->used_wrap ? WRAP_BIT : 0)
			 : d->last_used;
}

void ring_driver_set_used_event(struct ring_driver *d, uint16_t event)
{
	if (!d->packed) {
		st16(&d->avail->ring[d->num], event);
		return;
	}
	st16(&d->driver_event->off_wrap, event);
	/* Orders off_wrap before flags; pairs with the device's acquire
	 * between reading flags and off_wrap. */
	atomic_thread_fence(memory_order_release);
	st16(&d->driver_event->flags, VRING_PACKED_EVENT_FLAG_DESC);
}

void ring_driver_irq_disable(struct ring_driver *d)
{
	if (d->packed)
		st16(&d->driver_event->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	else if (d->event_idx) /* behind the device: never crossed */
		st16(&d->avail->ring[d->num], d->last_used - 1);
	else
		st16(&d->avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
}

static bool has_used(struct ring_driver *d)
{
	if (d->packed) {
		uint16_t flags = ld16(&d->pdesc[d->last_used].flags);

		return !!(flags & AVAIL_F) == !!(flags & USED_F) &&
		       !!(flags & USED_F) == d->used_wrap;
	}
	return ld16(&d->used->idx) != d->last_used;
}

int ring_driver_irq_enable(struct ring_driver *d)
{
	if (d->event_idx)
		ring_driver_set_used_event(d, ring_driver_used_pos(d));
	else if (d->packed)
		st16(&d->driver_event->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	else
		st16(&d->avail->flags, 0);
	/* Orders the enable before re-checking for used entries; pairs with
	 * the device's full barrier between publishing used entries and
	 * reading the suppression fields. */
	atomic_thread_fence(memory_order_seq_cst);
	return has_used(d);
}

bool ring_driver_fixture_direct;

int ring_driver_fixture_init(struct ring_driver_fixture *f, uint64_t features,
			     uint16_t num)
{
	const uint32_t rw = GMEM_READ | GMEM_WRITE;
	struct ring_driver_cfg cfg = {
		.features = features,
		.num = num,
		.ring = RING_DRIVER_MEM_RING,
		.tables = RING_DRIVER_MEM_TABLES,
	};
	int ret;

	memset(f, 0, sizeof(*f));
	ret = fake_gmem_init(&f->mem);
	if (ret < 0)
		return ret;
	f->mem.gmem.direct = ring_driver_fixture_direct;
	ret = fake_gmem_add(&f->mem, RING_DRIVER_MEM_RING, 0x100000, rw);
	if (ret == 0)
		ret = fake_gmem_add(&f->mem, RING_DRIVER_MEM_DATA, 0x100000,
				    rw);
	if (ret == 0)
		ret = fake_gmem_add(&f->mem, RING_DRIVER_MEM_DATA2, 0x100000,
				    rw);
	if (ret < 0)
		goto err_mem;
	ret = ring_driver_init(&f->drv, &f->mem, &cfg);
	if (ret < 0)
		goto err_mem;
	ret = vq_init(&f->vq, 0, num);
	if (ret < 0)
		goto err_driver;
	ret = vq_start(&f->vq, &f->mem.gmem, features, &f->drv.layout,
		       f->drv.base);
	if (ret < 0)
		goto err_vq;
	return 0;

err_vq:
	vq_destroy(&f->vq);
err_driver:
	ring_driver_destroy(&f->drv);
err_mem:
	fake_gmem_destroy(&f->mem);
	return ret;
}

void ring_driver_fixture_destroy(struct ring_driver_fixture *f)
{
	vq_destroy(&f->vq);
	ring_driver_destroy(&f->drv);
	fake_gmem_destroy(&f->mem);
}
