#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine needs to build and test virtiobox.
# Idempotent: a second run installs nothing new and finishes in seconds.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (apt-get install)" >&2; exit 1; }

HOST_PKGS=(
	scons pkg-config gcc make git python3 python3-pytest file
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
	libxen-dev libgpiod-dev libconfig-dev libcmocka-dev libseccomp-dev
	qemu-user-static qemu-system-arm
	clang libclang-rt-14-dev clang-format
	linux-source-6.1 bc bison flex libssl-dev cpio xz-utils kmod patch
	dpkg-dev ca-certificates valgrind checkpolicy m4
	debhelper lintian man-db systemd
)
ARM64_PKGS=(
	libgpiod-dev:arm64 libconfig-dev:arm64 libcmocka-dev:arm64 libseccomp-dev:arm64
)
# libxen-dev:arm64 conflicts with the native libxen-dev (both ship the same
# headers without Multi-Arch: same), so its static archives are unpacked into
# a prefix of their own, with .pc files rewritten to point there.
XEN_ARM64_PREFIX=/opt/virtiobox/arm64-xen

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
	done
}

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
	need_update=1
fi

# deb-src for bookworm, so `apt-get source` works for project scripts.
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/virtiobox-src.sources; then
	cat >/etc/apt/sources.list.d/virtiobox-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	need_update=1
fi

todo=$(missing "${HOST_PKGS[@]}" "${ARM64_PKGS[@]}")
if [ -n "$todo" ] || [ -n "${need_update:-}" ]; then
	apt-get update -qq || echo "setup.sh: apt-get update reported errors (non-Debian sources?); continuing" >&2
fi
if [ -n "$todo" ]; then
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $todo
fi
install_xen_arm64() {
	local ver stamp tmp pc
	ver=$(apt-cache policy libxen-dev | awk '/Candidate:/ {print $2}')
	ver="$ver layout-4" # bump when the unpacking below changes
	stamp="$XEN_ARM64_PREFIX/.version"
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ] && return 0
	tmp=$(mktemp -d)
	chown _apt "$tmp" 2>/dev/null || true
	(cd "$tmp" && apt-get download -qq "libxen-dev:arm64=${ver%% *}")
	rm -rf "$XEN_ARM64_PREFIX"
	mkdir -p "$XEN_ARM64_PREFIX"
	dpkg -x "$tmp"/libxen-dev_*_arm64.deb "$XEN_ARM64_PREFIX"
	for pc in "$XEN_ARM64_PREFIX"/usr/lib/aarch64-linux-gnu/pkgconfig/*.pc; do
		sed -i -E "s#^(prefix|exec_prefix|includedir|libdir)=/usr#\1=$XEN_ARM64_PREFIX/usr#" "$pc"
	done
	# The shared-library links point at runtime packages we do not unpack;
	# without them the linker takes the static archives, as intended.
	find "$XEN_ARM64_PREFIX" -name 'libxen*.so' -type l -delete
	rm -rf "$tmp"
	echo "$ver" >"$stamp"
}
install_xen_arm64

echo "setup.sh: all build and test dependencies present"
