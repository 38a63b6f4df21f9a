// SPDX-License-Identifier: MIT
/*
 * Unit tests for xen/xen_target.c: the domctl interface version of each
 * Xen release virtiobox knows, and a refusal for the others. The
 * hypercall itself runs under emulated Xen in
 * test/system/test_driver_domain.py.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "xen_target.h"

static void test_domctl_versions(void **state)
{
	uint32_t v = 0;

	(void)state;
	assert_int_equal(xen_target_domctl_version(4, 17, &v), 0);
	assert_int_equal(v, 0x15);
	assert_int_equal(xen_target_domctl_version(4, 18, &v), 0);
	assert_int_equal(v, 0x16);
	assert_int_equal(xen_target_domctl_version(4, 19, &v), 0);
	assert_int_equal(v, 0x17);
	assert_int_equal(xen_target_domctl_version(4, 20, &v), 0);
	assert_int_equal(v, 0x17);
	v = 0;
	assert_int_equal(xen_target_domctl_version(4, 16, &v), -ENOTSUP);
	assert_int_equal(xen_target_domctl_version(5, 0, &v), -ENOTSUP);
	assert_int_equal(v, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domctl_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
