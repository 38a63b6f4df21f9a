#!/usr/bin/env bash
# Builds the Xen dom0 initramfs: the Xen 4.20 userland (xen-userland.sh),
# busybox, i2c-tools and gpiod (bookworm arm64) with their libraries, /init,
# the test helpers, xl templates, i2c-stub.ko, and the domU kernel and guest
# image under /images. virtiobox and the test script are not in it: the
# harness appends them per run as a second cpio (/usr/local/bin/virtiobox).
# The bookworm packages and their versions are pinned in pins.txt.
# Usage: dom0.sh         builds if needed, prints the artefact directory.
#        dom0.sh --print-pins    prints the pin lines of what dom0 adds.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT_PKGS=(busybox-static i2c-tools gpiod)
FILES=(dom0-init testlib.sh dom0lib.sh domu.cfg.in)

userland=$("$VB_IMAGES/xen-userland.sh")
if [ "${1:-}" = --print-pins ]; then
	# Only what dom0 adds to the (pinned) Xen userland.
	vb_pins_print dom0 bookworm "${ROOT_PKGS[@]}" -- "$userland"
	exit 0
fi
kernel=$("$VB_IMAGES/kernel.sh")
guest=$("$VB_IMAGES/guest.sh")

vb_pins_fetch dom0
inputs=("${VB_PIN_LINES[@]}" "$kernel" "$guest" "$userland" "file:$VB_IMAGES/dom0.sh" "file:$VB_IMAGES/lib.sh")
for f in "${FILES[@]}"; do inputs+=("file:$VB_IMAGES/files/$f"); done
key=$(vb_key "${inputs[@]}")
out=$(vb_artefact_dir dom0 "$key")
if vb_is_complete "$out"; then
	printf '%s\n' "$out"
	exit 0
fi

vb_log "dom0: assembling from $userland, ${ROOT_PKGS[*]} (bookworm arm64)"
tmp=$(vb_begin dom0 "$key")
root="$tmp/root"
cp -a "$userland/root" "$root"
cp "$userland/packages" "$root.packages"
vb_rootfs_add_pinned "$root"
vb_rootfs_prune "$root"
vb_busybox_links "$root"
mkdir -p "$root"/{proc,sys,dev,run,tmp,test,images,usr/local/bin,lib/modules,lib/virtiobox,etc/virtiobox/xl}
install -m 0755 "$VB_IMAGES/files/dom0-init" "$root/init"
install -m 0644 "$VB_IMAGES/files/testlib.sh" "$VB_IMAGES/files/dom0lib.sh" "$root/lib/virtiobox/"
install -m 0644 "$VB_IMAGES/files/domu.cfg.in" "$root/etc/virtiobox/xl/"
cp "$kernel/Image" "$guest/guest.cpio.gz" "$root/images/"
cp "$kernel/i2c-stub.ko" "$root/lib/modules/"
vb_cpio "$root" "$tmp/dom0.cpio.gz"
mv "$root.packages" "$tmp/packages"
rm -rf "$root"
vb_commit dom0 "$key"
printf '%s\n' "$out"
