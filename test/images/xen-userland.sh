#!/usr/bin/env bash
# Unpacks the Xen 4.20 dom0 userland (xl, xenstored, xenconsoled, ...) and its
# shared library closure from Debian trixie arm64 packages into a root tree.
# Usage: xen-userland.sh     builds if needed, prints the artefact directory
#                            (root/ and packages, the unpacked package list).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# What dom0 runs. Their libraries are found from the ELF files, except
# libgcc-s1: glibc dlopen()s libgcc_s (thread cancellation, unwinding), no
# NEEDED entry names it, and without it `xl create` aborts (exit 134).
ROOT_PKGS=(xen-utils-4.20 xen-utils-common xenstore-utils libgcc-s1)

vb_apt_init trixie
versions=$(vb_apt_versions trixie "${ROOT_PKGS[@]}")
key=$(vb_key "$versions" "file:$VB_IMAGES/xen-userland.sh" "file:$VB_IMAGES/lib.sh")
out=$(vb_artefact_dir xen-userland "$key")
if vb_is_complete "$out"; then
	printf '%s\n' "$out"
	exit 0
fi

vb_log "xen-userland: unpacking ${ROOT_PKGS[*]} (trixie arm64) and their libraries"
tmp=$(vb_begin xen-userland "$key")
vb_rootfs_init "$tmp/root"
vb_rootfs_add "$tmp/root" trixie "${ROOT_PKGS[@]}"
vb_rootfs_prune "$tmp/root"
mv "$tmp/root.packages" "$tmp/packages"
vb_commit xen-userland "$key"
printf '%s\n' "$out"
