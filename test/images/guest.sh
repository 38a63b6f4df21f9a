#!/usr/bin/env bash
# Builds the guest initramfs (plain QEMU guest and Xen domU): busybox,
# i2c-tools, gpiod, socat and their library closure from Debian bookworm
# arm64, /init and the test helpers. The test script itself is not in it:
# the harness appends it per run as a second cpio.
# The packages and their versions are pinned in pins.txt.
# Usage: guest.sh        builds if needed, prints the artefact directory.
#        guest.sh --print-pins   prints the closure's pin lines from today's index.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# libgcc-s1: glibc dlopen()s libgcc_s, so no NEEDED entry names it.
ROOT_PKGS=(busybox-static i2c-tools gpiod socat libgcc-s1)
FILES=(guest-init testlib.sh)

if [ "${1:-}" = --print-pins ]; then
	vb_pins_print guest bookworm "${ROOT_PKGS[@]}"
	exit 0
fi

vb_pins_fetch guest
inputs=("${VB_PIN_LINES[@]}" "file:$VB_IMAGES/guest.sh" "file:$VB_IMAGES/lib.sh")
for f in "${FILES[@]}"; do inputs+=("file:$VB_IMAGES/files/$f"); done
key=$(vb_key "${inputs[@]}")
out=$(vb_artefact_dir guest "$key")
if vb_is_complete "$out"; then
	printf '%s\n' "$out"
	exit 0
fi

vb_log "guest: unpacking ${ROOT_PKGS[*]} (bookworm arm64) and their libraries"
tmp=$(vb_begin guest "$key")
root="$tmp/root"
vb_rootfs_init "$root"
vb_rootfs_add_pinned "$root"
vb_rootfs_prune "$root"
vb_busybox_links "$root"
mkdir -p "$root"/{proc,sys,dev,run,tmp,test,etc,lib/virtiobox}
install -m 0755 "$VB_IMAGES/files/guest-init" "$root/init"
install -m 0644 "$VB_IMAGES/files/testlib.sh" "$root/lib/virtiobox/testlib.sh"
vb_cpio "$root" "$tmp/guest.cpio.gz"
mv "$root.packages" "$tmp/packages"
rm -rf "$root"
vb_commit guest "$key"
printf '%s\n' "$out"
