// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the Xen guest-memory back-ends (xen/xen_gmem_*.c)
 * on the fake Xen library: the input is a guest granting, revoking and
 * handing out addresses, and a ring layer mapping, translating and
 * unmapping them in any order.
 *
 *   byte 0   bit 0: foreign memory (else grants); bits 1-3: cache slots - 1
 *            (grants: bits 1-2 the copy limit, 0 / 64 / 4 KiB / default)
 *   then     4-byte steps: op, a, b, c
 *
 * Checked beyond "no crash, no sanitizer report": every translation of a
 * mapped range covers it in contiguous pieces whose bytes can be read (and
 * written for device-writable ranges, which the fake maps read-only
 * otherwise, so a wrong protection faults); nothing stays mapped once
 * every range is unmapped, every ring area released (and, for foreign
 * memory, the cache invalidated); no unmap names a mapping that does not
 * exist.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_xen_sys.h"
#include "xen_gmem_int.h"

#define NPAGES	    64
#define HELD_MAX    16
#define RINGS	    8
#define G(ref, off) ((1ULL << 63) | ((uint64_t)(ref) << 12) | (off))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct batch {
	struct gmem_range r[4];
	unsigned n;
};

static struct fake_xen fx;
static int fx_up;
static volatile uint8_t sink;

static void check(int cond)
{
	if (!cond)
		abort();
}

static uint64_t addr(int foreign, unsigned ref, unsigned off)
{
	return foreign ? (uint64_t)ref * 4096 + off : G(ref, off);
}

/* Translate all of r, touching every byte the way the device would. */
static void cover(struct gmem *m, const struct gmem_range *r, uint32_t access)
{
	for (uint64_t done = 0; done < r->len;) {
		void *hva;
		uint64_t n;

		check(gmem_translate(m, r->gaddr + done, r->len - done, access,
				     &hva, &n) == 0);
		check(n >= 1 && n <= r->len - done);
		for (uint64_t k = 0; k < n; k++)
			sink ^= ((volatile uint8_t *)hva)[k];
		if (access & GMEM_WRITE)
			memset(hva, 0x5a, n);
		done += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct batch held[HELD_MAX];
	struct gmem_range rings[RINGS];
	unsigned nheld = 0, nrings = 0;
	struct gmem *m;
	int foreign;

	if (size < 1)
		return 0;
	if (!fx_up) {
		check(fake_xen_init(&fx, NPAGES) == 0);
		fx_up = 1;
	}
	memset(fx.grant, 0, sizeof(fx.grant));
	memset(fx.hole, 0, NPAGES * sizeof(*fx.hole));
	foreign = data[0] & 1;
	if (foreign)
		check(xen_gmem_foreign_create_sys(&m, &fx.sys, 1,
						  1 + (data[0] >> 1 & 7),
						  "fuzz") == 0);
	else {
		static const uint32_t copy_max[] = {0, 64, 4096,
						    XEN_GMEM_GRANT_COPY_MAX};

		check(xen_gmem_grant_create_sys(&m, &fx.sys, 1, 0, "fuzz") ==
		      0);
		xen_gmem_grant_set_copy_max(m, copy_max[data[0] >> 1 & 3]);
	}
	for (size_t i = 1; i + 4 <= size; i += 4) {
		uint8_t op = data[i] % 8, a = data[i + 1], b = data[i + 2],
			c = data[i + 3];

		switch (op) {
		case 0: { /* map a batch */
			struct batch bt = {.n = 1u + a % 4};

			if (nheld == HELD_MAX)
				break;
			for (unsigned k = 0; k < bt.n; k++)
				bt.r[k] = (struct gmem_range){
					addr(foreign, (b + 7u * k) % 72,
					     (c * 16u) % 4096),
					1u + (b * c + k * 977u) % (3 * 4096),
					(a >> (2 + k)) & 1 ? GMEM_WRITE
							   : GMEM_READ};
			if (gmem_map_batch(m, bt.r, bt.n) < 0)
				break;
			for (unsigned k = 0; k < bt.n; k++)
				cover(m, &bt.r[k], bt.r[k].access);
			held[nheld++] = bt;
			break;
		}
		case 1: { /* unmap one batch, per range, in either order */
			struct batch *bt;

			if (!nheld)
				break;
			bt = &held[a % nheld];
			for (unsigned k = 0; k < bt->n; k++)
				gmem_unmap_batch(
					m, &bt->r[b & 1 ? bt->n - 1 - k : k],
					1);
			*bt = held[--nheld];
			break;
		}
		case 2: { /* translate anything; use it only if allowed */
			void *hva;
			uint64_t n;
			uint32_t acc = c & 1 ? GMEM_WRITE : GMEM_READ;

			if (gmem_translate(m, addr(foreign, a % 72, b * 16u),
					   1 + c, acc, &hva, &n) == 0) {
				check(n >= 1 && n <= 1u + c);
				sink ^= *(volatile uint8_t *)hva;
			}
			break;
		}
		case 3: /* the guest grants or revokes */
			if (b & 1)
				fake_xen_grant(&fx, a % 72, a % NPAGES, b & 2);
			else
				fake_xen_revoke(&fx, a % 72);
			break;
		case 4: { /* a ring area */
			struct gmem_range r = {
				addr(foreign, a % 72, b * 16u), 1u + c * 8u,
				GMEM_READ | GMEM_PERSIST |
					(c & 1 ? GMEM_WRITE : 0)};
			void *hva;
			uint64_t n;

			if (nrings == RINGS ||
			    gmem_translate(m, r.gaddr, r.len, r.access, &hva,
					   &n) < 0)
				break;
			check(n == r.len);
			for (uint64_t k = 0; k < n; k++)
				sink ^= ((volatile uint8_t *)hva)[k];
			rings[nrings++] = r;
			break;
		}
		case 5: /* a queue stops */
			if (!nrings)
				break;
			a %= nrings;
			gmem_release(m, rings[a].gaddr, rings[a].len,
				     rings[a].access);
			rings[a] = rings[--nrings];
			break;
		case 6:
			xen_gmem_invalidate(m);
			break;
		case 7: /* memory the guest does not have */
			fx.hole[a % NPAGES] = b & 1;
			break;
		}
	}
	while (nheld) {
		struct batch *bt = &held[--nheld];

		gmem_unmap_batch(m, bt->r, bt->n);
	}
	while (nrings) {
		nrings--;
		gmem_release(m, rings[nrings].gaddr, rings[nrings].len,
			     rings[nrings].access);
	}
	xen_gmem_invalidate(m);
	check(fx.nlive == 0);
	check(fx.bad_unmaps == 0);
	xen_gmem_destroy(m);
	fx.closes = fx.opens = 0;
	return 0;
}
