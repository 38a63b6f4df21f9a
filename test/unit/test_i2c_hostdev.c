// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/i2c_hostdev.c without hardware: the mapping of
 * transactions onto SMBus calls, the unpacking of their results, and the
 * open errors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "i2c_bus.h"

#define ALL (I2C_FUNC_SMBUS_EMUL)

static uint8_t wbuf[40] = {0x10, 0x21, 0x32, 0x43, 0x54};
static uint8_t rbuf[40];

static struct i2c_bus_msg w(uint32_t len)
{
	return (struct i2c_bus_msg){.addr = 0x50, .len = len, .buf = wbuf};
}

static struct i2c_bus_msg r(uint32_t len)
{
	return (struct i2c_bus_msg){
		.addr = 0x50, .flags = I2C_BUS_M_RD, .len = len, .buf = rbuf};
}

static void expect_plan(unsigned long funcs, struct i2c_bus_msg *m, unsigned n,
			uint8_t rw, uint32_t size, uint8_t command,
			uint8_t data_len, struct i2c_smbus_plan *p)
{
	assert_int_equal(i2c_hostdev_smbus_plan(funcs, m, n, p), 0);
	assert_int_equal(p->addr, 0x50);
	assert_int_equal(p->read_write, rw);
	assert_int_equal(p->size, size);
	assert_int_equal(p->command, command);
	assert_int_equal(p->data_len, data_len);
}

static void test_quick(void **state)
{
	struct i2c_bus_msg mw = w(0), mr = r(0);
	struct i2c_smbus_plan p;

	(void)state;
	expect_plan(ALL, &mw, 1, I2C_SMBUS_WRITE, I2C_SMBUS_QUICK, 0, 0, &p);
	expect_plan(ALL, &mr, 1, I2C_SMBUS_READ, I2C_SMBUS_QUICK, 0, 0, &p);
	assert_int_equal(
		i2c_hostdev_smbus_plan(ALL & ~I2C_FUNC_SMBUS_QUICK, &mw, 1, &p),
		-EOPNOTSUPP);
}

static void test_byte(void **state)
{
	struct i2c_bus_msg mw = w(1), mr = r(1);
	struct i2c_smbus_plan p;

	(void)state;
	expect_plan(ALL, &mw, 1, I2C_SMBUS_WRITE, I2C_SMBUS_BYTE, 0x10, 0, &p);
	expect_plan(ALL, &mr, 1, I2C_SMBUS_READ, I2C_SMBUS_BYTE, 0, 1, &p);
	p.data.byte = 0x99;
	assert_int_equal(i2c_hostdev_smbus_unpack(&p, &mr, 1), 0);
	assert_int_equal(rbuf[0], 0x99);
	assert_int_equal(
		i2c_hostdev_smbus_plan(I2C_FUNC_SMBUS_WRITE_BYTE, &mr, 1, &p),
		-EOPNOTSUPP);
}

static void test_byte_data(void **state)
{
	struct i2c_bus_msg mw = w(2);
	struct i2c_bus_msg rd[2] = {w(1), r(1)};
	struct i2c_smbus_plan p;

	(void)state;
	expect_plan(ALL, &mw, 1, I2C_SMBUS_WRITE, I2C_SMBUS_BYTE_DATA, 0x10, 1,
		    &p);
	assert_int_equal(p.data.byte, 0x21);
	expect_plan(ALL, rd, 2, I2C_SMBUS_READ, I2C_SMBUS_BYTE_DATA, 0x10, 1,
		    &p);
	p.data.byte = 0x5a;
	assert_int_equal(i2c_hostdev_smbus_unpack(&p, rd, 2), 0);
	assert_int_equal(rbuf[0], 0x5a);
}

static void test_word_data_is_little_endian(void **state)
{
	struct i2c_bus_msg mw = w(3);
	struct i2c_bus_msg rd[2] = {w(1), r(2)};
	struct i2c_smbus_plan p;

	(void)state;
	expect_plan(ALL, &mw, 1, I2C_SMBUS_WRITE, I2C_SMBUS_WORD_DATA, 0x10, 2,
		    &p);
	assert_int_equal(p.data.word, 0x3221);
	expect_plan(ALL, rd, 2, I2C_SMBUS_READ, I2C_SMBUS_WORD_DATA, 0x10, 2,
		    &p);
	p.data.word = 0xbeef;
	assert_int_equal(i2c_hostdev_smbus_unpack(&p, rd, 2), 0);
	assert_memory_equal(rbuf, "\xef\xbe", 2);
}

