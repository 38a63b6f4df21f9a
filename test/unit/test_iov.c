// SPDX-License-Identifier: MIT
/*
 * iovec copy helpers (core/iov.c): offsets inside, at the end of and past
 * segments, zero-length (and NULL) segments, arrays shorter than the
 * request, exact byte counts, and nothing touched outside the ranges.
 */

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdbool.h>
#include <string.h>

#include "iov.h"

/*
 * Guest-like backing store: "0123456789" cut into segments of 3, 0, 4, 3
 * bytes, each inside a guard area that must stay 0xee.
 */
struct fixture {
	uint8_t mem[64];
	struct iovec iov[4];
};

static void fixture_init(struct fixture *f)
{
	static const size_t at[4] = {2, 10, 20, 30}, len[4] = {3, 0, 4, 3};
	const char *text = "0123456789";

	memset(f->mem, 0xee, sizeof(f->mem));
	for (unsigned i = 0; i < 4; i++) {
		f->iov[i].iov_base = f->mem + at[i];
		f->iov[i].iov_len = len[i];
		memcpy(f->mem + at[i], text, len[i]);
		text += len[i];
	}
}

/* Every byte outside the segments is still the guard value. */
static void assert_guards(const struct fixture *f)
{
	for (size_t b = 0; b < sizeof(f->mem); b++) {
		bool inside = false;

		for (unsigned i = 0; i < 4; i++)
			if (f->mem + b >= (uint8_t *)f->iov[i].iov_base &&
			    f->mem + b < (uint8_t *)f->iov[i].iov_base +
						 f->iov[i].iov_len)
				inside = true;
		if (!inside)
			assert_int_equal(f->mem[b], 0xee);
	}
}

static void test_to_buf_whole(void **state)
{
	struct fixture f;
	char out[16];

	(void)state;
	fixture_init(&f);
	memset(out, 'x', sizeof(out));
	assert_int_equal(iov_to_buf(f.iov, 4, 0, out, 10), 10);
	assert_memory_equal(out, "0123456789", 10);
	assert_int_equal(out[10], 'x'); /* nothing past len */
	/* Asking for more than there is copies what there is. */
	memset(out, 'x', sizeof(out));
	assert_int_equal(iov_to_buf(f.iov, 4, 0, out, sizeof(out)), 10);
	assert_memory_equal(out, "0123456789", 10);
	assert_int_equal(out[10], 'x');
}

static void test_to_buf_offsets(void **state)
{
	struct fixture f;
	char out[16] = {0};

	(void)state;
	fixture_init(&f);
	/* Inside the first segment, across the empty one into the third. */
	assert_int_equal(iov_to_buf(f.iov, 4, 1, out, 4), 4);
	assert_memory_equal(out, "1234", 4);
	/* Exactly at a segment boundary (the empty segment sits there). */
	assert_int_equal(iov_to_buf(f.iov, 4, 3, out, 4), 4);
	assert_memory_equal(out, "3456", 4);
	/* Inside the last segment, running off the end. */
	assert_int_equal(iov_to_buf(f.iov, 4, 8, out, 5), 2);
	assert_memory_equal(out, "89", 2);
	/* At and past the end: nothing. */
	memset(out, 'x', sizeof(out));
	assert_int_equal(iov_to_buf(f.iov, 4, 10, out, 1), 0);
	assert_int_equal(iov_to_buf(f.iov, 4, 11, out, 1), 0);
	assert_int_equal(iov_to_buf(f.iov, 4, SIZE_MAX, out, 1), 0);
	assert_int_equal(out[0], 'x');
}

static void test_to_buf_short_array(void **state)
{
	struct fixture f;
	char out[16] = {0};

	(void)state;
	fixture_init(&f);
	/* n counts, not the data: the last segment is not looked at. */
	assert_int_equal(iov_to_buf(f.iov, 3, 0, out, 10), 7);
	assert_memory_equal(out, "0123456", 7);
	assert_int_equal(iov_to_buf(f.iov, 1, 2, out, 10), 1);
	assert_memory_equal(out, "2", 1);
	assert_int_equal(iov_to_buf(f.iov, 0, 0, out, 10), 0);
	assert_int_equal(iov_to_buf(NULL, 0, 0, out, 10), 0);
	/* Zero bytes asked: zero copied, buf not touched (may be NULL). */
	assert_int_equal(iov_to_buf(f.iov, 4, 0, NULL, 0), 0);
}

static void test_zero_length_segments(void **state)
{
	uint8_t a[2] = {'a', 'b'}, b[1] = {'c'};
	struct iovec iov[] = {
		{NULL, 0}, {a, 2}, {NULL, 0}, {NULL, 0}, {b, 1}, {NULL, 0},
	};
	char out[4] = {0};

	(void)state;
	assert_int_equal(iov_to_buf(iov, 6, 0, out, 4), 3);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(iov_to_buf(iov, 6, 2, out, 4), 1);
	assert_int_equal(out[0], 'c');
	assert_int_equal(iov_from_buf(iov, 6, 1, "XY", 2), 2);
	assert_memory_equal(a, "aX", 2);
	assert_int_equal(b[0], 'Y');
	/* Only empty segments: nothing either way. */
	assert_int_equal(iov_to_buf(iov, 1, 0, out, 4), 0);
	assert_int_equal(iov_from_buf(iov, 1, 0, "Z", 1), 0);
}

