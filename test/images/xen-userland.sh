#!/usr/bin/env bash
# Unpacks the Xen 4.20 dom0 userland (xl, xenstored, xenconsoled, ...) and its
# shared library closure from Debian trixie arm64 packages into a root tree.
# The packages and their versions are pinned in pins.txt.
# Usage: xen-userland.sh     builds if needed, prints the artefact directory
#                            (root/ and packages, the unpacked package list).
#        xen-userland.sh --print-pins
#                            resolves the closure from today's trixie index
#                            and prints its pin lines (bumping a pin).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# What dom0 runs. Their libraries are found from the ELF files, except
# libgcc-s1: glibc dlopen()s libgcc_s (thread cancellation, unwinding), no
# NEEDED entry names it, and without it `xl create` aborts (exit 134).
ROOT_PKGS=(xen-utils-4.20 xen-utils-common xenstore-utils libgcc-s1)

if [ "${1:-}" = --print-pins ]; then
	vb_pins_print xen-userland trixie "${ROOT_PKGS[@]}"
	exit 0
fi

vb_pins_fetch xen-userland
key=$(vb_key "${VB_PIN_LINES[@]}" "file:$VB_IMAGES/xen-userland.sh" "file:$VB_IMAGES/lib.sh")
out=$(vb_artefact_dir xen-userland "$key")
if vb_is_complete "$out"; then
	printf '%s\n' "$out"
	exit 0
fi

vb_log "xen-userland: unpacking ${ROOT_PKGS[*]} (trixie arm64) and their libraries"
tmp=$(vb_begin xen-userland "$key")
vb_rootfs_init "$tmp/root"
vb_rootfs_add_pinned "$tmp/root"
vb_rootfs_prune "$tmp/root"
mv "$tmp/root.packages" "$tmp/packages"
vb_commit xen-userland "$key"
printf '%s\n' "$out"
