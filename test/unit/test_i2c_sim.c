// SPDX-License-Identifier: MIT
/* Unit tests for devices/i2c_sim.c: the simulated 24C02 and register file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "i2c_bus.h"

#define EEPROM 0x50
#define REGS   0x1c

static struct i2c_bus_msg wr(uint8_t addr, uint8_t *buf, uint32_t len)
{
	return (struct i2c_bus_msg){.addr = addr, .len = len, .buf = buf};
}

static struct i2c_bus_msg rd(uint8_t addr, uint8_t *buf, uint32_t len)
{
	return (struct i2c_bus_msg){
		.addr = addr, .flags = I2C_BUS_M_RD, .len = len, .buf = buf};
}

static int setup(void **state)
{
	static const uint8_t init[] = {0x10, 0x11, 0x12, 0x13};
	struct i2c_sim_chip_desc eeprom = {.kind = I2C_SIM_24C02,
					   .addr = EEPROM};
	struct i2c_sim_chip_desc regs = {.kind = I2C_SIM_REGS,
					 .addr = REGS,
					 .size = 16,
					 .init = init,
					 .ninit = sizeof(init)};
	struct i2c_bus *b;

	assert_int_equal(i2c_sim_create(&b), 0);
	assert_int_equal(i2c_sim_add_chip(b, &eeprom), 0);
	assert_int_equal(i2c_sim_add_chip(b, &regs), 0);
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	i2c_bus_destroy(*state);
	return 0;
}

/* Write a pointer byte then read n bytes in one transaction. */
static int read_at(struct i2c_bus *b, uint8_t addr, uint8_t ptr, uint8_t *out,
		   uint32_t n)
{
	struct i2c_bus_msg m[2] = {wr(addr, &ptr, 1), rd(addr, out, n)};

	return i2c_bus_xfer(b, m, 2);
}

static void test_eeprom_starts_erased(void **state)
{
	uint8_t out[4];

	assert_int_equal(read_at(*state, EEPROM, 0x00, out, 4), 0);
	assert_memory_equal(out, "\xff\xff\xff\xff", 4);
}

static void test_eeprom_write_then_read(void **state)
{
	uint8_t w[] = {0x10, 0xab, 0xcd};
	struct i2c_bus_msg m = wr(EEPROM, w, sizeof(w));
	uint8_t out[2];

	assert_int_equal(i2c_bus_xfer(*state, &m, 1), 0);
	assert_int_equal(read_at(*state, EEPROM, 0x10, out, 2), 0);
	assert_memory_equal(out, "\xab\xcd", 2);
}

static void test_eeprom_page_write_wraps_at_8(void **state)
{
	/* Start at 0x06: 0x06, 0x07, then wrap to 0x00 of the same page. */
	uint8_t w[] = {0x06, 1, 2, 3, 4};
	struct i2c_bus_msg m = wr(EEPROM, w, sizeof(w));
	uint8_t page[9];

	assert_int_equal(i2c_bus_xfer(*state, &m, 1), 0);
	assert_int_equal(i2c_sim_peek(*state, EEPROM, 0, page, 9), 0);
	assert_memory_equal(page, "\x03\x04\xff\xff\xff\xff\x01\x02\xff", 9);
}

static void test_eeprom_sequential_read_rolls_over(void **state)
{
	uint8_t w[] = {0x00, 0x5a};
	struct i2c_bus_msg m = wr(EEPROM, w, sizeof(w));
	uint8_t out[3];

	assert_int_equal(i2c_bus_xfer(*state, &m, 1), 0);
	assert_int_equal(read_at(*state, EEPROM, 0xfe, out, 3), 0);
	assert_memory_equal(out, "\xff\xff\x5a", 3);
}

static void test_eeprom_current_address_read(void **state)
{
	uint8_t w[] = {0x20, 7, 8, 9};
	uint8_t ptr = 0x20, out[2];
	struct i2c_bus_msg m = wr(EEPROM, w, sizeof(w));
	struct i2c_bus_msg set = wr(EEPROM, &ptr, 1);
	struct i2c_bus_msg get = rd(EEPROM, out, 1);

	assert_int_equal(i2c_bus_xfer(*state, &m, 1), 0);
	/* The pointer survives between transactions. */
	assert_int_equal(i2c_bus_xfer(*state, &set, 1), 0);
	assert_int_equal(i2c_bus_xfer(*state, &get, 1), 0);
	get.buf = out + 1;
	assert_int_equal(i2c_bus_xfer(*state, &get, 1), 0);
	assert_memory_equal(out, "\x07\x08", 2);
}

