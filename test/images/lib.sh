# Shared helpers for the emulation image builders (sourced, not run).
# Every artefact lives in $VB_CACHE/<name>/<key>/, where <key> is a hash of
# everything that goes into it (see vb_key). A finished artefact holds a
# .complete stamp; anything without it is an interrupted build and is redone.

VB_IMAGES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VB_CACHE=${VIRTIOBOX_CACHE:-$HOME/.cache/virtiobox}
VB_JOBS=${VB_JOBS:-$(nproc)}
VB_CROSS=aarch64-linux-gnu-
mkdir -p "$VB_CACHE"

vb_log() { printf '[images] %s\n' "$*" >&2; }
vb_die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }

# vb_key LINE... : prints a short hash of the given lines. Callers pass
# "file:<path>" to hash a file's content, anything else is hashed as is.
vb_key() {
	local item
	for item in "$@"; do
		case $item in
		file:*) printf '%s %s\n' "${item#file:}" "$(sha256sum <"${item#file:}" | cut -c1-64)" ;;
		*) printf '%s\n' "$item" ;;
		esac
	done | sha256sum | cut -c1-16
}

# Version of an installed host package, or "absent".
vb_host_pkg_version() {
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo absent
}

vb_artefact_dir() { printf '%s/%s/%s\n' "$VB_CACHE" "$1" "$2"; }

vb_is_complete() { [ -f "$1/.complete" ]; }

# vb_begin NAME KEY: prints the directory to build into (emptied).
vb_begin() {
	local tmp="$VB_CACHE/$1/$2.partial"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	printf '%s\n' "$tmp"
}

# vb_commit NAME KEY: publishes the partial directory as the artefact and
# keeps the three most recent keys of NAME, so switching back and forth
# between two branches does not rebuild every time.
vb_commit() {
	local name=$1 key=$2 dir="$VB_CACHE/$1/$2" old
	touch "$dir.partial/.complete"
	rm -rf "$dir"
	mv "$dir.partial" "$dir"
	ln -sfn "$key" "$VB_CACHE/$name/current"
	# shellcheck disable=SC2012
	for old in $(ls -1t "$VB_CACHE/$name" | grep -v -e '^current$' -e '\.partial$' | tail -n +4); do
		rm -rf "${VB_CACHE:?}/$name/$old"
	done
}

# --- apt ---------------------------------------------------------------
# "bookworm" is the machine's own apt configuration (arm64 is a foreign
# architecture there, set up by setup.sh); "trixie" is a private
# configuration under $VB_CACHE/apt/trixie, so the machine's sources are
# never touched. Both keep a binary package cache of their own (the
# machine's apt.conf disables it), which makes version look-ups instant.
vb_apt_root() { printf '%s/apt/%s\n' "$VB_CACHE" "$1"; }

vb_apt_opts() {
	local root
	root=$(vb_apt_root "$1")
	printf '%s\n' -o "Dir::Cache=$root/cache" -o Dir::Cache::pkgcache=pkgcache.bin \
		-o Dir::Cache::srcpkgcache=srcpkgcache.bin -o "Dir::Cache::archives=$root/archives" \
		-o APT::Sandbox::User=root
	[ "$1" = bookworm ] && return 0
	printf '%s\n' -o "Dir::Etc::SourceList=$root/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::Etc::Preferences=/nonexistent -o Dir::Etc::PreferencesParts=/nonexistent \
		-o "Dir::State=$root/state" -o "Dir::State::Lists=$root/lists" \
		-o "Dir::State::status=$root/status" \
		-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Acquire::Languages=none
}

# Package name as the suite's apt knows an arm64 binary package.
vb_apt_name() { if [ "$1" = bookworm ]; then printf '%s:arm64\n' "$2"; else printf '%s\n' "$2"; fi; }

vb_apt() {
	local suite=$1 opts
	shift
	mapfile -t opts < <(vb_apt_opts "$suite")
	apt-get -q "${opts[@]}" "$@"
}

vb_apt_cache() {
	local suite=$1 opts
	shift
	mapfile -t opts < <(vb_apt_opts "$suite")
	apt-cache "${opts[@]}" "$@"
}

# vb_apt_init SUITE: writes the private sources list and fetches the lists
# when they are missing, older than a week, or VIRTIOBOX_APT_REFRESH=1.
vb_apt_init() {
	local suite=$1 root stamp
	root=$(vb_apt_root "$suite")
	stamp="$root/lists/.updated"
	mkdir -p "$root/lists/partial" "$root/state" "$root/cache" "$root/archives/partial"
	: >>"$root/status"
	cat >"$root/sources.list.new" <<SRC
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
SRC
	if ! cmp -s "$root/sources.list.new" "$root/sources.list"; then
		mv "$root/sources.list.new" "$root/sources.list"
		rm -f "$stamp"
	else
		rm -f "$root/sources.list.new"
	fi
	if [ ! -f "$stamp" ] || [ -n "${VIRTIOBOX_APT_REFRESH:-}" ] ||
		[ -n "$(find "$stamp" -mtime +7 2>/dev/null)" ]; then
		vb_log "apt: fetching $suite package lists (private configuration in $root)"
		vb_apt "$suite" update >&2 || vb_die "apt-get update for $suite failed"
		touch "$stamp"
	fi
}

# vb_apt_version SUITE PKG: candidate version of an arm64 binary package.
vb_apt_version() {
	local v
	v=$(vb_apt_cache "$1" policy "$2" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
	[ -n "$v" ] && [ "$v" != "(none)" ] || vb_die "package $2 not found in $1 (arm64)"
	printf '%s\n' "$v"
}

# vb_apt_fetch SUITE PKG...: downloads arm64 .debs into the shared pool
# $VB_CACHE/debs/<suite>/ (kept across builds) and prints their paths.
vb_apt_fetch() {
	local suite=$1 pool pkg ver file
	shift
	pool="$VB_CACHE/debs/$suite"
	mkdir -p "$pool"
	for pkg in "$@"; do
		ver=$(vb_apt_version "$suite" "$pkg")
		# Debian file names drop the epoch and encode ':' as %3a.
		file="$pool/${pkg}_${ver#*:}_arm64.deb"
		[ -f "$file" ] || file=$(ls "$pool/${pkg}_${ver#*:}_"*.deb 2>/dev/null | head -n1 || true)
		if [ -z "$file" ] || [ ! -f "$file" ]; then
			(cd "$pool" && vb_apt "$suite" download -qq "$pkg=$ver" >&2) ||
				vb_die "apt-get download $pkg=$ver ($suite arm64) failed"
			file=$(ls "$pool/${pkg}_${ver#*:}_"*.deb 2>/dev/null | head -n1 || true)
			[ -n "$file" ] || vb_die "downloaded $pkg but cannot find its .deb in $pool"
		fi
		printf '%s\n' "$file"
	done
}
