// SPDX-License-Identifier: MIT
/*
 * Unit tests for xen/xen_virtio_entry.c: parsing libxl's xenstore
 * description of a generic virtio device, rule by rule.
 */
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

#include "xen_virtio_entry.h"

/* What libxl 4.20 writes for `type=virtio,device22, transport=mmio`. */
static const struct xen_virtio_strings libxl_i2c = {
	.base = "0x2000000",
	.irq = "33",
	.type = "virtio,device22",
	.grant_usage = "1",
};

static int parse(const struct xen_virtio_strings *s, struct xen_virtio_entry *e,
		 char *why)
{
	memset(e, 0, sizeof(*e));
	return xen_virtio_entry_parse(e, s, why, 160);
}

static void test_libxl_entry(void **state)
{
	struct xen_virtio_entry e;
	char why[160];

	(void)state;
	assert_int_equal(parse(&libxl_i2c, &e, why), 0);
	assert_int_equal(e.base, 0x2000000);
	assert_int_equal(e.irq, 33);
	assert_int_equal(e.device_id, 34); /* VIRTIO_ID_I2C_ADAPTER */
	assert_true(e.grant);
	assert_string_equal(why, "");
}

static void test_grant_usage(void **state)
{
	struct xen_virtio_strings s = libxl_i2c;
	struct xen_virtio_entry e;
	char why[160];

	(void)state;
	s.grant_usage = "0";
	assert_int_equal(parse(&s, &e, why), 0);
	assert_false(e.grant);
	s.grant_usage = NULL; /* libxl's default: grants */
	assert_int_equal(parse(&s, &e, why), 0);
	assert_true(e.grant);
	s.grant_usage = "2";
	assert_int_equal(parse(&s, &e, why), -EINVAL);
	assert_string_equal(why, "grant_usage \"2\" is not 0 or 1");
	s.grant_usage = "yes";
	assert_int_equal(parse(&s, &e, why), -EINVAL);
}

static void test_base(void **state)
{
	static const char *const bad[] = {
		NULL,	     "2000000",	  "0x",
		"0x2000100", "0x20000zz", "0xffffffffffffff00",
		"-0x200",    "0x 200",
	};
	struct xen_virtio_strings s = libxl_i2c;
	struct xen_virtio_entry e;
	char why[160];

	(void)state;
	s.base = "0x2000200";
	assert_int_equal(parse(&s, &e, why), 0);
	assert_int_equal(e.base, 0x2000200);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.base = bad[i];
		assert_int_equal(parse(&s, &e, why), -EINVAL);
		assert_non_null(strstr(why, "0x200-aligned hex address"));
	}
	s.base = NULL;
	parse(&s, &e, why);
	assert_string_equal(why, "base \"(missing)\" is not a 0x200-aligned "
				 "hex address");
}

static void test_irq(void **state)
{
	static const char *const bad[] = {NULL,	 "0", "31", "1020",
					  "33x", "",  "-33"};
	struct xen_virtio_strings s = libxl_i2c;
	struct xen_virtio_entry e;
	char why[160];

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.irq = bad[i];
		assert_int_equal(parse(&s, &e, why), -EINVAL);
	}
	/* Without transport=mmio libxl writes irq 0: the message says so. */
	s.irq = "0";
	parse(&s, &e, why);
	assert_non_null(strstr(why, "transport=mmio"));
	s.irq = "43";
	assert_int_equal(parse(&s, &e, why), 0);
	assert_int_equal(e.irq, 43);
}

static void test_type(void **state)
{
	uint32_t id = 0;

	(void)state;
	assert_int_equal(xen_virtio_type_parse("virtio,device22", &id), 0);
	assert_int_equal(id, 34);
	assert_int_equal(xen_virtio_type_parse("virtio,device29", &id), 0);
	assert_int_equal(id, 41); /* gpio */
	assert_int_equal(xen_virtio_type_parse("virtio,device13", &id), 0);
	assert_int_equal(id, 19); /* vsock */
	assert_int_equal(xen_virtio_type_parse("virtio,device", &id), -EINVAL);
	assert_int_equal(xen_virtio_type_parse("virtio,device0", &id), -EINVAL);
	assert_int_equal(xen_virtio_type_parse("virtio,device0x22", &id),
			 -EINVAL);
	assert_int_equal(xen_virtio_type_parse("virtio,devicezz", &id),
			 -EINVAL);
	assert_int_equal(xen_virtio_type_parse("virtio,mmio", &id), -EINVAL);
	assert_int_equal(xen_virtio_type_parse(NULL, &id), -EINVAL);
}

static void test_uint(void **state)
{
	unsigned v = 7;

	(void)state;
	assert_int_equal(xen_virtio_uint_parse("5", 10, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(xen_virtio_uint_parse("11", 10, &v), -EINVAL);
	assert_int_equal(xen_virtio_uint_parse("", 10, &v), -EINVAL);
	assert_int_equal(xen_virtio_uint_parse("1a", 10, &v), -EINVAL);
	assert_int_equal(xen_virtio_uint_parse("-1", 10, &v), -EINVAL);
	assert_int_equal(xen_virtio_uint_parse(NULL, 10, &v), -EINVAL);
	assert_int_equal(v, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libxl_entry),
		cmocka_unit_test(test_grant_usage),
		cmocka_unit_test(test_base),
		cmocka_unit_test(test_irq),
		cmocka_unit_test(test_type),
		cmocka_unit_test(test_uint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
