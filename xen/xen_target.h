/* SPDX-License-Identifier: MIT */
/*
 * Making a driver domain a guest's device model, from dom0: what libxl
 * does for a stub domain (XEN_DOMCTL_set_target in the hypervisor,
 * XS_SET_TARGET in xenstore), which xl offers for no other domain. Under
 * Xen's default XSM policy a domain other than dom0 may create a guest's
 * IOREQ server, raise its interrupts and map its memory (device-model
 * operations, IS_PRIV_FOR) only for the domain that is its target; grant
 * mappings need no such relation.
 *
 * Xen keeps the relation until the driver domain is destroyed, and a
 * domain has at most one target: a driver domain serves one guest
 * incarnation, and a guest re-created later needs a new driver domain,
 * unless Xen enforces a FLASK policy that makes it the device model of
 * guests by their type (see xen_target_flask).
 *
 * The domctl interface is versioned and not stable: virtiobox knows its
 * version for the Xen releases below and asks the hypervisor which one
 * it is, so one static binary works on each of them.
 *
 * Threading: any thread; the calls are synchronous.
 */
#ifndef VIRTIOBOX_XEN_XEN_TARGET_H
#define VIRTIOBOX_XEN_XEN_TARGET_H

#include <stdint.h>

/*
 * The domctl interface version of Xen major.minor: 0 and *version, or
 * -ENOTSUP for a release virtiobox does not know.
 */
int xen_target_domctl_version(unsigned major, unsigned minor,
			      uint32_t *version);

/*
 * XEN_DOMCTL_set_target: make domain dm the device model of domain
 * target. *xen gets the hypervisor's version ((major << 16) | minor)
 * when it could be read. Returns 0 or -errno: -EINVAL (dm already has a
 * target, or dm == target), -ESRCH (no such domain), -EPERM / -EACCES
 * (not dom0), -ENOTSUP (a Xen release virtiobox does not know), or what
 * opening /dev/xen/privcmd gave.
 */
int xen_target_set(uint16_t dm, uint16_t target, uint32_t *xen);

/*
 * Does this domain's kernel restrict /dev/xen/privcmd? Linux (since
 * 2025, in the stable series too: the project's 6.1.192 has it) lets a
 * domU's privcmd issue device-model
 * calls only for the domain named in its xenstore "target" node when
 * privcmd starts (libxl writes it for stub domains only), and none at all
 * without one, unless booted with xen_privcmd.unrestricted=1. Probed
 * with a hypercall every domain may make (xen_version). Returns 1
 * (restricted), 0, or -errno (privcmd cannot be opened).
 */
int xen_target_privcmd_restricted(void);

/*
 * Is Xen's security module FLASK (booted with xsm=flask)? Then its
 * policy, not XEN_DOMCTL_set_target, decides which domains may be a
 * guest's device model: a driver domain of a type the policy allows
 * (xen/flask/virtiobox.te) serves any number of guests. Asked with
 * FLASK_GETENFORCE, which FLASK answers any domain. Returns 1, 0, or
 * -errno (privcmd cannot be opened, or refuses the call).
 */
int xen_target_flask(void);

#endif
