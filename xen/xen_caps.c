// SPDX-License-Identifier: MIT
#include "xen_caps.h"

#include <stddef.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xentoollog.h>

void xen_caps_probe(struct xen_caps *caps)
{
	/* A missing interface is an answer here, not an error worth logging. */
	xentoollog_logger_stdiostream *quiet =
		xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	xentoollog_logger *lg = (xentoollog_logger *)quiet;
	xenevtchn_handle *ev = xenevtchn_open(lg, 0);
	xengnttab_handle *gt = xengnttab_open(lg, 0);
	xenforeignmemory_handle *fm = xenforeignmemory_open(lg, 0);
	xendevicemodel_handle *dm = xendevicemodel_open(lg, 0);
	struct xs_handle *xs = xs_open(XS_UNWATCH_FILTER);

	caps->evtchn = ev != NULL;
	caps->gnttab = gt != NULL;
	caps->foreignmemory = fm != NULL;
	caps->devicemodel = dm != NULL;
	caps->xenstore = xs != NULL;

	if (xs)
		xs_close(xs);
	if (dm)
		xendevicemodel_close(dm);
	if (fm)
		xenforeignmemory_close(fm);
	if (gt)
		xengnttab_close(gt);
	if (ev)
		xenevtchn_close(ev);
	if (quiet)
		xtl_logger_destroy(lg);
}

bool xen_caps_is_xen(const struct xen_caps *caps)
{
	return caps->evtchn || caps->gnttab || caps->foreignmemory ||
	       caps->devicemodel || caps->xenstore;
}
