// SPDX-License-Identifier: MIT
/*
 * virtio-i2c device model: turns request chains into bus transactions.
 * See i2c.h for the protocol and the isolation rules.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_i2c.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i2c.h"
#include "iov.h"
#include "log.h"

#define HDR_LEN	    ((uint32_t)sizeof(struct virtio_i2c_out_hdr))
#define KNOWN_FLAGS (VIRTIO_I2C_FLAGS_FAIL_NEXT | VIRTIO_I2C_FLAGS_M_RD)
#define ADDR_COUNT  128u

/* What one request asks for, once its layout has been checked. */
struct req {
	const char *bad; /* why the layout is malformed, NULL when fine */
	bool has_status;
	bool fail_next;
	bool rd;
	uint8_t addr; /* 7-bit */
	uint32_t len; /* buffer bytes */
};

/* What completing a request of the run takes (run_complete). */
struct req_done {
	uint32_t len; /* buffer bytes */
	bool has_status;
	bool rd;
};

/* The FAIL_NEXT run being collected (data-path thread only). */
struct run {
	unsigned n;
	uint32_t bytes; /* scratch in use */
	bool failed;	/* some part is bad: every request gets ERR */
	struct vq_elem *elem[I2C_BUS_MSGS_MAX];
	struct req_done done[I2C_BUS_MSGS_MAX];
	struct i2c_bus_msg msg[I2C_BUS_MSGS_MAX];
};

struct i2c_dev {
	struct virtio_dev vdev;
	struct i2c_bus *bus;
	char name[64];
	uint32_t max_transfer;
	uint8_t allow[ADDR_COUNT]; /* 1 = the guest may address it */
	uint8_t *scratch;	   /* max_transfer bytes */
	struct run run;
	struct i2c_dev_stats stats;
	struct log_ratelimit log_rl;
};

static struct i2c_dev *to_i2c(struct virtio_dev *vd)
{
	return container_of(vd, struct i2c_dev, vdev);
}

/* Guest-caused events: rate-limited per device, so a guest cannot flood. */
static void guest_log(struct i2c_dev *d, const char *what, uint8_t addr,
		      const char *why)
{
	log_msg_ratelimited(&d->log_rl, LOG_LEVEL_WARN,
			    "%s: %s, address 0x%02x: %s", d->name, what, addr,
			    why);
}

/* Check the buffer's side and size against M_RD; the header is valid. */
static const char *parse_body(const struct vq_elem *e, struct req *r)
{
	if (r->rd) {
		if (e->rd_len != HDR_LEN)
			return "read request with device-readable data";
		if (e->wr_len == 0)
			return "no status byte";
		r->len = e->wr_len - 1;
		return NULL;
	}
	if (e->wr_len != 1)
		return e->wr_len ? "write request with device-writable data"
				 : "no status byte";
	r->len = e->rd_len - HDR_LEN;
	return NULL;
}

/* Fill r from e's layout and header; r->bad says what is wrong, if any. */
static void parse(const struct vq_elem *e, struct req *r)
{
	struct virtio_i2c_out_hdr hdr;
	uint32_t flags;
	uint16_t addr;

	*r = (struct req){.has_status = e->wr_len > 0};
	/* Part of the chain only (its status last): fail it alone. */
	if (vq_elem_is_truncated(e)) {
		r->bad = "more buffer segments than a request takes";
		return;
	}
	if (e->rd_len < HDR_LEN) {
		r->bad = "header shorter than 8 bytes";
		return;
	}
	iov_to_buf(e->rd_iov, e->rd_num, 0, &hdr, HDR_LEN);
	flags = le32toh(hdr.flags);
	addr = le16toh(hdr.addr);
	r->fail_next = flags & VIRTIO_I2C_FLAGS_FAIL_NEXT;
	r->rd = flags & VIRTIO_I2C_FLAGS_M_RD;
	r->addr = (uint8_t)((addr >> 1) & 0x7f);
	if (flags & ~(uint32_t)KNOWN_FLAGS)
		r->bad = "unknown flag bits";
	else if (addr & ~0xfeu) /* bit 0 set, or above 0xfe */
		r->bad = "address is not a 7-bit address shifted by one";
	else
		r->bad = parse_body(e, r);
}

/* Complete one request with status: the data of a read that went well
 * (from buf), the status byte, the used entry. */
static inline __attribute__((always_inline)) void
req_complete(struct vq *vq, struct vq_elem *e, const struct req_done *r,
	     const uint8_t *buf, uint8_t status)
{
	if (!r->has_status) {
		vq_push(vq, e, 0);
		return;
	}
	if (status == VIRTIO_I2C_MSG_OK && r->rd)
		iov_from_buf(e->wr_iov, e->wr_num, 0, buf, r->len);
	/* The status is the chain's last byte (wr_len > 0). */
	*vq_elem_last_byte(e) = status;
	vq_push(vq, e, e->wr_len);
}

