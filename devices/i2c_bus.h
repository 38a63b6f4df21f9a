/* SPDX-License-Identifier: MIT */
/*
 * Host I2C bus seam: what the virtio-i2c model (devices/i2c.c) runs a
 * transaction on. One const struct i2c_bus_ops per bus kind:
 *   - devices/i2c_hostdev.c: a Linux adapter through i2c-dev (/dev/i2c-N),
 *     I2C_RDWR when the adapter is a plain I2C master, otherwise the
 *     transaction is mapped onto one SMBus call;
 *   - devices/i2c_sim.c: simulated chips (24C02 EEPROM, register file),
 *     so boards without hardware can be served and tested.
 *
 * A transaction is what a virtio-i2c FAIL_NEXT run becomes: messages joined
 * by repeated starts, one stop at the end, executed as one unit.
 *
 * Threading: a bus is used by one thread at a time (the owning device's
 * data-path thread); creation and destruction happen on the control thread
 * while that data path is stopped.
 */
#ifndef VIRTIOBOX_DEVICES_I2C_BUS_H
#define VIRTIOBOX_DEVICES_I2C_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/i2c.h>

#define I2C_BUS_M_RD 0x1u /* message reads from the chip */

/* Longest transaction, in messages (Linux i2c-dev's I2C_RDWR_IOCTL_MAX_MSGS).
 */
#define I2C_BUS_MSGS_MAX 42u

/* One message of a transaction. buf holds len bytes (len may be 0). */
struct i2c_bus_msg {
	uint16_t addr;	/* 7-bit address */
	uint16_t flags; /* I2C_BUS_M_RD */
	uint32_t len;
	uint8_t *buf;
};

struct i2c_bus;

struct i2c_bus_ops {
	const char *kind; /* "hostdev", "sim" */
	/*
	 * Run msgs[0..n) (1 <= n <= I2C_BUS_MSGS_MAX) as one transaction.
	 * Returns 0 when every message was acknowledged and transferred, else
	 * -errno: -ENXIO no chip answered its address, -EIO the chip refused
	 * data, -EOPNOTSUPP the bus cannot express this transaction, or what
	 * the host adapter reported. Messages before a failing one may have
	 * taken effect, as on a real bus.
	 */
	int (*xfer)(struct i2c_bus *b, struct i2c_bus_msg *msgs, unsigned n);
	void (*destroy)(struct i2c_bus *b);
};

/* Embedded in each bus kind's own struct; reached with container_of. */
struct i2c_bus {
	const struct i2c_bus_ops *ops;
};

static inline int i2c_bus_xfer(struct i2c_bus *b, struct i2c_bus_msg *msgs,
			       unsigned n)
{
	return b->ops->xfer(b, msgs, n);
}

/* Destroy b (NULL is ignored). */
static inline void i2c_bus_destroy(struct i2c_bus *b)
{
	if (b)
		b->ops->destroy(b);
}

/* ---- simulated chips (devices/i2c_sim.c) ---- */

enum i2c_sim_kind {
	I2C_SIM_24C02, /* 256-byte EEPROM, 8-bit pointer, 8-byte write pages */
	I2C_SIM_REGS,  /* size 8-bit registers, pointer, sequential access */
};

#define I2C_SIM_24C02_SIZE 256u
#define I2C_SIM_24C02_PAGE 8u
#define I2C_SIM_REGS_MAX   256u

struct i2c_sim_chip_desc {
	enum i2c_sim_kind kind;
	uint8_t addr;	     /* 7-bit address */
	uint16_t size;	     /* REGS: 1..I2C_SIM_REGS_MAX; ignored for 24C02 */
	const uint8_t *init; /* initial contents (copied), may be NULL */
	uint16_t ninit;	     /* bytes in init, <= the chip's size */
};

/*
 * Create an empty simulated bus. Returns 0 and sets *out, or -ENOMEM.
 * Chips are added with i2c_sim_add_chip before the bus is used.
 */
int i2c_sim_create(struct i2c_bus **out);

/*
 * Add a chip to a bus made by i2c_sim_create. An EEPROM starts filled with
 * 0xff, a register file with zeros, then init is copied over the start.
 * Returns 0, -EINVAL (bad kind, size or init length, address not 7-bit),
 * -EEXIST (a chip already answers that address), -ENOMEM.
 */
int i2c_sim_add_chip(struct i2c_bus *b, const struct i2c_sim_chip_desc *c);

/*
 * Copy len bytes of a chip's memory from offset off into out, for tests
 * and diagnostics. Returns 0, -ENXIO (no chip at addr), -EINVAL (range).
 */
int i2c_sim_peek(struct i2c_bus *b, uint8_t addr, unsigned off, void *out,
		 unsigned len);

/* ---- Linux i2c-dev adapters (devices/i2c_hostdev.c) ---- */

/*
 * Open path (a /dev/i2c-N character device) and read its functionality
 * (I2C_FUNCS). Returns 0 and sets *out, -ENOTSUP when the adapter can do
 * neither I2C_RDWR nor any SMBus transfer, or the open/ioctl -errno.
 */
int i2c_hostdev_open(struct i2c_bus **out, const char *path);

/* The adapter's I2C_FUNCS bits, as read at open. */
unsigned long i2c_hostdev_funcs(const struct i2c_bus *b);

/*
 * One SMBus call that performs a transaction, as chosen by
 * i2c_hostdev_smbus_plan(). Exposed so the mapping is unit-tested without
 * hardware.
 */
struct i2c_smbus_plan {
	uint8_t addr;
	uint8_t read_write; /* I2C_SMBUS_READ / I2C_SMBUS_WRITE */
	uint8_t command;
	uint32_t size;	  /* I2C_SMBUS_QUICK, _BYTE, _BYTE_DATA, ... */
	uint8_t data_len; /* data bytes moved (command byte excluded) */
	union i2c_smbus_data data; /* write data / block read length */
};

/*
 * Map msgs[0..n) onto one SMBus transfer the adapter supports (funcs are
 * its I2C_FUNC_* bits) and fill plan->data for writes. Shapes, where wN is
 * a write of N bytes and rN a read of N bytes:
 *   w0 quick write      r0 quick read      w1 byte write     r1 byte read
 *   w2 byte-data write  w3 word-data write  w4..w33 I2C block write
 *   w1+r1 byte-data read  w1+r2 word-data read  w1+r3..r32 I2C block read
 * (both messages of a read address one chip). When the byte or word call
 * is not supported, an I2C block transfer of the same bytes is used.
 * Returns 0, or -EOPNOTSUPP when no supported call has this shape.
 */
int i2c_hostdev_smbus_plan(unsigned long funcs, const struct i2c_bus_msg *msgs,
			   unsigned n, struct i2c_smbus_plan *plan);

/*
 * After a read plan ran, copy plan->data into the transaction's read
 * message. Returns 0, or -EIO when an I2C block read returned fewer bytes
 * than asked.
 */
int i2c_hostdev_smbus_unpack(const struct i2c_smbus_plan *plan,
			     struct i2c_bus_msg *msgs, unsigned n);

#endif
