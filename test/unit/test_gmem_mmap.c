// SPDX-License-Identifier: MIT
/*
 * fd-backed guest memory (core/gmem_mmap.c): mapping memfd regions,
 * translation cut at region ends, every mapping error, the table
 * operations (overlap, full, take, swap), uva → gpa, and delegated
 * regions with batched map/unmap forwarded and unwound.
 */

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_gmem.h"
#include "gmem_mmap.h"

#define RW (GMEM_READ | GMEM_WRITE)

static int memfd(size_t size)
{
	int fd = memfd_create("test-gmem", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static void map_ok(struct gmem_mmap *m, uint64_t gpa, uint64_t size,
		   uint64_t uva, int fd, uint64_t off)
{
	struct gmem_mmap_region r;

	assert_int_equal(gmem_mmap_region_map(&r, gpa, size, uva, fd, off), 0);
	assert_int_equal(gmem_mmap_insert(m, &r), 0);
}

static void test_translate(void **state)
{
	struct gmem_mmap m;
	int fd = memfd(0x3000);
	void *hva;
	uint64_t len;
	char buf[4];

	(void)state;
	gmem_mmap_init(&m);
	/* Two adjacent regions from one file, the second further in. */
	map_ok(&m, 0x10000, 0x1000, 0x7f0000000000, fd, 0);
	map_ok(&m, 0x11000, 0x1000, 0x7f0000100000, fd, 0x2000);
	assert_int_equal(
		gmem_translate(&m.gmem, 0x10ffe, 8, GMEM_READ, &hva, &len), 0);
	assert_int_equal(len, 2); /* cut at the region end */
	memcpy(hva, "ab", 2);
	assert_int_equal(pread(fd, buf, 2, 0xffe), 2);
	assert_memory_equal(buf, "ab", 2);
	assert_int_equal(
		gmem_translate(&m.gmem, 0x11000, 4, GMEM_WRITE, &hva, &len), 0);
	assert_int_equal(len, 4);
	memcpy(hva, "wxyz", 4);
	assert_int_equal(pread(fd, buf, 4, 0x2000), 4);
	assert_memory_equal(buf, "wxyz", 4);
	/* Contiguous helper refuses the crossing. */
	assert_int_equal(gmem_translate_contig(&m.gmem, 0x10ffe, 8, RW, &hva),
			 -EFAULT);
	/* Errors. */
	assert_int_equal(gmem_translate(&m.gmem, 0x12000, 1, RW, &hva, &len),
			 -EFAULT);
	assert_int_equal(gmem_translate(&m.gmem, 0xffff, 1, RW, &hva, &len),
			 -EFAULT);
	assert_int_equal(gmem_translate(&m.gmem, 0x10000, 0, RW, &hva, &len),
			 -EINVAL);
	assert_int_equal(
		gmem_translate(&m.gmem, UINT64_MAX - 1, 4, RW, &hva, &len),
		-EOVERFLOW);
	gmem_mmap_clear(&m);
	assert_int_equal(m.n, 0);
	assert_int_equal(gmem_translate(&m.gmem, 0x10000, 1, RW, &hva, &len),
			 -EFAULT);
	close(fd);
}

static void test_map_errors(void **state)
{
	struct gmem_mmap_region r;
	int fd = memfd(0x2000);
	int efd = eventfd(0, EFD_CLOEXEC);

	(void)state;
	assert_int_equal(gmem_mmap_region_map(&r, 0, 0, 0, fd, 0), -EINVAL);
	assert_int_equal(
		gmem_mmap_region_map(&r, UINT64_MAX - 0xfff, 0x1000, 0, fd, 0),
		-EOVERFLOW);
	assert_int_equal(gmem_mmap_region_map(&r, 0, 0x1000, UINT64_MAX, fd, 0),
			 -EOVERFLOW);
	assert_int_equal(
		gmem_mmap_region_map(&r, 0, 0x1000, 0, fd, UINT64_MAX - 1),
		-EOVERFLOW);
	/* Past the end of the memfd: would SIGBUS on access. */
	assert_int_equal(gmem_mmap_region_map(&r, 0, 0x2000, 0, fd, 0x1000),
			 -ERANGE);
	assert_int_equal(gmem_mmap_region_map(&r, 0, 0x3000, 0, fd, 0),
			 -ERANGE);
	assert_int_equal(gmem_mmap_region_map(&r, 0, 0x1000, 0, efd, 0),
			 -ENODEV);
	assert_int_equal(gmem_mmap_region_map(&r, 0, 0x1000, 0, 1000, 0),
			 -EBADF);
	assert_null(r.map_base);
	/* Offsets within a page: allowed only when the guest's matches. */
	assert_int_equal(gmem_mmap_region_map(&r, 0x10000, 0x100, 0, fd, 0x123),
			 -EINVAL);
	assert_int_equal(gmem_mmap_region_map(&r, 0x10123, 0x100, 0, fd, 0x123),
			 0);
	assert_int_equal((uintptr_t)r.hva % 0x1000, 0x123);
	gmem_mmap_region_unmap(&r);
	/* Exactly to the end is fine. */
	assert_int_equal(gmem_mmap_region_map(&r, 0, 0x1000, 0, fd, 0x1000), 0);
	gmem_mmap_region_unmap(&r);
	assert_null(r.map_base);
	close(fd);
	close(efd);
}

static void test_table(void **state)
{
	struct gmem_mmap m, other;
	struct gmem_mmap_region r, out;
	int fd = memfd(0x1000);

	(void)state;
	gmem_mmap_init(&m);
	gmem_mmap_init(&other);
	map_ok(&m, 0x20000, 0x1000, 0xa000, fd, 0);
	map_ok(&m, 0x10000, 0x1000, 0xb000, fd, 0); /* kept sorted */
	assert_int_equal(m.r[0].gpa, 0x10000);
	/* Overlaps: same start, inside, spanning, tail; touching is fine. */
	assert_int_equal(gmem_mmap_check(&m, 0x10000, 0x10), -EEXIST);
	assert_int_equal(gmem_mmap_check(&m, 0x10800, 0x10), -EEXIST);
	assert_int_equal(gmem_mmap_check(&m, 0xf000, 0x20000), -EEXIST);
	assert_int_equal(gmem_mmap_check(&m, 0x1f000, 0x1001), -EEXIST);
	assert_int_equal(gmem_mmap_check(&m, 0x11000, 0xf000), 0);
	assert_int_equal(gmem_mmap_region_map(&r, 0x10fff, 1, 0, fd, 0xfff), 0);
	assert_int_equal(gmem_mmap_insert(&m, &r), -EEXIST);
	gmem_mmap_region_unmap(&r);
	/* uva → gpa. */
	{
		uint64_t gpa;

		assert_int_equal(gmem_mmap_uva_to_gpa(&m, 0xb010, &gpa), 0);
		assert_int_equal(gpa, 0x10010);
		assert_int_equal(gmem_mmap_uva_to_gpa(&m, 0xafff, &gpa), 0);
		assert_int_equal(gpa, 0x20fff);
		assert_int_equal(gmem_mmap_uva_to_gpa(&m, 0xc000, &gpa),
				 -EFAULT);
	}
	/* take needs gpa, size and uva to match. */
	assert_int_equal(gmem_mmap_take(&m, 0x10000, 0x1000, 0xa000, &out),
			 -ENOENT);
	assert_int_equal(gmem_mmap_take(&m, 0x10000, 0x800, 0xb000, &out),
			 -ENOENT);
	assert_int_equal(gmem_mmap_take(&m, 0x10000, 0x1000, 0xb000, &out), 0);
	assert_int_equal(m.n, 1);
	gmem_mmap_region_unmap(&out);
	/* swap */
	gmem_mmap_swap(&m, &other);
	assert_int_equal(m.n, 0);
	assert_int_equal(other.n, 1);
	assert_ptr_equal(m.gmem.ops, other.gmem.ops);
	gmem_mmap_clear(&other);
	close(fd);
}

static void test_full(void **state)
{
	struct gmem_mmap m;
	struct gmem_mmap_region r;

	(void)state;
	gmem_mmap_init(&m);
	for (unsigned i = 0; i < GMEM_MMAP_REGIONS_MAX; i++) {
		assert_int_equal(gmem_mmap_region_delegate(&r, i * 0x1000,
							   0x1000, 0, NULL),
				 0);
		assert_int_equal(gmem_mmap_insert(&m, &r), 0);
	}
	assert_int_equal(
		gmem_mmap_region_delegate(&r, 0x100000, 0x1000, 0, NULL), 0);
	assert_int_equal(gmem_mmap_check(&m, 0x100000, 0x1000), -ENOSPC);
	assert_int_equal(gmem_mmap_insert(&m, &r), -ENOSPC);
	assert_int_equal(gmem_mmap_region_delegate(&r, 0, 0, 0, NULL), -EINVAL);
	assert_int_equal(gmem_mmap_region_delegate(&r, UINT64_MAX, 2, 0, NULL),
			 -EOVERFLOW);
	gmem_mmap_clear(&m); /* delegates are only forgotten */
	assert_int_equal(m.n, 0);
}

/* A delegated region backed by fake memory, next to an mmap'd one. */
static void test_delegate(void **state)
{
	struct gmem_mmap m;
	struct gmem_mmap_region r;
	struct fake_gmem sub;
	int fd = memfd(0x1000);
	void *hva;
	uint64_t len;
	struct gmem_range ranges[] = {
		{0x10f00, 0x200, GMEM_READ},  /* mmap'd, then delegated */
		{0x20000, 0x10, GMEM_WRITE},  /* outside: skipped */
		{0x11100, 0x100, GMEM_WRITE}, /* delegated */
	};

	(void)state;
	gmem_mmap_init(&m);
	assert_int_equal(fake_gmem_init(&sub), 0);
	assert_int_equal(fake_gmem_add(&sub, 0x11000, 0x1000, RW), 0);
	map_ok(&m, 0x10000, 0x1000, 0, fd, 0);
	assert_int_equal(gmem_mmap_region_delegate(&r, 0x11000, 0x1000, 0x1000,
						   &sub.gmem),
			 0);
	assert_int_equal(gmem_mmap_insert(&m, &r), 0);

	assert_int_equal(
		gmem_translate(&m.gmem, 0x11010, 0x2000, GMEM_READ, &hva, &len),
		0);
	assert_ptr_equal(hva, fake_gmem_ptr(&sub, 0x11010, 1));
	assert_int_equal(len, 0xff0); /* the sub saw the cut length */
	assert_int_equal(sub.translates, 1);

	assert_int_equal(gmem_map_batch(&m.gmem, ranges, 3), 0);
	assert_int_equal(sub.ranges_mapped,
			 2); /* [0x11000,+0x100), [0x11100,+0x100) */
	assert_int_equal(fake_gmem_live(&sub), 2);
	gmem_unmap_batch(&m.gmem, ranges, 3);
	assert_int_equal(fake_gmem_live(&sub), 0);
	assert_int_equal(sub.bad_unmaps, 0);

	/* The third range fails: nothing stays mapped. */
	sub.fault = (struct fake_gmem_fault){FAKE_GMEM_FAULT_MAP, 0x11100, 0,
					     -ENOMEM};
	assert_int_equal(gmem_map_batch(&m.gmem, ranges, 3), -ENOMEM);
	assert_int_equal(fake_gmem_live(&sub), 0);
	assert_int_equal(sub.bad_unmaps, 0);

	/* Ranges all inside the delegated region: one call to it, as given;
	 * unmapped per element. */
	sub.fault.op = FAKE_GMEM_FAULT_NONE;
	fake_gmem_reset_counters(&sub);
	assert_int_equal(gmem_map_batch(&m.gmem, &ranges[2], 1), 0);
	{
		struct gmem_range in[3] = {{0x11000, 8, GMEM_READ},
					   {0x11800, 8, GMEM_WRITE},
					   {0x11ff0, 0x10, GMEM_READ}};

		assert_int_equal(gmem_map_batch(&m.gmem, in, 3), 0);
		assert_int_equal(sub.map_calls, 2);
		assert_int_equal(sub.ranges_mapped, 4);
		gmem_unmap_batch(&m.gmem, in, 2);
		gmem_unmap_batch(&m.gmem, &in[2], 1);
	}
	gmem_unmap_batch(&m.gmem, &ranges[2], 1);
	assert_int_equal(fake_gmem_live(&sub), 0);
	assert_int_equal(sub.bad_unmaps, 0);

	/* Ring areas: the release reaches the delegated region, cut as the
	 * translation was. */
	assert_int_equal(gmem_translate(&m.gmem, 0x11f00, 0x200,
					GMEM_READ | GMEM_PERSIST, &hva, &len),
			 0);
	assert_int_equal(len, 0x100);
	assert_int_equal(fake_gmem_persist_live(&sub), 1);
	gmem_release(&m.gmem, 0x11f00, 0x200, GMEM_READ | GMEM_PERSIST);
	assert_int_equal(fake_gmem_persist_live(&sub), 0);
	assert_int_equal(sub.bad_releases, 0);
	/* An fd region has nothing to release. */
	gmem_release(&m.gmem, 0x10000, 0x100, GMEM_READ | GMEM_PERSIST);
	assert_int_equal(sub.releases, 1);

	gmem_mmap_clear(&m);
	fake_gmem_destroy(&sub);
	close(fd);
}

/*
 * gmem.direct says whether any region is delegated; the translation
 * window answers as translate does and never outlives a table change.
 */
static void test_direct_and_window(void **state)
{
	struct gmem_mmap m, other;
	struct gmem_mmap_region r, taken;
	struct fake_gmem sub;
	int fd = memfd(0x2000);
	void *hva, *first;
	uint64_t len;

	(void)state;
	gmem_mmap_init(&m);
	gmem_mmap_init(&other);
	assert_true(m.gmem.direct);
	assert_int_equal(fake_gmem_init(&sub), 0);
	assert_int_equal(fake_gmem_add(&sub, 0x20000, 0x1000, RW), 0);
	map_ok(&m, 0x10000, 0x1000, 0, fd, 0);
	map_ok(&m, 0x11000, 0x1000, 0x1000, fd, 0x1000);
	assert_true(m.gmem.direct);
	assert_false(gmem_needs_map(&m.gmem));

	/* The region found is the window; a look-up in it gives the same
	 * answer, cut at the region end; the next region is looked up. */
	assert_int_equal(
		gmem_translate(&m.gmem, 0x10100, 8, GMEM_READ, &first, &len),
		0);
	assert_int_equal(m.gmem.win_gaddr, 0x10000);
	assert_int_equal(m.gmem.win_len, 0x1000);
	assert_int_equal(
		gmem_translate(&m.gmem, 0x10ff0, 0x100, GMEM_WRITE, &hva, &len),
		0);
	assert_ptr_equal(hva, (uint8_t *)first + 0xef0);
	assert_int_equal(len, 0x10);
	assert_int_equal(gmem_translate(&m.gmem, 0x10ff0, UINT64_MAX, GMEM_READ,
					&hva, &len),
			 -EOVERFLOW);
	assert_int_equal(
		gmem_translate(&m.gmem, 0x11000, 4, GMEM_READ, &hva, &len), 0);
	assert_int_equal(m.gmem.win_gaddr, 0x11000);

	/* A delegated region: not direct, and no window survives. */
	assert_int_equal(gmem_mmap_region_delegate(&r, 0x20000, 0x1000, 0x2000,
						   &sub.gmem),
			 0);
	assert_int_equal(gmem_mmap_insert(&m, &r), 0);
	assert_false(m.gmem.direct);
	assert_true(gmem_needs_map(&m.gmem));
	assert_int_equal(m.gmem.win_len, 0);
	assert_int_equal(
		gmem_translate(&m.gmem, 0x20010, 4, GMEM_READ, &hva, &len), 0);
	assert_ptr_equal(hva, fake_gmem_ptr(&sub, 0x20010, 4));
	assert_int_equal(m.gmem.win_len, 0); /* not for a delegated one */

	/* Swapped tables carry their own flag; taking the delegated region
	 * out makes the table direct again. */
	gmem_mmap_swap(&m, &other);
	assert_true(m.gmem.direct);
	assert_false(other.gmem.direct);
	assert_int_equal(
		gmem_mmap_take(&other, 0x20000, 0x1000, 0x2000, &taken), 0);
	assert_true(other.gmem.direct);

	/* A region taken out is not translated through a stale window. */
	assert_int_equal(
		gmem_translate(&other.gmem, 0x11000, 4, GMEM_READ, &hva, &len),
		0);
	assert_int_equal(
		gmem_mmap_take(&other, 0x11000, 0x1000, 0x1000, &taken), 0);
	assert_int_equal(
		gmem_translate(&other.gmem, 0x11000, 4, GMEM_READ, &hva, &len),
		-EFAULT);
	gmem_mmap_region_unmap(&taken);
	gmem_mmap_clear(&other);
	gmem_mmap_clear(&m);
	fake_gmem_destroy(&sub);
	close(fd);
}

/* A memfd that allows sealing cannot shrink under our mapping (SIGBUS). */
static void test_shrink_sealed(void **state)
{
	struct gmem_mmap_region r;
	int fd =
		memfd_create("test-gmem-seal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int plain = memfd(0x2000);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 0x2000), 0);
	assert_int_equal(gmem_mmap_region_map(&r, 0, 0x2000, 0, fd, 0), 0);
	assert_true(fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK);
	assert_int_equal(ftruncate(fd, 0x1000), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, 0x3000), 0); /* growing stays allowed */
	gmem_mmap_region_unmap(&r);
	/* A file that cannot be sealed is still mapped (a documented limit). */
	assert_int_equal(gmem_mmap_region_map(&r, 0, 0x2000, 0, plain, 0), 0);
	gmem_mmap_region_unmap(&r);
	close(plain);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_translate),
		cmocka_unit_test(test_map_errors),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_delegate),
		cmocka_unit_test(test_direct_and_window),
		cmocka_unit_test(test_shrink_sealed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