/*
 * Complete every request of the run with status, then start a new run.
 * Inlined (and run_finish too) into the kick loop, whose every request
 * ends here: no call frames, the run's fields stay in registers.
 */
static inline __attribute__((always_inline)) void
run_complete(struct i2c_dev *d, struct vq *vq, uint8_t status)
{
	struct run *run = &d->run;

	for (unsigned i = 0; i < run->n; i++)
		req_complete(vq, run->elem[i], &run->done[i], run->msg[i].buf,
			     status);
	d->stats.requests += run->n;
	run->n = 0;
	run->bytes = 0;
}

/*
 * Decide whether request r can join a transaction whose messages use
 * `used` bytes of the scratch area; on success give it its part, after
 * those, with the guest's data for a write.
 */
static inline __attribute__((always_inline)) bool
run_admit(struct i2c_dev *d, const struct vq_elem *e, const struct req *r,
	  uint32_t used, struct i2c_bus_msg *m)
{
	if (r->bad) {
		d->stats.malformed++;
		guest_log(d, "malformed request", r->addr, r->bad);
		return false;
	}
	if (!d->allow[r->addr]) {
		d->stats.refused++;
		guest_log(d, "request refused", r->addr,
			  "not on the allow-list");
		return false;
	}
	if (r->len > d->max_transfer - used) {
		d->stats.oversize++;
		guest_log(d, "transaction refused", r->addr,
			  "more data than max_transfer");
		return false;
	}
	*m = (struct i2c_bus_msg){
		.addr = r->addr,
		.flags = r->rd ? I2C_BUS_M_RD : 0,
		.len = r->len,
		.buf = d->scratch + used,
	};
	if (!r->rd)
		iov_to_buf(e->rd_iov, e->rd_num, HDR_LEN, m->buf, r->len);
	return true;
}

/* Add one request to the current run. */
static void run_add(struct i2c_dev *d, struct vq *vq, struct vq_elem *e,
		    const struct req *r)
{
	struct run *run = &d->run;

	if (run->n == I2C_BUS_MSGS_MAX) {
		/* Too long for one transaction: fail what is held, and the
		 * rest of the run as it arrives. */
		if (!run->failed) {
			d->stats.oversize++;
			guest_log(d, "transaction refused", r->addr,
				  "more messages than one transaction takes");
		}
		run->failed = true;
		run_complete(d, vq, VIRTIO_I2C_MSG_ERR);
	}
	if (!run->failed) {
		if (run_admit(d, e, r, run->bytes, &run->msg[run->n]))
			run->bytes += r->len;
		else
			run->failed = true;
	}
	run->elem[run->n] = e;
	run->done[run->n] = (struct req_done){r->len, r->has_status, r->rd};
	run->n++;
}

/* The run is complete: execute it unless it already failed. */
static inline __attribute__((always_inline)) void run_finish(struct i2c_dev *d,
							     struct vq *vq)
{
	struct run *run = &d->run;
	uint8_t status = VIRTIO_I2C_MSG_ERR;

	if (!run->failed && run->n) {
		d->stats.transactions++;
		if (i2c_bus_xfer(d->bus, run->msg, run->n) == 0)
			status = VIRTIO_I2C_MSG_OK;
		else
			d->stats.bus_errors++;
	}
	run_complete(d, vq, status);
	run->failed = false;
}

/*
 * A request that is a transaction of its own (no run open, no FAIL_NEXT):
 * what run_add and run_finish do, without the run's arrays.
 */
static inline __attribute__((always_inline)) void
serve_alone(struct i2c_dev *d, struct vq *vq, struct vq_elem *e,
	    const struct req *r)
{
	struct i2c_bus_msg m = {.buf = NULL};
	uint8_t status = VIRTIO_I2C_MSG_ERR;

	/* No run open: the scratch area is all free. */
	if (run_admit(d, e, r, 0, &m)) {
		d->stats.transactions++;
		if (i2c_bus_xfer(d->bus, &m, 1) == 0)
			status = VIRTIO_I2C_MSG_OK;
		else
			d->stats.bus_errors++;
	}
	req_complete(vq, e, &(struct req_done){r->len, r->has_status, r->rd},
		     m.buf, status);
	d->stats.requests++;
}

/*
 * Can the driver add no further request? A request takes at most
 * I2C_REQ_SLOTS_MAX descriptors (header, buffer, status; with an indirect
 * table it takes one, but the driver falls back to direct descriptors when
 * it cannot allocate the table), so a ring with fewer free is full.
 */
#define I2C_REQ_SLOTS_MAX 3u
static bool ring_is_full(const struct vq *vq)
{
	return vq_held_slots(vq) + I2C_REQ_SLOTS_MAX > vq_num(vq);
}

/*
 * Serve what the driver queued. Re-enabling kicks and the re-check for
 * buffers that arrive meanwhile are the device core's (virtio_dev_kick).
 */
