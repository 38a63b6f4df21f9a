// SPDX-License-Identifier: MIT
#include "gmem.h"

#include <errno.h>

int gmem_translate_contig(struct gmem *m, uint64_t gaddr, uint64_t len,
			  uint32_t access, void **hva)
{
	uint64_t maplen;
	int ret = gmem_translate(m, gaddr, len, access, hva, &maplen);

	if (ret < 0)
		return ret;
	if (maplen == len)
		return 0;
	if (access & GMEM_PERSIST)
		gmem_release(m, gaddr, len, access);
	return -EFAULT;
}
