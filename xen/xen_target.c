// SPDX-License-Identifier: MIT
#include "xen_target.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
/* The libraries' headers define the types the raw xen/ headers use. */
/* clang-format off */
#include <xencall.h>
#include <xentoollog.h>
#include <xen/version.h>
/* clang-format on */

/*
 * From each release's xen/include/public/domctl.h. set_target's layout
 * (cmd 46, the target's domid first in the union) is the same in all.
 */
static const struct {
	unsigned major, minor;
	uint32_t version;
} domctl_versions[] = {
	{4, 17, 0x15}, {4, 18, 0x16}, {4, 19, 0x17},
	{4, 20, 0x17}, {4, 21, 0x17},
};

int xen_target_domctl_version(unsigned major, unsigned minor, uint32_t *version)
{
	for (size_t i = 0;
	     i < sizeof(domctl_versions) / sizeof(domctl_versions[0]); i++) {
		if (domctl_versions[i].major == major &&
		    domctl_versions[i].minor == minor) {
			*version = domctl_versions[i].version;
			return 0;
		}
	}
	return -ENOTSUP;
}

/*
 * struct xen_domctl with its set_target member: xen/domctl.h itself
 * needs GNU C (hvm/save.h). The union is 128 bytes in every release.
 */
#define DOMCTL_SET_TARGET 46
struct domctl_set_target {
	uint32_t cmd;
	uint32_t interface_version;
	uint16_t domain;
	uint16_t pad[3];
	union {
		uint16_t target;
		uint64_t align;
		uint8_t pad[128];
	} u;
};
_Static_assert(sizeof(struct domctl_set_target) == 144, "struct xen_domctl");

static int set_target(xencall_handle *xc, uint16_t dm, uint16_t target,
		      uint32_t *xen)
{
	struct domctl_set_target *op;
	uint32_t version;
	int ret = xencall2(xc, __HYPERVISOR_xen_version, XENVER_version, 0);

	if (ret < 0)
		return -errno;
	*xen = (uint32_t)ret;
	ret = xen_target_domctl_version(*xen >> 16, *xen & 0xffff, &version);
	if (ret)
		return ret;
	/* The hypervisor reads and writes the domctl: it must be in
	 * hypercall-safe memory. */
	op = xencall_alloc_buffer(xc, sizeof(*op));
	if (!op)
		return -ENOMEM;
	memset(op, 0, sizeof(*op));
	op->cmd = DOMCTL_SET_TARGET;
	op->interface_version = version;
	op->domain = dm;
	op->u.target = target;
	ret = xencall1(xc, __HYPERVISOR_domctl, (uint64_t)(uintptr_t)op) < 0
		      ? -errno
		      : 0;
	xencall_free_buffer(xc, op);
	return ret;
}

int xen_target_set(uint16_t dm, uint16_t target, uint32_t *xen)
{
	xentoollog_logger_stdiostream *quiet =
		xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	xencall_handle *xc = xencall_open((xentoollog_logger *)quiet, 0);
	int ret;

	*xen = 0;
	if (!xc) {
		ret = errno ? -errno : -ENODEV;
		goto out_logger;
	}
	ret = set_target(xc, dm, target, xen);
	xencall_close(xc);
out_logger:
	if (quiet)
		xtl_logger_destroy((xentoollog_logger *)quiet);
	return ret;
}

int xen_target_privcmd_restricted(void)
{
	xentoollog_logger_stdiostream *quiet =
		xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	xencall_handle *xc = xencall_open((xentoollog_logger *)quiet, 0);
	int ret;

	if (!xc) {
		ret = errno ? -errno : -ENODEV;
	} else {
		ret = xencall2(xc, __HYPERVISOR_xen_version, XENVER_version,
			       0) < 0 &&
		      errno == EPERM;
		xencall_close(xc);
	}
	if (quiet)
		xtl_logger_destroy((xentoollog_logger *)quiet);
	return ret;
}