static void test_i2c_block(void **state)
{
	struct i2c_bus_msg mw = w(5);
	struct i2c_bus_msg rd[2] = {w(1), r(20)};
	struct i2c_smbus_plan p;

	(void)state;
	expect_plan(ALL, &mw, 1, I2C_SMBUS_WRITE, I2C_SMBUS_I2C_BLOCK_DATA,
		    0x10, 4, &p);
	assert_int_equal(p.data.block[0], 4);
	assert_memory_equal(&p.data.block[1], "\x21\x32\x43\x54", 4);
	expect_plan(ALL, rd, 2, I2C_SMBUS_READ, I2C_SMBUS_I2C_BLOCK_DATA, 0x10,
		    20, &p);
	assert_int_equal(p.data.block[0], 20);
	for (int i = 0; i < 20; i++)
		p.data.block[1 + i] = (uint8_t)(0xc0 + i);
	assert_int_equal(i2c_hostdev_smbus_unpack(&p, rd, 2), 0);
	assert_int_equal(rbuf[0], 0xc0);
	assert_int_equal(rbuf[19], 0xd3);
	/* The adapter returned fewer bytes than asked for. */
	p.data.block[0] = 19;
	assert_int_equal(i2c_hostdev_smbus_unpack(&p, rd, 2), -EIO);
}

static void test_block_fallback(void **state)
{
	unsigned long block_only = I2C_FUNC_SMBUS_I2C_BLOCK;
	struct i2c_bus_msg w2 = w(2), w3 = w(3);
	struct i2c_bus_msg rd1[2] = {w(1), r(1)};
	struct i2c_bus_msg rd2[2] = {w(1), r(2)};
	struct i2c_smbus_plan p;

	(void)state;
	expect_plan(block_only, &w2, 1, I2C_SMBUS_WRITE,
		    I2C_SMBUS_I2C_BLOCK_DATA, 0x10, 1, &p);
	expect_plan(block_only, &w3, 1, I2C_SMBUS_WRITE,
		    I2C_SMBUS_I2C_BLOCK_DATA, 0x10, 2, &p);
	expect_plan(block_only, rd1, 2, I2C_SMBUS_READ,
		    I2C_SMBUS_I2C_BLOCK_DATA, 0x10, 1, &p);
	expect_plan(block_only, rd2, 2, I2C_SMBUS_READ,
		    I2C_SMBUS_I2C_BLOCK_DATA, 0x10, 2, &p);
}

static void test_unmappable_shapes(void **state)
{
	struct i2c_bus_msg too_long = w(34);
	struct i2c_bus_msg rd_long[2] = {w(1), r(33)};
	struct i2c_bus_msg two_cmd[2] = {w(2), r(1)};
	struct i2c_bus_msg two_writes[2] = {w(1), w(1)};
	struct i2c_bus_msg other_chip[2] = {w(1), r(1)};
	struct i2c_bus_msg three[3] = {w(1), r(1), r(1)};
	struct i2c_bus_msg plain_read = r(2);
	struct i2c_smbus_plan p;

	(void)state;
	other_chip[1].addr = 0x51;
	assert_int_equal(i2c_hostdev_smbus_plan(ALL, &too_long, 1, &p),
			 -EOPNOTSUPP);
	assert_int_equal(i2c_hostdev_smbus_plan(ALL, rd_long, 2, &p),
			 -EOPNOTSUPP);
	assert_int_equal(i2c_hostdev_smbus_plan(ALL, two_cmd, 2, &p),
			 -EOPNOTSUPP);
	assert_int_equal(i2c_hostdev_smbus_plan(ALL, two_writes, 2, &p),
			 -EOPNOTSUPP);
	assert_int_equal(i2c_hostdev_smbus_plan(ALL, other_chip, 2, &p),
			 -EOPNOTSUPP);
	assert_int_equal(i2c_hostdev_smbus_plan(ALL, three, 3, &p),
			 -EOPNOTSUPP);
	assert_int_equal(i2c_hostdev_smbus_plan(ALL, &plain_read, 1, &p),
			 -EOPNOTSUPP);
	assert_int_equal(i2c_hostdev_smbus_plan(ALL, NULL, 0, &p), -EOPNOTSUPP);
	/* Nothing at all supported. */
	assert_int_equal(i2c_hostdev_smbus_plan(0, two_cmd, 1, &p),
			 -EOPNOTSUPP);
}