static void test_from_buf(void **state)
{
	struct fixture f;
	char out[16] = {0};

	(void)state;
	fixture_init(&f);
	/* Across every boundary. */
	assert_int_equal(iov_from_buf(f.iov, 4, 2, "abcdef", 6), 6);
	assert_int_equal(iov_to_buf(f.iov, 4, 0, out, 10), 10);
	assert_memory_equal(out, "01abcdef89", 10);
	assert_guards(&f);
	/* Running off the end writes what fits and says so. */
	assert_int_equal(iov_from_buf(f.iov, 4, 8, "XYZ", 3), 2);
	assert_int_equal(iov_to_buf(f.iov, 4, 0, out, 10), 10);
	assert_memory_equal(out, "01abcdefXY", 10);
	assert_guards(&f);
	/* The status byte of a request: the last byte, wherever it is. */
	assert_int_equal(iov_from_buf(f.iov, 4, 9, "!", 1), 1);
	assert_int_equal(((uint8_t *)f.iov[3].iov_base)[2], '!');
	/* Past the end, or a short array: nothing. */
	assert_int_equal(iov_from_buf(f.iov, 4, 10, "Q", 1), 0);
	assert_int_equal(iov_from_buf(f.iov, 2, 3, "Q", 1), 0);
	assert_int_equal(iov_from_buf(f.iov, 4, 0, "Q", 0), 0);
	assert_guards(&f);
}

static void test_single_byte_segments(void **state)
{
	uint8_t m[8];
	struct iovec iov[8];
	char out[8];

	(void)state;
	for (unsigned i = 0; i < 8; i++)
		iov[i] = (struct iovec){&m[i], 1};
	/* Byte counts are exact for every offset and length. */
	for (size_t off = 0; off <= 9; off++) {
		for (size_t len = 0; len <= 9; len++) {
			size_t want = off >= 8 ? 0 : 8 - off;

			if (want > len)
				want = len;
			memcpy(m, "ABCDEFGH", 8);
			assert_int_equal(iov_to_buf(iov, 8, off, out, len),
					 want);
			if (want)
				assert_memory_equal(out, "ABCDEFGH" + off,
						    want);
			assert_int_equal(
				iov_from_buf(iov, 8, off, "abcdefgh", len),
				want);
			for (size_t i = 0; i < 8; i++)
				assert_int_equal(m[i],
						 i >= off && i < off + want
							 ? "abcdefgh"[i - off]
							 : "ABCDEFGH"[i]);
		}
	}
}

/* iov_slice describes exactly [off, off + len), skipping empty segments. */
/* The last byte of the array, past trailing zero-length segments. */
static void test_last_byte(void **state)
{
	struct fixture f;
	struct iovec two[2];

	(void)state;
	fixture_init(&f);
	assert_ptr_equal(iov_last_byte(f.iov, 4),
			 (uint8_t *)f.iov[3].iov_base + 2);
	assert_int_equal(*iov_last_byte(f.iov, 4), '9');
	assert_ptr_equal(iov_last_byte(f.iov, 1),
			 (uint8_t *)f.iov[0].iov_base + 2);
	/* iov[1] is empty: the byte before it. */
	assert_ptr_equal(iov_last_byte(f.iov, 2),
			 (uint8_t *)f.iov[0].iov_base + 2);
	assert_null(iov_last_byte(f.iov, 0));
	two[0] = (struct iovec){NULL, 0};
	two[1] = (struct iovec){NULL, 0};
	assert_null(iov_last_byte(two, 2));
	assert_guards(&f);
}

static void test_slice(void **state)
{
	struct fixture f;
	struct iovec out[4];
	char got[16];
	unsigned n;

	(void)state;
	fixture_init(&f);
	/* "234567" = bytes 2..7: the end of seg 0, all of seg 2, seg 3's
	 * first byte; the empty seg 1 yields nothing. */
	n = iov_slice(f.iov, 4, 2, 6, out, 4);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].iov_len, 1);
	assert_int_equal(out[1].iov_len, 4);
	assert_int_equal(out[2].iov_len, 1);
	assert_int_equal(iov_to_buf(out, n, 0, got, sizeof(got)), 6);
	assert_memory_equal(got, "234567", 6);
	/* Past the end: what there is. */
	n = iov_slice(f.iov, 4, 8, 100, out, 4);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].iov_len, 2);
	assert_int_equal(iov_slice(f.iov, 4, 10, 5, out, 4), 0);
	assert_int_equal(iov_slice(f.iov, 4, 0, 0, out, 4), 0);
	/* Too few out entries: the first ones only. */
	n = iov_slice(f.iov, 4, 0, 10, out, 2);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].iov_len + out[1].iov_len, 7);
	assert_guards(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_to_buf_whole),
		cmocka_unit_test(test_to_buf_offsets),
		cmocka_unit_test(test_to_buf_short_array),
		cmocka_unit_test(test_zero_length_segments),
		cmocka_unit_test(test_from_buf),
		cmocka_unit_test(test_single_byte_segments),
		cmocka_unit_test(test_last_byte),
		cmocka_unit_test(test_slice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
