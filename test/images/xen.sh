#!/usr/bin/env bash
# Builds the Xen 4.20 arm64 hypervisor with CONFIG_IOREQ_SERVER from the
# Debian trixie source package `xen` (Debian's own binary lacks IOREQ).
# Usage: xen.sh        builds if needed, prints the artefact directory.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v "${VB_CROSS}gcc" >/dev/null || vb_die "${VB_CROSS}gcc missing: run setup.sh"
vb_apt_init trixie

# "Version:" and the sha256 of each source file, from the private Sources.
showsrc=$(vb_apt_cache trixie showsrc xen) || vb_die "trixie has no source package xen"
ver=$(awk '/^Version:/ {print $2; exit}' <<<"$showsrc")
dir=$(awk '/^Directory:/ {print $2; exit}' <<<"$showsrc")
if [ -z "$ver" ] || [ -z "$dir" ]; then vb_die "cannot parse 'apt-cache showsrc xen' for trixie"; fi

key=$(vb_key "xen source $ver" \
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

# Source files: "<sha256> <size> <name>" lines of Checksums-Sha256.
sums=$(awk '/^Checksums-Sha256:/ {on=1; next} on && /^ / {print $1, $3; next} {on=0}' <<<"$showsrc" | sort -u)
orig=$(awk '$2 ~ /\.orig\.tar\./ {print $2}' <<<"$sums")
debian=$(awk '$2 ~ /\.debian\.tar\./ {print $2}' <<<"$sums")
if [ -z "$orig" ] || [ -z "$debian" ]; then vb_die "xen $ver: no orig/debian tarball in the Sources entry"; fi

pool="$VB_CACHE/debs/trixie-src"
mkdir -p "$pool"
have_sources() {
	awk -v a="$orig" -v b="$debian" '$2 == a || $2 == b {print $1 "  " $2}' <<<"$sums" |
		(cd "$pool" && sha256sum -c --status 2>/dev/null)
}
if ! have_sources; then
	vb_log "xen: downloading source package xen=$ver from trixie"
	# The .dsc has answered 404 while both tarballs were there: then fetch
	# the tarballs by name, verified against the signed Sources index.
	if ! (cd "$pool" && vb_apt trixie source --download-only "xen=$ver" >&2); then
		vb_log "xen: 'apt-get source' failed; fetching $orig and $debian directly"
		for f in "$orig" "$debian"; do
			hash=$(awk -v f="$f" '$2 == f {print $1}' <<<"$sums")
			# apt-get source may have fetched this one before failing.
			[ "$(sha256sum "$pool/$f" 2>/dev/null | cut -c1-64)" != "$hash" ] || continue
			mapfile -t opts < <(vb_apt_opts trixie)
			/usr/lib/apt/apt-helper "${opts[@]}" download-file \
				"http://deb.debian.org/debian/$dir/$f" "$pool/$f" "SHA256:$hash" >&2 ||
				vb_die "xen: cannot download $dir/$f"
		done
	fi
	have_sources || vb_die "xen: $orig or $debian missing or corrupt in $pool"
fi

work="$VB_CACHE/work/xen"
rm -rf "$work"
mkdir -p "$work"
vb_log "xen: unpacking $orig + $debian"
tar -xf "$pool/$orig" -C "$work" --strip-components=1
tar -xf "$pool/$debian" -C "$work"
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