static void test_unpack_write_is_noop(void **state)
{
	struct i2c_bus_msg mw = w(2);
	struct i2c_smbus_plan p;

	(void)state;
	assert_int_equal(i2c_hostdev_smbus_plan(ALL, &mw, 1, &p), 0);
	memset(rbuf, 0x77, sizeof(rbuf));
	assert_int_equal(i2c_hostdev_smbus_unpack(&p, &mw, 1), 0);
	assert_int_equal(rbuf[0], 0x77);
}

static void test_open_errors(void **state)
{
	struct i2c_bus *b = NULL;
	int ret;

	(void)state;
	assert_int_equal(i2c_hostdev_open(&b, "/nonexistent/i2c-9"), -ENOENT);
	/* Not an i2c-dev node: I2C_FUNCS is not understood. qemu-user (the
	 * aarch64 run of this test) answers unknown ioctls with ENOSYS. */
	ret = i2c_hostdev_open(&b, "/dev/null");
	if (ret != -ENOSYS)
		assert_int_equal(ret, -ENOTTY);
	assert_null(b);
}

/* Run one transaction on a real adapter. */
static int xfer(struct i2c_bus *b, struct i2c_bus_msg *m, unsigned n)
{
	return i2c_bus_xfer(b, m, n);
}

/*
 * VB_I2C_CLAIMED names an address a kernel driver holds on the adapter (the
 * integration tests bind i2c-core's "dummy" driver there through
 * new_device): a transaction to it fails with EBUSY on either path, alone
 * or behind a message to a free address, and reaches no chip.
 */
static void expect_claimed_refused(struct i2c_bus *b)
{
	const char *claimed = getenv("VB_I2C_CLAIMED");
	uint8_t byte[1] = {0};
	struct i2c_bus_msg m[2] = {
		{.addr = 0x50, .len = 1, .buf = byte},
		{.len = 1, .buf = byte},
	};

	if (!claimed)
		return;
	m[1].addr = (uint16_t)strtoul(claimed, NULL, 0);
	assert_int_equal(xfer(b, &m[1], 1), -EBUSY);
	m[1].flags = I2C_BUS_M_RD;
	assert_int_equal(xfer(b, &m[1], 1), -EBUSY);
	if (i2c_hostdev_funcs(b) & I2C_FUNC_I2C)
		assert_int_equal(xfer(b, m, 2), -EBUSY);
}

/*
 * Against a real SMBus-only adapter: Linux's i2c-stub with a chip at 0x50
 * (insmod i2c-stub.ko chip_addr=0x50), its node named by VB_I2C_STUB_DEV.
 * test/integration/test_i2c_hostdev_stub.py runs this inside a guest;
 * anywhere else it is skipped.
 */
