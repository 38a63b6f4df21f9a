/* SPDX-License-Identifier: MIT */
/*
 * Copying bytes between a flat buffer and an iovec array, at a byte offset
 * into the array: how a device model reads a request header out of an
 * element's readable segments (vq_elem.rd_iov) and writes a reply or a
 * status byte into its writable ones (vq_elem.wr_iov), wherever the driver
 * or the memory seam cut the buffer.
 *
 * Contract, for both directions:
 *   - the array is the byte sequence iov[0], iov[1], ... iov[n - 1];
 *     off counts bytes from the start of iov[0];
 *   - at most len bytes are copied, fewer when the array ends first
 *     (off at or past the end copies nothing);
 *   - the return value is the number of bytes copied, so a caller that
 *     needs exactly len bytes compares it with len;
 *   - zero-length segments are skipped; their iov_base may be NULL;
 *   - nothing outside [iov_base, iov_base + iov_len) of any segment, or
 *     outside [buf, buf + len), is read or written; buf must not overlap
 *     the segments.
 * No allocation, no state: any thread may call them.
 */
#ifndef VIRTIOBOX_CORE_IOV_H
#define VIRTIOBOX_CORE_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

/* The general walks behind iov_to_buf and iov_from_buf. */
size_t iov_to_buf_walk(const struct iovec *iov, unsigned n, size_t off,
		       void *buf, size_t len);
size_t iov_from_buf_walk(const struct iovec *iov, unsigned n, size_t off,
			 const void *buf, size_t len);

/* Small copies (a request header, a status byte) without a library call. */
static inline void iov_copy_small(uint8_t *dst, const uint8_t *src, size_t len)
{
	if (len == 1)
		*dst = *src;
	else if (len == 8)
		memcpy(dst, src, 8);
	else
		memcpy(dst, src, len);
}

/*
 * Where byte off of iov[0..n) is when [off, off + len) lies in one
 * segment whole; else NULL (the walk handles the rest). Requests mostly
 * put each field in a segment of its own, a header in the first.
 */
static inline uint8_t *iov_one_seg(const struct iovec *iov, unsigned n,
				   size_t off, size_t len)
{
	if (n && off < iov[0].iov_len)
		return len <= iov[0].iov_len - off
			       ? (uint8_t *)iov[0].iov_base + off
			       : NULL;
	for (unsigned i = 0; i < n; i++) {
		if (off < iov[i].iov_len)
			return len <= iov[i].iov_len - off
				       ? (uint8_t *)iov[i].iov_base + off
				       : NULL;
		off -= iov[i].iov_len;
	}
	return NULL;
}

/* Copy up to len bytes at offset off of iov[0..n) into buf. */
static inline size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off,
				void *buf, size_t len)
{
	uint8_t *p = len ? iov_one_seg(iov, n, off, len) : NULL;

	if (!p)
		return iov_to_buf_walk(iov, n, off, buf, len);
	iov_copy_small(buf, p, len);
	return len;
}

/* Copy up to len bytes of buf into iov[0..n) at offset off. */
static inline size_t iov_from_buf(const struct iovec *iov, unsigned n,
				  size_t off, const void *buf, size_t len)
{
	uint8_t *p = len ? iov_one_seg(iov, n, off, len) : NULL;

	if (!p)
		return iov_from_buf_walk(iov, n, off, buf, len);
	iov_copy_small(p, buf, len);
	return len;
}

/*
 * The last byte of iov[0..n) (where a request's status goes), or NULL
 * when the array holds no byte.
 */
static inline uint8_t *iov_last_byte(const struct iovec *iov, unsigned n)
{
	while (n--)
		if (iov[n].iov_len)
			return (uint8_t *)iov[n].iov_base + iov[n].iov_len - 1;
	return NULL;
}

/*
 * Describe bytes [off, off + len) of iov[0..n) in out[0..max), for
 * readv/writev straight from or into the segments. Returns how many out
 * entries it filled; fewer bytes than len are described when iov ends
 * first or max entries are not enough.
 */
unsigned iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
		   struct iovec *out, unsigned max);

#endif
