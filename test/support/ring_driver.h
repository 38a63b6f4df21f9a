/* SPDX-License-Identifier: MIT */
/*
 * The DRIVER side of a virtqueue, for tests, fuzzers and benchmarks: builds
 * a split or packed ring in fake guest memory, adds buffers, publishes them
 * (telling you whether the device asked for a kick), and reads used entries
 * back. It behaves like a real driver (Linux virtio_ring), barriers
 * included, so a bench can run it on another thread than the device.
 *
 * Typical device test:
 *
 *   struct fake_gmem m;  struct ring_driver drv;  struct vq vq;
 *   fake_gmem_init(&m);
 *   fake_gmem_add(&m, 0x100000, 0x100000, GMEM_READ | GMEM_WRITE);
 *   ring_driver_init(&drv, &m, &(struct ring_driver_cfg){
 *           .features = 1ull << VIRTIO_F_RING_PACKED, // or 0 for split
 *           .num = 64, .ring = 0x100000, .tables = 0x110000 });
 *   vq_init(&vq, 0, 64);
 *   vq_start(&vq, &m.gmem, drv.features, &drv.layout, drv.base);
 *
 *   struct ring_seg segs[] = {
 *           { .gaddr = 0x120000, .len = 16 },               // readable
 *           { .gaddr = 0x121000, .len = 64, .write = true }, // writable
 *   };
 *   int id = ring_driver_add(&drv, segs, 2, false);  // >= 0: buffer id
 *   ring_driver_publish(&drv);                       // visible now
 *   ... device pops, pushes, flushes ...
 *   uint16_t uid; uint32_t len;
 *   ring_driver_get_used(&drv, &uid, &len);          // 1: got (uid, len)
 *
 * Data buffers are wherever the test puts them (any guest address, even
 * outside memory, to test the device's checks); fill them through
 * fake_gmem_ptr()/fake_gmem_write(). Indirect tables live at cfg.tables,
 * one per buffer id.
 *
 * Deliberate corruption: the raw ring pointers below are host pointers into
 * guest memory; change any descriptor before or after publishing.
 * ring_driver_split_post() and ring_driver_packed_post() put hand-made
 * chains in the ring without any checks.
 *
 * Threading: one driver thread calls these; the device runs the ring
 * layer on another thread (or the same one).
 */
#ifndef VIRTIOBOX_TEST_RING_DRIVER_H
#define VIRTIOBOX_TEST_RING_DRIVER_H

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "fake_gmem.h"
#include "vq.h"

#define RING_DRIVER_SEGS_MAX 32 /* per buffer, and per indirect table */

/*
 * virtio_dev.kick_budget_ns for tests that call virtio_dev_kick once and
 * expect the whole ring served: the real 10 ms budget is soon spent under
 * qemu-user or sanitizers, and a spent budget leaves the rest for a next
 * call these tests do not make.
 */
#define TEST_KICK_BUDGET_NS (3600ull * 1000000000ull)

struct ring_driver_cfg {
	/* Ring features the driver negotiated: VIRTIO_F_RING_PACKED,
	 * VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC bits. */
	uint64_t features;
	uint16_t num;	 /* queue size (split: a power of 2) */
	uint64_t ring;	 /* guest address of the ring areas, 16-aligned;
			  * ring_driver_ring_size() bytes in one region */
	uint64_t tables; /* guest address of num indirect tables of
			  * RING_DRIVER_SEGS_MAX * 16 bytes; 0: none */
	uint16_t start;	 /* first position: split avail/used idx (any);
			  * packed slot (< num), wrap counter 1 */
};

/* One segment of a buffer. */
struct ring_seg {
	uint64_t gaddr;
	uint32_t len;
	bool write; /* device-writable */
};

struct ring_driver {
	/* For the test to read: what to give vq_start. */
	uint64_t features;
	struct vq_layout layout;
	uint32_t base; /* vq_start base: split idx; packed idx | wrap << 15 */
	uint16_t num;
	bool packed;
	bool event_idx;

	/* Raw ring in guest memory, for deliberate corruption. */
	struct vring_desc *desc;		      /* split */
	struct vring_avail *avail;		      /* split */
	struct vring_used *used;		      /* split */
	struct vring_packed_desc *pdesc;	      /* packed */
	struct vring_packed_desc_event *driver_event; /* packed, driver's */
	struct vring_packed_desc_event *device_event; /* packed, device's */
	uint16_t last_head; /* ring slot of the last added chain's head */

	/* private */
	struct fake_gmem *mem;
	uint64_t tables;
	uint16_t num_free;  /* free descriptors (split) / slots (packed) */
	uint16_t free_head; /* split free list, linked through next[] */
	uint16_t *next;	    /* split: the driver's own copy of next links */
	struct ring_driver_buf {
		uint16_t ndesc;
		bool busy;
	} * buf;	    /* per buffer id */
	uint16_t *free_ids; /* packed */
	uint16_t nfree_ids;
	uint16_t avail_idx, kicked_idx; /* split */
	uint16_t next_avail, pub_avail; /* packed positions */
	bool avail_wrap, pub_wrap;
	uint16_t *staged_slot, *staged_flags; /* packed heads to publish */
	uint16_t nstaged;
	uint16_t last_used;
	bool used_wrap;
};

