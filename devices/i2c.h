/* SPDX-License-Identifier: MIT */
/*
 * virtio-i2c device model (VIRTIO_ID_I2C_ADAPTER, one request queue).
 *
 * Each request is one descriptor chain: an out header (le16 address, the
 * 7-bit address shifted left by one; le32 flags FAIL_NEXT and M_RD), an
 * optional buffer (device-readable for a write, device-writable for a
 * read) and a one-byte in status. VIRTIO_I2C_F_ZERO_LENGTH_REQUEST is
 * offered: the Linux driver refuses the device without it.
 *
 * Transactions: requests linked by FAIL_NEXT form one run, executed as one
 * bus transaction (repeated starts, one stop); if any part fails - a bad
 * layout, an address off the allow-list, more data than max_transfer, more
 * than I2C_BUS_MSGS_MAX messages, or the bus itself - every request of the
 * run gets VIRTIO_I2C_MSG_ERR. A run also ends where the available ring
 * ends: the Linux driver kicks a partial run (FAIL_NEXT still set on its
 * last request) when the ring fills up, and then waits for it.
 *
 * Isolation: every message of a transaction is checked against the
 * device's own allow-list before anything reaches the bus; refusals are
 * logged, rate-limited. Data moves through one scratch area of
 * max_transfer bytes allocated at creation: no allocation per request,
 * and no length from the guest is trusted.
 *
 * A malformed request (header shorter than 8 bytes, unknown flag bits, an
 * odd or over-range address, a buffer on the wrong side for M_RD, no room
 * or too much room for the status byte) gets ERR when it has a status
 * byte (the last device-writable byte), otherwise it is completed with 0
 * bytes written.
 */
#ifndef VIRTIOBOX_DEVICES_I2C_H
#define VIRTIOBOX_DEVICES_I2C_H

#include <stdint.h>

#include "i2c_bus.h"
#include "virtio_dev.h"

#define I2C_DEV_MAX_TRANSFER_DEFAULT 4096u
#define I2C_DEV_MAX_TRANSFER_LIMIT   65535u /* i2c_msg.len is 16 bits */
#define I2C_DEV_QUEUE_MAX	     1024u  /* QEMU's virtio-mmio offers 1024 */

extern const struct virtio_dev_ops i2c_dev_ops;

struct i2c_dev;

struct i2c_dev_params {
	const char *name; /* for log lines, e.g. "guest1/i2c0"; copied */
	struct i2c_bus *bus;
	const uint8_t *addresses; /* allow-list of 7-bit addresses */
	unsigned naddresses;
	/* Bytes one transaction may carry in all its buffers together;
	 * 0 means I2C_DEV_MAX_TRANSFER_DEFAULT. */
	uint32_t max_transfer;
};

/* Counters, updated by the data-path thread. */
struct i2c_dev_stats {
	uint64_t requests;     /* elements completed */
	uint64_t transactions; /* runs handed to the bus */
	uint64_t bus_errors;   /* runs the bus failed */
	uint64_t refused;      /* runs refused by the allow-list */
	uint64_t malformed;    /* requests with a bad layout */
	uint64_t oversize;     /* runs over max_transfer or I2C_BUS_MSGS_MAX */
};

/*
 * Create a device serving p->bus. extra_features are ring features the
 * transport offers (e.g. 1ULL << VIRTIO_F_RING_PACKED). On success the
 * device owns the bus and destroys it with itself; on failure the caller
 * keeps it. Returns 0 and sets *out, -EINVAL (an address not 7-bit,
 * max_transfer over I2C_DEV_MAX_TRANSFER_LIMIT, no bus), -ENOMEM.
 * Control thread.
 */
int i2c_dev_create(struct i2c_dev **out, const struct i2c_dev_params *p,
		   uint64_t extra_features);

/* Destroy the device and its bus; its transport must be gone. NULL is ok. */
void i2c_dev_destroy(struct i2c_dev *d);

/* The virtio device object to hand to a transport; lives as long as d. */
struct virtio_dev *i2c_dev_virtio(struct i2c_dev *d);

/*
 * Copy the counters. Exact when called from the data-path thread or while
 * it is paused; otherwise a recent snapshot.
 */
void i2c_dev_get_stats(const struct i2c_dev *d, struct i2c_dev_stats *out);

#endif
