#!/usr/bin/env bash
# Debian trixie's own Xen 4.20 arm64 hypervisor (package
# xen-hypervisor-4.20-arm64, the version pins.txt pins with the sources),
# as Debian users have it: built without CONFIG_IOREQ_SERVER (it needs
# CONFIG_EXPERT), so a test can show what virtiobox says on such a Xen.
# Usage: xen-debian.sh                fetches if needed, prints the artefact directory.
#        xen-debian.sh --print-pins   its pin line from today's trixie index (bumping).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --print-pins ]; then
	vb_apt_init trixie
	echo xen-hypervisor-4.20-arm64 | python3 "$VB_IMAGES/pins.py" print xen-debian trixie ||
		vb_die "xen-debian: cannot print its pin"
	exit 0
fi

vb_pins_fetch xen-debian
[ "${#VB_PIN_FILES[@]}" = 1 ] || vb_die "xen-debian: pins.txt must pin exactly one .deb for xen-debian"
key=$(vb_key "${VB_PIN_LINES[@]}" "file:$VB_IMAGES/xen-debian.sh" "file:$VB_IMAGES/lib.sh")
out=$(vb_artefact_dir xen-debian "$key")
if vb_is_complete "$out"; then
	printf '%s\n' "$out"
	exit 0
fi

work="$VB_CACHE/work/xen-debian"
rm -rf "$work"
mkdir -p "$work"
dpkg-deb -x "${VB_PIN_FILES[0]}" "$work"
xen=$(find "$work/boot" -maxdepth 1 -name 'xen-*-arm64' -type f | head -n1)
[ -n "$xen" ] && [ -f "$xen.config" ] || vb_die "xen-debian: no boot/xen-*-arm64 and its .config in $(basename "${VB_PIN_FILES[0]}")"
! grep -qx 'CONFIG_IOREQ_SERVER=y' "$xen.config" ||
	vb_die "xen-debian: Debian's hypervisor has CONFIG_IOREQ_SERVER now; the no-IOREQ test needs another Xen"

tmp=$(vb_begin xen-debian "$key")
cp "$xen" "$tmp/xen"
cp "$xen.config" "$tmp/.config"
vb_commit xen-debian "$key"
rm -rf "$work"
printf '%s\n' "$out"