/* Bytes of guest memory the ring areas need at cfg.ring. */
uint64_t ring_driver_ring_size(uint64_t features, uint16_t num);

/*
 * Lay out and zero the ring in mem. Returns 0, -EINVAL (num 0, > 32768,
 * split num not a power of 2, start out of range, misaligned ring),
 * -EFAULT (ring or tables not inside one region each), -ENOMEM.
 * Allocates; pair with ring_driver_destroy().
 */
int ring_driver_init(struct ring_driver *d, struct fake_gmem *mem,
		     const struct ring_driver_cfg *cfg);
void ring_driver_destroy(struct ring_driver *d);

/*
 * Write a buffer of n segments (in the order given: a test may put a
 * readable one after a writable one). With indirect, one ring descriptor
 * points to the buffer's table at cfg.tables. Not visible to the device
 * before ring_driver_publish(). Returns the buffer id (split: head index;
 * packed: buffer id) >= 0, -ENOSPC (no free descriptors or ids), -EINVAL
 * (n 0 or > RING_DRIVER_SEGS_MAX, indirect without cfg.tables).
 */
int ring_driver_add(struct ring_driver *d, const struct ring_seg *segs,
		    unsigned n, bool indirect);

/*
 * Make every added buffer available at once, with the driver's barriers.
 * Returns 1 when the device asked for a kick (VRING_USED_F_NO_NOTIFY clear,
 * avail_event crossed, or packed device event suppression), 0 when not or
 * when nothing was added since the last publish.
 */
int ring_driver_publish(struct ring_driver *d);

/*
 * Take the next used entry. Returns 1 with *id and *len, 0 when none, or
 * -EPROTO when the device returned an id that is not in flight.
 */
int ring_driver_get_used(struct ring_driver *d, uint16_t *id, uint32_t *len);

/* Free descriptors (split) or ring slots (packed). */
unsigned ring_driver_num_free(const struct ring_driver *d);

/*
 * Driver-side interrupt (used buffer notification) suppression.
 * disable: split VRING_AVAIL_F_NO_INTERRUPT, or with EVENT_IDX a used_event
 * the device cannot cross; packed driver event DISABLE.
 * enable: clear that / used_event = next used position / packed ENABLE, or
 * DESC at the next used position with EVENT_IDX. Returns 1 when used
 * entries are already waiting (poll again), else 0.
 */
void ring_driver_irq_disable(struct ring_driver *d);
int ring_driver_irq_enable(struct ring_driver *d);

/*
 * Raw EVENT_IDX control: split used_event = event; packed driver event
 * off_wrap = event (bit 15 the wrap counter) with flags DESC.
 */
void ring_driver_set_used_event(struct ring_driver *d, uint16_t event);
/* The driver's next used position: split idx; packed idx | wrap << 15. */
uint16_t ring_driver_used_pos(const struct ring_driver *d);

/* Split only: put head in the avail ring as is (published by
 * ring_driver_publish); no accounting. Write d->desc[] first. */
void ring_driver_split_post(struct ring_driver *d, uint16_t head);

/*
 * Packed only: write n hand-made descriptors at the next slots with the
 * right AVAIL/USED bits added to their flags (VRING_DESC_F_* in host
 * order, id and len as given); the head becomes available at the next
 * ring_driver_publish(). No accounting: they take no buffer id.
 */
void ring_driver_packed_post(struct ring_driver *d,
			     const struct vring_packed_desc *descs, unsigned n);

/* Host pointer to buffer id's indirect table (RING_DRIVER_SEGS_MAX
 * entries of 16 bytes), or NULL without cfg.tables. */
void *ring_driver_table(struct ring_driver *d, uint16_t id);

/*
 * A ready-made test setup: fake memory with a standard map, a driver and a
 * started device queue on it.
 *
 *   [RING_DRIVER_MEM_RING, +1 MiB)  rings at the start, indirect tables
 *                                   at RING_DRIVER_MEM_TABLES
 *   [RING_DRIVER_MEM_DATA, +1 MiB)  data region A
 *   [RING_DRIVER_MEM_DATA2, +1 MiB) data region B, adjacent to A, so a
 *                                   buffer can cross from one to the other
 * All regions are readable and writable.
 */
#define RING_DRIVER_MEM_RING   0x100000ull
#define RING_DRIVER_MEM_TABLES 0x140000ull /* up to 1536 tables */
#define RING_DRIVER_MEM_DATA   0x200000ull
#define RING_DRIVER_MEM_DATA2  0x300000ull

struct ring_driver_fixture {
	struct fake_gmem mem;
	struct ring_driver drv;
	struct vq vq;
};

/*
 * Set up f for a queue of num entries with the given ring features and
 * vq_start() it. Returns 0 or the -errno of the step that failed (nothing
 * is left allocated then). Pair with ring_driver_fixture_destroy().
 */
int ring_driver_fixture_init(struct ring_driver_fixture *f, uint64_t features,
			     uint16_t num);

/*
 * Set: fixtures made from now on have direct memory (fake_gmem.h), the
 * vhost-user case, so a test group run twice covers both ring-layer paths.
 */
extern bool ring_driver_fixture_direct;
void ring_driver_fixture_destroy(struct ring_driver_fixture *f);

#endif
