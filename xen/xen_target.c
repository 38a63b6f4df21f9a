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
#include <xen/xsm/flask_op.h>
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

/* xencall quiet but for critical messages; NULL and errno on failure. */
static xencall_handle *xc_open(xentoollog_logger_stdiostream **quiet)
{
	xencall_handle *xc;

	*quiet = xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	xc = xencall_open((xentoollog_logger *)*quiet, 0);
	if (!xc && !errno)
		errno = ENODEV;
	return xc;
}

static void xc_close(xencall_handle *xc, xentoollog_logger_stdiostream *quiet)
{
	if (xc)
		xencall_close(xc);
	if (quiet)
		xtl_logger_destroy((xentoollog_logger *)quiet);
}

int xen_target_set(uint16_t dm, uint16_t target, uint32_t *xen)
{
	xentoollog_logger_stdiostream *quiet;
	xencall_handle *xc;
	int ret;

	*xen = 0;
	xc = xc_open(&quiet);
	ret = xc ? set_target(xc, dm, target, xen) : -errno;
	xc_close(xc, quiet);
	return ret;
}

int xen_target_privcmd_restricted(void)
{
	xentoollog_logger_stdiostream *quiet;
	xencall_handle *xc = xc_open(&quiet);
	int ret = -errno;

	if (xc)
		ret = xencall2(xc, __HYPERVISOR_xen_version, XENVER_version,
			       0) < 0 &&
		      errno == EPERM;
	xc_close(xc, quiet);
	return ret;
}

int xen_target_flask(void)
{
	xentoollog_logger_stdiostream *quiet;
	xencall_handle *xc = xc_open(&quiet);
	struct xen_flask_op *op =
		xc ? xencall_alloc_buffer(xc, sizeof(*op)) : NULL;
	int ret = xc ? -ENOMEM : -errno;

	if (op) {
		memset(op, 0, sizeof(*op));
		op->cmd = FLASK_GETENFORCE;
		op->interface_version = XEN_FLASK_INTERFACE_VERSION;
		/* The dummy and SILO modules answer every xsm_op ENOSYS. */
		if (xencall1(xc, __HYPERVISOR_xsm_op,
			     (uint64_t)(uintptr_t)op) >= 0)
			ret = 1;
		else
			ret = errno == ENOSYS ? 0 : -errno;
		xencall_free_buffer(xc, op);
	}
	xc_close(xc, quiet);
	return ret;
}