static void test_quick_and_zero_length(void **state)
{
	struct i2c_bus_msg q = wr(EEPROM, NULL, 0);
	struct i2c_bus_msg qr = rd(REGS, NULL, 0);

	assert_int_equal(i2c_bus_xfer(*state, &q, 1), 0);
	assert_int_equal(i2c_bus_xfer(*state, &qr, 1), 0);
}

static void test_absent_chip_nacks(void **state)
{
	uint8_t b = 0;
	struct i2c_bus_msg m = rd(0x51, &b, 1);

	assert_int_equal(i2c_bus_xfer(*state, &m, 1), -ENXIO);
}

static void test_second_message_fails_transaction(void **state)
{
	uint8_t ptr = 0, out;
	struct i2c_bus_msg m[2] = {wr(EEPROM, &ptr, 1), rd(0x51, &out, 1)};

	assert_int_equal(i2c_bus_xfer(*state, m, 2), -ENXIO);
}

static void test_regs_init_and_sequential(void **state)
{
	uint8_t out[6];

	assert_int_equal(read_at(*state, REGS, 0x02, out, 4), 0);
	assert_memory_equal(out, "\x12\x13\x00\x00", 4);
	/* Reads wrap at the register count (16). */
	assert_int_equal(read_at(*state, REGS, 0x0e, out, 4), 0);
	assert_memory_equal(out, "\x00\x00\x10\x11", 4);
}

static void test_regs_write_autoincrement_and_wrap(void **state)
{
	uint8_t w[] = {0x0f, 0xaa, 0xbb};
	struct i2c_bus_msg m = wr(REGS, w, sizeof(w));
	uint8_t out[2];

	assert_int_equal(i2c_bus_xfer(*state, &m, 1), 0);
	assert_int_equal(i2c_sim_peek(*state, REGS, 0x0f, out, 1), 0);
	assert_int_equal(out[0], 0xaa);
	assert_int_equal(i2c_sim_peek(*state, REGS, 0x00, out, 1), 0);
	assert_int_equal(out[0], 0xbb);
}

static void test_regs_pointer_out_of_range(void **state)
{
	uint8_t w[] = {0x10, 0x01};
	struct i2c_bus_msg m = wr(REGS, w, sizeof(w));

	assert_int_equal(i2c_bus_xfer(*state, &m, 1), -EIO);
}

static void test_add_chip_errors(void **state)
{
	uint8_t big[257] = {0};
	struct i2c_sim_chip_desc c = {.kind = I2C_SIM_REGS, .addr = 0x30};

	c.size = 0;
	assert_int_equal(i2c_sim_add_chip(*state, &c), -EINVAL);
	c.size = 257;
	assert_int_equal(i2c_sim_add_chip(*state, &c), -EINVAL);
	c.size = 4;
	c.init = big;
	c.ninit = 5;
	assert_int_equal(i2c_sim_add_chip(*state, &c), -EINVAL);
	c.ninit = 0;
	c.addr = 0x80;
	assert_int_equal(i2c_sim_add_chip(*state, &c), -EINVAL);
	c.addr = REGS;
	assert_int_equal(i2c_sim_add_chip(*state, &c), -EEXIST);
	c.kind = (enum i2c_sim_kind)7;
	c.addr = 0x31;
	assert_int_equal(i2c_sim_add_chip(*state, &c), -EINVAL);
	/* An EEPROM takes up to 256 bytes of initial contents, not more. */
	c.kind = I2C_SIM_24C02;
	c.ninit = 257;
	assert_int_equal(i2c_sim_add_chip(*state, &c), -EINVAL);
	c.ninit = 256;
	assert_int_equal(i2c_sim_add_chip(*state, &c), 0);
}

static void test_peek_errors(void **state)
{
	uint8_t out[2];

	assert_int_equal(i2c_sim_peek(*state, 0x33, 0, out, 1), -ENXIO);
	assert_int_equal(i2c_sim_peek(*state, REGS, 15, out, 2), -EINVAL);
	assert_int_equal(i2c_sim_peek(*state, EEPROM, 255, out, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_eeprom_starts_erased),
		T(test_eeprom_write_then_read),
		T(test_eeprom_page_write_wraps_at_8),
		T(test_eeprom_sequential_read_rolls_over),
		T(test_eeprom_current_address_read),
		T(test_quick_and_zero_length),
		T(test_absent_chip_nacks),
		T(test_second_message_fails_transaction),
		T(test_regs_init_and_sequential),
		T(test_regs_write_autoincrement_and_wrap),
		T(test_regs_pointer_out_of_range),
		T(test_add_chip_errors),
		T(test_peek_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
