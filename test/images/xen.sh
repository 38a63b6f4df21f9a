#!/usr/bin/env bash
# Builds the Xen 4.20 arm64 hypervisor with CONFIG_IOREQ_SERVER from the
# Debian trixie source package `xen` (Debian's own binary lacks IOREQ), at
# the version pins.txt pins together with the dom0 userland.
# Usage: xen.sh        builds if needed, prints the artefact directory.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v "${VB_CROSS}gcc" >/dev/null || vb_die "${VB_CROSS}gcc missing: run setup.sh"
vb_pins_fetch xen
orig='' debian='' ver=''
for i in "${!VB_PIN_FILES[@]}"; do
	case ${VB_PIN_FILES[$i]} in
	*.orig.tar.*) orig=${VB_PIN_FILES[$i]} ;;
	*.debian.tar.*) debian=${VB_PIN_FILES[$i]} ver=$(cut -d' ' -f5 <<<"${VB_PIN_LINES[$i]}") ;;
	esac
done
if [ -z "$orig" ] || [ -z "$debian" ]; then vb_die "xen: pins.txt must pin one orig and one debian tarball for xen"; fi

key=$(vb_key "${VB_PIN_LINES[@]}" \
	"gcc-aarch64-linux-gnu $(vb_host_pkg_version gcc-aarch64-linux-gnu)" \
	"file:$VB_IMAGES/xen.sh" "file:$VB_IMAGES/lib.sh")
out=$(vb_artefact_dir xen "$key")
if vb_is_complete "$out"; then
	printf '%s\n' "$out"
	exit 0
fi

log="$VB_CACHE/logs/xen-$key.log"
mkdir -p "$VB_CACHE/logs"
: >"$log"

work="$VB_CACHE/work/xen"
rm -rf "$work"
mkdir -p "$work"
vb_log "xen: unpacking $(basename "$orig") + $(basename "$debian")"
tar -xf "$orig" -C "$work" --strip-components=1
tar -xf "$debian" -C "$work"
vb_log "xen: applying debian/patches/series"
while read -r patch opts; do
	case $patch in '' | '#'*) continue ;; esac
	# shellcheck disable=SC2086
	patch -d "$work" -s -p1 ${opts:-} <"$work/debian/patches/$patch" ||
		vb_die "xen: debian patch $patch does not apply"
done <"$work/debian/patches/series"

kconfig="$work/debian/xen-kconfig"
[ -f "$kconfig" ] || kconfig=$(find "$work/debian" -maxdepth 2 -name '*kconfig*' -type f | head -n1)
[ -f "$kconfig" ] || vb_die "xen: no Kconfig file found under debian/ (looked for debian/xen-kconfig)"
cp "$kconfig" "$work/xen/.config"
printf 'CONFIG_EXPERT=y\nCONFIG_IOREQ_SERVER=y\n' >>"$work/xen/.config"
xmake() { make -C "$work/xen" XEN_TARGET_ARCH=arm64 CROSS_COMPILE="$VB_CROSS" "$@"; }
vb_logged "$log" xmake olddefconfig
for opt in CONFIG_EXPERT CONFIG_IOREQ_SERVER; do
	grep -qx "$opt=y" "$work/xen/.config" || vb_die "xen: $opt=y did not survive olddefconfig"
done

vb_log "xen: building the hypervisor with -j$VB_JOBS (output: $log)"
vb_logged "$log" xmake -j"$VB_JOBS"

tmp=$(vb_begin xen "$key")
cp "$work/xen/xen" "$work/xen/.config" "$tmp/"
printf '%s\n' "$ver" >"$tmp/version"
vb_commit xen "$key"
rm -rf "$work"
printf '%s\n' "$out"
