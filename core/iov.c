// SPDX-License-Identifier: MIT
#include "iov.h"

#include <stdint.h>
#include <string.h>

/*
 * The one walk behind both directions: exactly one of out (iov → buffer)
 * and in (buffer → iov) is set. Segments wholly before off are skipped by
 * length alone, so their base is never touched.
 */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t off,
		       uint8_t *out, const uint8_t *in, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len, c;
		uint8_t *base = iov[i].iov_base;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		c = seg - off < len - done ? seg - off : len - done;
		if (out)
			memcpy(out + done, base + off, c);
		else
			memcpy(base + off, in + done, c);
		done += c;
		off = 0;
	}
	return done;
}

size_t iov_to_buf_walk(const struct iovec *iov, unsigned n, size_t off,
		       void *buf, size_t len)
{
	return iov_copy(iov, n, off, buf, NULL, len);
}

size_t iov_from_buf_walk(const struct iovec *iov, unsigned n, size_t off,
			 const void *buf, size_t len)
{
	return iov_copy(iov, n, off, NULL, buf, len);
}

unsigned iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
		   struct iovec *out, unsigned max)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len && k < max; i++) {
		size_t seg = iov[i].iov_len, c;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		c = seg - off < len ? seg - off : len;
		out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[k].iov_len = c;
		k++;
		len -= c;
		off = 0;
	}
	return k;
}