static void i2c_queue_kick(struct virtio_dev *vd, unsigned q)
{
	struct i2c_dev *d = to_i2c(vd);
	struct vq *vq = &vd->vqs[q];
	struct vq_elem *e;
	struct req r;

	while (vq_pop(vq, &e) == 1) {
		parse(e, &r);
		/* A header we could not read cannot continue a run. */
		if (!r.fail_next && !d->run.n) {
			serve_alone(d, vq, e, &r);
			continue;
		}
		run_add(d, vq, e, &r);
		if (!r.fail_next)
			run_finish(d, vq);
	}
	/*
	 * An open run stays open across kicks: the device may look at the
	 * ring between two avail->idx updates of one transaction (polling,
	 * kick_soon, virtio_dev_kick's re-check), and the rest comes with a
	 * kick, since notifications are on again whenever this returns.
	 * Only a driver that cannot add more waits for the run as it is
	 * (Linux kicks a partial run when the ring is full): then complete
	 * it rather than hold the driver forever. A broken ring
	 * (vq_pop < 0) is reported by virtio_dev_kick.
	 */
	if (d->run.n && ring_is_full(vq))
		run_finish(d, vq);
}

/*
 * The queue stops with a run open: fail it without touching the bus (the
 * control thread is waiting), so no element is dropped unanswered -- unless
 * the queue is broken: its buffers may be unreachable, so forget them.
 */
static void i2c_queue_stopping(struct virtio_dev *vd, unsigned q)
{
	struct i2c_dev *d = to_i2c(vd);

	if (d->run.n && !vq_broken(&vd->vqs[q], NULL))
		run_complete(d, &vd->vqs[q], VIRTIO_I2C_MSG_ERR);
	d->run.n = 0;
	d->run.bytes = 0;
	d->run.failed = false;
}

static void i2c_config_read(struct virtio_dev *vd, uint32_t off, void *buf,
			    uint32_t len)
{
	(void)vd;
	(void)off;
	memset(buf, 0, len); /* virtio-i2c has no config space */
}

static void i2c_reset(struct virtio_dev *vd)
{
	struct i2c_dev *d = to_i2c(vd);

	/* The queues were reset: held elements are gone with them. */
	d->run.n = 0;
	d->run.bytes = 0;
	d->run.failed = false;
}

const struct virtio_dev_ops i2c_dev_ops = {
	.name = "i2c",
	.device_id = VIRTIO_ID_I2C_ADAPTER,
	.features = 1ull << VIRTIO_I2C_F_ZERO_LENGTH_REQUEST,
	.num_queues = 1,
	.queue_max = I2C_DEV_QUEUE_MAX,
	.config_size = 0,
	.config_read = i2c_config_read,
	.queue_stopping = i2c_queue_stopping,
	.queue_kick = i2c_queue_kick,
	.reset = i2c_reset,
};

static int check_params(const struct i2c_dev_params *p)
{
	if (!p->bus || p->max_transfer > I2C_DEV_MAX_TRANSFER_LIMIT)
		return -EINVAL;
	for (unsigned i = 0; i < p->naddresses; i++)
		if (p->addresses[i] >= ADDR_COUNT)
			return -EINVAL;
	return 0;
}

int i2c_dev_create(struct i2c_dev **out, const struct i2c_dev_params *p,
		   uint64_t extra_features)
{
	struct i2c_dev *d;
	int ret = check_params(p);

	if (ret)
		return ret;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->max_transfer = p->max_transfer ? p->max_transfer
					  : I2C_DEV_MAX_TRANSFER_DEFAULT;
	/* One byte more so an empty transaction still has a valid pointer. */
	d->scratch = malloc(d->max_transfer + 1);
	if (!d->scratch) {
		ret = -ENOMEM;
		goto err_free_dev;
	}
	ret = virtio_dev_init(&d->vdev, &i2c_dev_ops, extra_features);
	if (ret)
		goto err_free_scratch;
	snprintf(d->name, sizeof(d->name), "%s", p->name ? p->name : "i2c");
	log_ratelimit_init(&d->log_rl, d->name);
	for (unsigned i = 0; i < p->naddresses; i++)
		d->allow[p->addresses[i]] = 1;
	d->bus = p->bus;
	*out = d;
	return 0;

err_free_scratch:
	free(d->scratch);
err_free_dev:
	free(d);
	return ret;
}

void i2c_dev_destroy(struct i2c_dev *d)
{
	if (!d)
		return;
	virtio_dev_destroy(&d->vdev);
	i2c_bus_destroy(d->bus);
	log_ratelimit_fini(&d->log_rl);
	free(d->scratch);
	free(d);
}

struct virtio_dev *i2c_dev_virtio(struct i2c_dev *d)
{
	return &d->vdev;
}

void i2c_dev_get_stats(const struct i2c_dev *d, struct i2c_dev_stats *out)
{
	*out = d->stats;
}