static void test_stub_adapter(void **state)
{
	const char *dev = getenv("VB_I2C_STUB_DEV");
	uint8_t w[8], r[8] = {0};
	struct i2c_bus_msg wr = {.addr = 0x50, .buf = w};
	struct i2c_bus_msg rd[2] = {
		{.addr = 0x50, .len = 1, .buf = w},
		{.addr = 0x50, .flags = I2C_BUS_M_RD, .buf = r},
	};
	struct i2c_bus *b;

	(void)state;
	if (!dev)
		skip();
	assert_int_equal(i2c_hostdev_open(&b, dev), 0);
	/* SMBus only: every transaction goes through the mapping. */
	assert_false(i2c_hostdev_funcs(b) & I2C_FUNC_I2C);
	/* byte data: write 0xab at 0x10, read it back */
	memcpy(w, "\x10\xab", 2);
	wr.len = 2;
	assert_int_equal(xfer(b, &wr, 1), 0);
	rd[1].len = 1;
	assert_int_equal(xfer(b, rd, 2), 0);
	assert_int_equal(r[0], 0xab);
	/* word data: 0x1234 at 0x20, low byte first on the wire */
	memcpy(w, "\x20\x34\x12", 3);
	wr.len = 3;
	assert_int_equal(xfer(b, &wr, 1), 0);
	rd[1].len = 2;
	assert_int_equal(xfer(b, rd, 2), 0);
	assert_memory_equal(r, "\x34\x12", 2);
	/* I2C block: four bytes at 0x30 */
	memcpy(w, "\x30\x01\x02\x03\x04", 5);
	wr.len = 5;
	assert_int_equal(xfer(b, &wr, 1), 0);
	rd[1].len = 4;
	assert_int_equal(xfer(b, rd, 2), 0);
	assert_memory_equal(r, "\x01\x02\x03\x04", 4);
	/* quick write, then send byte + receive byte */
	wr.len = 0;
	assert_int_equal(xfer(b, &wr, 1), 0);
	w[0] = 0x10;
	wr.len = 1;
	assert_int_equal(xfer(b, &wr, 1), 0);
	rd[1].len = 1;
	assert_int_equal(xfer(b, &rd[1], 1), 0);
	assert_int_equal(r[0], 0xab);
	/* no chip at 0x51; shapes no SMBus call has */
	wr.addr = 0x51;
	assert_int_equal(xfer(b, &wr, 1), -ENODEV);
	expect_claimed_refused(b);
	wr.addr = 0x50;
	assert_int_equal(xfer(b, (struct i2c_bus_msg[]){wr, wr, wr}, 3),
			 -EOPNOTSUPP);
	i2c_bus_destroy(b);
}

/*
 * Against a real adapter with I2C_FUNC_I2C, so transactions go out whole
 * through I2C_RDWR: the guest's virtio-i2c adapter, served by a host
 * virtiobox on board/host-sim.conf (24C02 at 0x50 starting "vbox", 0x20 off
 * the allow-list), its node named by VB_I2C_RDWR_DEV.
 * test/integration/test_i2c_hostdev_stub.py runs this inside such a guest;
 * anywhere else it is skipped.
 */
static void test_rdwr_adapter(void **state)
{
	const char *dev = getenv("VB_I2C_RDWR_DEV");
	uint8_t ptr[1], data[9], r[8] = {0};
	struct i2c_bus_msg wr = {.addr = 0x50, .buf = data};
	struct i2c_bus_msg rd[2] = {
		{.addr = 0x50, .len = 1, .buf = ptr},
		{.addr = 0x50, .flags = I2C_BUS_M_RD, .len = 4, .buf = r},
	};
	struct i2c_bus *b;

	(void)state;
	if (!dev)
		skip();
	assert_int_equal(i2c_hostdev_open(&b, dev), 0);
	assert_true(i2c_hostdev_funcs(b) & I2C_FUNC_I2C);
	/* Pointer write + read in one transaction (a repeated start). */
	ptr[0] = 0x00;
	assert_int_equal(xfer(b, rd, 2), 0);
	assert_memory_equal(r, "vbox", 4);
	/* An 8-byte page write, read back whole: shapes SMBus has not. */
	memcpy(data, "\x40\x11\x22\x33\x44\x55\x66\x77\x88", 9);
	wr.len = 9;
	assert_int_equal(xfer(b, &wr, 1), 0);
	ptr[0] = 0x40;
	rd[1].len = 8;
	assert_int_equal(xfer(b, rd, 2), 0);
	assert_memory_equal(r, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	/* An address the host refuses fails the whole transaction. */
	rd[0].addr = rd[1].addr = 0x20;
	assert_int_equal(xfer(b, rd, 2), -EIO);
	expect_claimed_refused(b);
	i2c_bus_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quick),
		cmocka_unit_test(test_byte),
		cmocka_unit_test(test_byte_data),
		cmocka_unit_test(test_word_data_is_little_endian),
		cmocka_unit_test(test_i2c_block),
		cmocka_unit_test(test_block_fallback),
		cmocka_unit_test(test_unmappable_shapes),
		cmocka_unit_test(test_unpack_write_is_noop),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_stub_adapter),
		cmocka_unit_test(test_rdwr_adapter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
