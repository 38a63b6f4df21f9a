// SPDX-License-Identifier: MIT
/*
 * Simulated I2C chips behind the i2c_bus seam, so a board without hardware
 * can be served and tested end to end.
 *
 * Both chip kinds share one protocol: in a write message the first byte
 * loads the chip's address pointer and every further byte is stored at the
 * pointer, which then advances; a read message returns bytes from the
 * pointer on, advancing it. The pointer survives between transactions, so
 * a "current address read" works as on the real part. They differ in how
 * the pointer advances:
 *   24C02: reads roll over at 256; writes stay inside the 8-byte page
 *          (the low 3 bits wrap), as the part's page buffer does.
 *   regs:  the pointer wraps at the register count; a pointer byte beyond
 *          the last register is refused (-EIO, a data NACK).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "i2c_bus.h"
#include "virtio_dev.h" /* container_of */

#define SIM_ADDR_COUNT 128u

struct sim_chip {
	enum i2c_sim_kind kind;
	uint16_t size;
	uint16_t ptr;
	uint8_t mem[I2C_SIM_24C02_SIZE];
};

struct sim_bus {
	struct i2c_bus bus;
	struct sim_chip *chip[SIM_ADDR_COUNT]; /* indexed by 7-bit address */
};

static struct sim_bus *to_sim(struct i2c_bus *b)
{
	return container_of(b, struct sim_bus, bus);
}

static uint16_t next_write_ptr(const struct sim_chip *c)
{
	if (c->kind == I2C_SIM_24C02) {
		uint16_t page = c->ptr & ~(uint16_t)(I2C_SIM_24C02_PAGE - 1);

		return page | ((c->ptr + 1) & (I2C_SIM_24C02_PAGE - 1));
	}
	return (uint16_t)((c->ptr + 1) % c->size);
}

static int chip_write(struct sim_chip *c, const uint8_t *buf, uint32_t len)
{
	if (len == 0)
		return 0; /* quick write: the address was acknowledged */
	if (buf[0] >= c->size)
		return -EIO;
	c->ptr = buf[0];
	for (uint32_t i = 1; i < len; i++) {
		c->mem[c->ptr] = buf[i];
		c->ptr = next_write_ptr(c);
	}
	return 0;
}

static void chip_read(struct sim_chip *c, uint8_t *buf, uint32_t len)
{
	/* Locals: a byte stored to buf may alias the chip for the compiler. */
	uint16_t ptr = c->ptr, size = c->size;

	for (uint32_t i = 0; i < len; i++) {
		buf[i] = c->mem[ptr];
		if (++ptr == size)
			ptr = 0;
	}
	c->ptr = ptr;
}

static int sim_xfer(struct i2c_bus *b, struct i2c_bus_msg *msgs, unsigned n)
{
	struct sim_bus *s = to_sim(b);

	for (unsigned i = 0; i < n; i++) {
		struct sim_chip *c = msgs[i].addr < SIM_ADDR_COUNT
					     ? s->chip[msgs[i].addr]
					     : NULL;
		int ret = 0;

		if (!c)
			return -ENXIO;
		if (msgs[i].flags & I2C_BUS_M_RD)
			chip_read(c, msgs[i].buf, msgs[i].len);
		else
			ret = chip_write(c, msgs[i].buf, msgs[i].len);
		if (ret)
			return ret;
	}
	return 0;
}

static void sim_destroy(struct i2c_bus *b)
{
	struct sim_bus *s = to_sim(b);

	for (unsigned a = 0; a < SIM_ADDR_COUNT; a++)
		free(s->chip[a]);
	free(s);
}

static const struct i2c_bus_ops sim_ops = {
	.kind = "sim",
	.xfer = sim_xfer,
	.destroy = sim_destroy,
};

int i2c_sim_create(struct i2c_bus **out)
{
	struct sim_bus *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->bus.ops = &sim_ops;
	*out = &s->bus;
	return 0;
}

static int chip_size(const struct i2c_sim_chip_desc *c)
{
	switch (c->kind) {
	case I2C_SIM_24C02:
		return I2C_SIM_24C02_SIZE;
	case I2C_SIM_REGS:
		if (c->size == 0 || c->size > I2C_SIM_REGS_MAX)
			return -EINVAL;
		return c->size;
	}
	return -EINVAL;
}

int i2c_sim_add_chip(struct i2c_bus *b, const struct i2c_sim_chip_desc *c)
{
	struct sim_bus *s = to_sim(b);
	struct sim_chip *chip;
	int size = chip_size(c);

	if (b->ops != &sim_ops || size < 0 || c->addr >= SIM_ADDR_COUNT ||
	    c->ninit > size || (c->ninit && !c->init))
		return -EINVAL;
	if (s->chip[c->addr])
		return -EEXIST;
	chip = calloc(1, sizeof(*chip));
	if (!chip)
		return -ENOMEM;
	chip->kind = c->kind;
	chip->size = (uint16_t)size;
	/* An erased EEPROM reads 0xff; a register file powers up as zeros. */
	if (c->kind == I2C_SIM_24C02)
		memset(chip->mem, 0xff, sizeof(chip->mem));
	if (c->ninit)
		memcpy(chip->mem, c->init, c->ninit);
	s->chip[c->addr] = chip;
	return 0;
}

int i2c_sim_peek(struct i2c_bus *b, uint8_t addr, unsigned off, void *out,
		 unsigned len)
{
	struct sim_chip *c;

	if (b->ops != &sim_ops)
		return -EINVAL;
	c = addr < SIM_ADDR_COUNT ? to_sim(b)->chip[addr] : NULL;
	if (!c)
		return -ENXIO;
	if (off > c->size || len > c->size - off)
		return -EINVAL;
	memcpy(out, c->mem + off, len);
	return 0;
}
