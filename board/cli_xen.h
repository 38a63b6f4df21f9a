/* SPDX-License-Identifier: MIT */
/*
 * "virtiobox xen-target DRIVER-DOMAIN GUEST", run in dom0: make the
 * driver domain the guest's device model (xen_target.h) in the hypervisor
 * and in xenstore, so a virtiobox in the driver domain may serve the
 * guest's virtio-mmio devices. Domains are given by name or domid.
 *
 * Threading: main thread, once.
 */
#ifndef VIRTIOBOX_BOARD_CLI_XEN_H
#define VIRTIOBOX_BOARD_CLI_XEN_H

/*
 * argv[0] is "xen-target". Returns the exit status: 0 done (or --help),
 * 1 refused (the message says why and what to do), 2 usage error.
 */
int cli_xen_target(int argc, char **argv);

#endif
