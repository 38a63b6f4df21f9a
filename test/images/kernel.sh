#!/usr/bin/env bash
# Builds the arm64 kernel Image (and i2c-stub.ko) shared by the plain QEMU
# guest, Xen dom0 and Xen domUs, from Debian's linux-source-6.1.
# Usage: kernel.sh        builds if needed, prints the artefact directory.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SRC_TARBALL=/usr/src/linux-source-6.1.tar.xz
FRAGMENT="$VB_IMAGES/kernel.config"
[ -f "$SRC_TARBALL" ] || vb_die "$SRC_TARBALL missing: run setup.sh (package linux-source-6.1)"
command -v "${VB_CROSS}gcc" >/dev/null || vb_die "${VB_CROSS}gcc missing: run setup.sh"

src_version=$(vb_host_pkg_version linux-source-6.1)
key=$(vb_key "linux-source-6.1 $src_version" \
	"gcc-aarch64-linux-gnu $(vb_host_pkg_version gcc-aarch64-linux-gnu)" \
	"file:$FRAGMENT" "file:$VB_IMAGES/kernel.sh" "file:$VB_IMAGES/lib.sh")
out=$(vb_artefact_dir kernel "$key")
if vb_is_complete "$out"; then
	printf '%s\n' "$out"
	exit 0
fi

log="$VB_CACHE/logs/kernel-$key.log"
mkdir -p "$VB_CACHE/logs"
: >"$log"

# The source tree and the object tree are kept between builds: a changed
# fragment then rebuilds only what the changed options touch.
work="$VB_CACHE/work/linux-$src_version"
src="$work/src"
obj="$work/obj"
if [ ! -f "$work/.unpacked" ]; then
	vb_log "kernel: unpacking $SRC_TARBALL"
	rm -rf "$work"
	mkdir -p "$src" "$obj"
	tar -xJf "$SRC_TARBALL" -C "$src" --strip-components=1
	touch "$work/.unpacked"
fi

kmake() { make -C "$src" O="$obj" ARCH=arm64 CROSS_COMPILE="$VB_CROSS" "$@"; }

vb_log "kernel: allnoconfig + $FRAGMENT"
KCONFIG_ALLCONFIG="$FRAGMENT" vb_logged "$log" kmake allnoconfig
vb_logged "$log" kmake olddefconfig

# Kconfig silently drops options whose dependencies are not met: check
# that every option the fragment asks for really made it.
missing=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=*) grep -qx -- "$line" "$obj/.config" || missing+=("$line (have: $(grep -E "^(# )?${line%%=*}[= ]" "$obj/.config" || echo unset))") ;;
	esac
done <"$FRAGMENT"
if [ "${#missing[@]}" -gt 0 ]; then
	printf '[images] kernel: option not in the final .config: %s\n' "${missing[@]}" >&2
	vb_die "kernel: ${#missing[@]} option(s) of $FRAGMENT did not survive olddefconfig (unmet dependencies?)"
fi

vb_log "kernel: building Image and modules with -j$VB_JOBS (about 8 minutes on 2 cores; output: $log)"
vb_logged "$log" kmake -j"$VB_JOBS" Image modules

tmp=$(vb_begin kernel "$key")
cp "$obj/arch/arm64/boot/Image" "$obj/.config" "$obj/System.map" "$tmp/"
cp "$obj/drivers/i2c/i2c-stub.ko" "$tmp/"
printf '%s\n' "$(kmake -s kernelrelease)" >"$tmp/release"
vb_commit kernel "$key"
printf '%s\n' "$out"
