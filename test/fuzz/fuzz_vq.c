// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the ring layer: the input is a hostile guest.
 *
 *   byte 0      bit 0 packed, bit 1 INDIRECT_DESC, bit 2 EVENT_IDX,
 *               bit 3 cap translations at byte 2 + 1 bytes, bit 4 direct
 *               memory (vhost-user's fd regions: no map_batch, segments
 *               converted while walked from the translation window)
 *   byte 1      queue size (split: 1 << (b % 6); packed: 1 + b % 40)
 *   byte 2      max mapping length - 1 (with bit 3)
 *   bytes 3-4   base for vq_start (little-endian)
 *   bytes 5-6   length of the script that follows, in 3-byte steps
 *   script      steps: pop, push (oldest / newest), flush, notify on/off,
 *               guest rewrites a byte of memory (a concurrent guest), stop
 *               and restart at the returned base
 *   rest        the image of guest memory: two adjacent regions of
 *               MEM_SIZE bytes at MEM_BASE, rings at MEM_BASE
 *
 * Checked beyond "no crash, no sanitizer report, no hang": every iovec lies
 * inside guest memory (each byte is touched, regions have their exact size
 * under ASan), a broken queue reports the error vq_pop returned, and every
 * map_batch range is unmapped exactly once by the end.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_gmem.h"
#include "vq.h"

#define MEM_BASE 0x10000ull
#define MEM_SIZE 0x2000ull
#define HELD_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct fake_gmem mem;
	struct vq vq;
	uint64_t features;
	struct vq_layout l;
	struct vq_elem *held[HELD_MAX];
	unsigned nheld;
	volatile uint8_t sink;
};

static void check(int cond)
{
	if (!cond)
		abort();
}

static void touch(struct run *r, struct vq_elem *e)
{
	for (unsigned i = 0; i < e->rd_num; i++)
		for (size_t k = 0; k < e->rd_iov[i].iov_len; k++)
			r->sink ^= ((uint8_t *)e->rd_iov[i].iov_base)[k];
	for (unsigned i = 0; i < e->wr_num; i++)
		memset(e->wr_iov[i].iov_base, 0xa5, e->wr_iov[i].iov_len);
}

/* 1 popped, 0 empty, < 0 broken (checked to be reported). */
static int pop(struct run *r)
{
	struct vq_elem *e;
	const char *why;
	int ret = vq_pop(&r->vq, &e);

	if (ret < 0) {
		check(vq_broken(&r->vq, &why) == ret && why && why[0]);
		return ret;
	}
	if (ret == 0)
		return 0;
	check(e->rd_num + e->wr_num <= VQ_IOV_MAX);
	touch(r, e);
	if (r->nheld == HELD_MAX) {
		vq_push(&r->vq, e, e->wr_len);
		return 1;
	}
	r->held[r->nheld++] = e;
	return 1;
}

static void push(struct run *r, bool newest, uint32_t written)
{
	struct vq_elem *e;

	if (!r->nheld)
		return;
	if (newest) {
		e = r->held[--r->nheld];
	} else {
		e = r->held[0];
		memmove(r->held, r->held + 1, --r->nheld * sizeof(e));
	}
	vq_push(&r->vq, e, written);
}

static void restart(struct run *r)
{
	uint32_t base = vq_stop(&r->vq);

	r->nheld = 0; /* stop dropped them */
	check(fake_gmem_live(&r->mem) == 0);
	vq_start(&r->vq, &r->mem.gmem, r->features, &r->l, base);
}

static void step(struct run *r, const uint8_t *s)
{
	uint8_t *host;

	switch (s[0] % 8) {
	case 0:
	case 1:
		pop(r);
		break;
	case 2:
		push(r, s[1] & 1, s[2]);
		break;
	case 3:
		vq_flush(&r->vq);
		break;
	case 4:
		vq_set_notify(&r->vq, s[1] & 1);
		break;
	case 5:
	case 6: /* the guest changes its memory under our feet */
		host = fake_gmem_ptr(&r->mem, MEM_BASE, 1);
		host[(s[1] | s[2] << 8) % MEM_SIZE] ^= (uint8_t)(s[0] | 1);
		break;
	case 7:
		restart(r);
		break;
	}
}

static void layout(struct run *r, uint16_t num)
{
	r->l.num = num;
	r->l.desc = MEM_BASE;
	r->l.driver = MEM_BASE + 16ull * num;
	if (r->features & (1ull << VIRTIO_F_RING_PACKED))
		r->l.device = r->l.driver + 4;
	else
		r->l.device = (r->l.driver + 6 + 2ull * num + 3) & ~3ull;
}

/* d: the 7 header bytes; img: the memory image. */
static int setup(struct run *r, const uint8_t *d, const uint8_t *img,
		 size_t size)
{
	bool packed = d[0] & 1;
	uint16_t num = packed ? 1 + d[1] % 40 : 1u << (d[1] % 6);

	r->features = (packed ? 1ull << VIRTIO_F_RING_PACKED : 0) |
		      (d[0] & 2 ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0) |
		      (d[0] & 4 ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0);
	if (fake_gmem_init(&r->mem) < 0 ||
	    fake_gmem_add(&r->mem, MEM_BASE, MEM_SIZE,
			  GMEM_READ | GMEM_WRITE) ||
	    fake_gmem_add(&r->mem, MEM_BASE + MEM_SIZE, MEM_SIZE,
			  GMEM_READ | GMEM_WRITE))
		abort();
	r->mem.gmem.direct = d[0] & 16;
	r->mem.require_map = !r->mem.gmem.direct;
	if (d[0] & 8)
		r->mem.max_map = d[2] + 1u;
	fake_gmem_write(&r->mem, MEM_BASE, img,
			size < 2 * MEM_SIZE ? size : 2 * MEM_SIZE);
	layout(r, num);
	if (vq_init(&r->vq, 0, 64) < 0)
		abort();
	return vq_start(&r->vq, &r->mem.gmem, r->features, &r->l,
			d[3] | d[4] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	size_t nscript;

	if (size < 7)
		return 0;
	memset(&r, 0, sizeof(r));
	nscript = (data[5] | data[6] << 8) % 256;
	if (7 + 3 * nscript > size)
		nscript = (size - 7) / 3;
	if (setup(&r, data, data + 7 + 3 * nscript, size - 7 - 3 * nscript) ==
	    0) {
		for (size_t i = 0; i < nscript; i++)
			step(&r, data + 7 + 3 * i);
		/* Drain: bounded, whatever the guest wrote. */
		for (unsigned i = 0; i < 4u * 64 + VQ_BATCH; i++)
			if (pop(&r) <= 0 && vq_set_notify(&r.vq, true) == 0)
				break;
		while (r.nheld)
			push(&r, false, 1);
		vq_flush(&r.vq);
		vq_stop(&r.vq);
	}
	check(fake_gmem_live(&r.mem) == 0);
	check(r.mem.bad_unmaps == 0);
	check(r.mem.unmapped_translates == 0);
	check(!r.mem.gmem.direct || r.mem.map_calls == 0);
	vq_destroy(&r.vq);
	fake_gmem_destroy(&r.mem);
	return 0;
}
