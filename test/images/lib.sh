# shellcheck shell=bash
# Shared helpers for the emulation image builders (sourced, not run).
# Every artefact lives in $VB_CACHE/<name>/<key>/, where <key> is a hash of
# everything that goes into it (see vb_key). A finished artefact holds a
# .complete stamp; anything without it is an interrupted build and is redone.

# shellcheck disable=SC2034 # used by the scripts that source this file
VB_IMAGES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VB_CACHE=${VIRTIOBOX_CACHE:-$HOME/.cache/virtiobox}
VB_JOBS=${VB_JOBS:-$(nproc)}
VB_CROSS=aarch64-linux-gnu-
mkdir -p "$VB_CACHE"

vb_log() { printf '[images] %s\n' "$*" >&2; }
vb_die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }

# vb_key LINE... : prints a short hash of the given lines. Callers pass
# "file:<path>" to hash a file's name and content (not its directory, so
# every checkout of the repository shares one cache), anything else is
# hashed as is.
vb_key() {
	local item
	for item in "$@"; do
		case $item in
		file:*) printf '%s %s\n' "$(basename "${item#file:}")" "$(sha256sum <"${item#file:}" | cut -c1-64)" ;;
		*) printf '%s\n' "$item" ;;
		esac
	done | sha256sum | cut -c1-16
}

# Version of an installed host package, or "absent".
vb_host_pkg_version() {
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo absent
}

# vb_logged LOG CMD...: runs CMD with its output appended to LOG; on failure
# shows the end of LOG and fails naming it.
vb_logged() {
	local log=$1
	shift
	mkdir -p "$(dirname "$log")"
	if ! "$@" >>"$log" 2>&1; then
		tail -n 40 "$log" >&2
		vb_die "failed: $* (full output: $log)"
	fi
}

vb_artefact_dir() { printf '%s/%s/%s\n' "$VB_CACHE" "$1" "$2"; }

# vb_is_complete DIR: true if DIR is a finished artefact; marks it as
# recently used, which vb_commit's clean-up goes by.
vb_is_complete() {
	[ -f "$1/.complete" ] || return 1
	touch "$1"
}

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
	# Key directories are hex names: ls output is safe to split here.
	# shellcheck disable=SC2010
	for old in $(ls -1t "$VB_CACHE/$name" | grep -E '^[0-9a-f]+$' | tail -n +4); do
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
		-o "Dir::Etc::SourceParts=$root/empty.d" \
		-o "Dir::Etc::Preferences=$root/empty.d/none" -o "Dir::Etc::PreferencesParts=$root/empty.d" \
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

# vb_apt_init SUITE: prepares the suite's apt directories. For trixie it
# writes the private sources list and fetches the lists when they are
# missing, older than a week, or VIRTIOBOX_APT_REFRESH=1 is set. bookworm's
# lists are the machine's (setup.sh runs apt-get update).
vb_apt_init() {
	local suite=$1 root stamp
	root=$(vb_apt_root "$suite")
	mkdir -p "$root/cache" "$root/archives/partial"
	[ "$suite" = bookworm ] && return 0
	stamp="$root/lists/.updated"
	mkdir -p "$root/lists/partial" "$root/state" "$root/empty.d"
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
		vb_log "apt: fetching $suite lists (private configuration in $root)"
		vb_apt "$suite" update >&2 || vb_die "apt-get update for $suite failed (is deb.debian.org reachable?)"
		touch "$stamp"
	fi
}

# vb_apt_versions SUITE PKG...: prints "PKG VERSION" per package (the
# candidate arm64 version); fails naming the packages the suite lacks.
vb_apt_versions() {
	local suite=$1 pkg names=() out
	shift
	for pkg in "$@"; do names+=("$(vb_apt_name "$suite" "$pkg")"); done
	out=$(vb_apt_cache "$suite" policy "${names[@]}" 2>/dev/null |
		awk '/^[^ ].*:$/ {name=$1; sub(/:$/, "", name); sub(/:arm64$/, "", name)}
		     /^  Candidate:/ {print name, $2}')
	for pkg in "$@"; do
		grep -q "^$pkg [^(]" <<<"$out" || vb_die "package $pkg (arm64) not found in $suite (bookworm: did setup.sh run? it enables arm64 and updates the lists)"
	done
	printf '%s\n' "$out"
}

# vb_apt_has SUITE PKG: true if the suite has a real arm64 package PKG.
vb_apt_has() {
	local out
	out=$(vb_apt_cache "$1" policy "$(vb_apt_name "$1" "$2")" 2>/dev/null) || return 1
	grep -q '^  Candidate: [^(]' <<<"$out"
}

# vb_apt_fetch SUITE PKG...: downloads the candidate arm64 .debs into the
# pool $VB_CACHE/debs/<suite>/ (kept across builds), prints their paths.
vb_apt_fetch() {
	local suite=$1 pool pkg ver file versions want=()
	shift
	[ "$#" -gt 0 ] || return 0
	pool="$VB_CACHE/debs/$suite"
	mkdir -p "$pool"
	versions=$(vb_apt_versions "$suite" "$@")
	while read -r pkg ver; do
		[ -n "$(vb_pool_file "$pool" "$pkg" "$ver")" ] || want+=("$(vb_apt_name "$suite" "$pkg")=$ver")
	done <<<"$versions"
	if [ "${#want[@]}" -gt 0 ]; then
		(cd "$pool" && vb_apt "$suite" download -qq "${want[@]}" >&2) ||
			vb_die "apt-get download from $suite failed: ${want[*]}"
	fi
	while read -r pkg ver; do
		file=$(vb_pool_file "$pool" "$pkg" "$ver")
		[ -n "$file" ] || vb_die "downloaded $pkg=$ver but no matching .deb in $pool"
		printf '%s\n' "$file"
	done <<<"$versions"
}

# The pool file of PKG=VER: apt-get download writes an epoch as "%3a".
vb_pool_file() {
	local f
	for f in "$1/${2}_${3/:/%3a}_"*.deb "$1/${2}_${3#*:}_"*.deb; do
		[ -f "$f" ] && { printf '%s\n' "$f"; return 0; }
	done
	return 0
}

# --- pinned inputs (pins.txt, read by pins.py) ---------------------------
# vb_pins_fetch ARTEFACT: downloads (or finds in $VB_CACHE/sources/) every
# input pins.txt lists for ARTEFACT, verified by sha256, falling back to
# the index's version where a pinned file is gone (pins.py says so). Sets
# VB_PIN_FILES (local paths, manifest order) and VB_PIN_LINES (the pin
# lines actually used: they go into the artefact's cache key).
vb_pins_fetch() {
	local out path line
	VB_PIN_FILES=()
	VB_PIN_LINES=()
	# Offline first: a warm cache never asks the archive. When something is
	# missing, the trixie lists must be at hand for a fallback.
	local rc=0
	out=$(python3 "$VB_IMAGES/pins.py" fetch --offline "$1") || rc=$?
	if [ "$rc" = 3 ]; then
		vb_apt_init trixie
		rc=0
		out=$(python3 "$VB_IMAGES/pins.py" fetch "$1") || rc=$?
	fi
	[ "$rc" = 0 ] || vb_die "$1: cannot get its pinned inputs (see above)"
	while IFS=$'\t' read -r path line; do
		VB_PIN_FILES+=("$path")
		VB_PIN_LINES+=("$line")
	done <<<"$out"
}

# vb_rootfs_add_pinned ROOT: unpacks the pinned .debs of the last
# vb_pins_fetch into ROOT, then checks that every NEEDED soname is
# provided: the pins must hold the whole library closure.
vb_rootfs_add_pinned() {
	local root=$1 i missing suite
	for i in "${!VB_PIN_FILES[@]}"; do
		case ${VB_PIN_FILES[$i]} in *.deb) ;; *) continue ;; esac
		suite=$(cut -d' ' -f2 <<<"${VB_PIN_LINES[$i]}")
		vb_rootfs_unpack "$root" "$suite" "${VB_PIN_FILES[$i]}"
	done
	missing=$(comm -23 <(vb_rootfs_needed "$root") <(vb_rootfs_provided "$root"))
	[ -z "$missing" ] || vb_die "the pinned packages lack libraries: ${missing//$'\n'/ }; the pins are incomplete: run test/images/build.sh --print-pins (docs/testing.md, 'Bumping a pin')"
}

# vb_pins_print ARTEFACT SUITE PKG... [-- BASE]: resolves PKG and their
# library closure from the suite's index today (vb_rootfs_add), on top of
# the root BASE/root if given, in a scratch directory, and prints the pin
# lines of what it unpacked (bumping pins; nothing is built).
vb_pins_print() {
	local artefact=$1 suite=$2 pkgs=() base='' scratch
	shift 2
	while [ "$#" -gt 0 ]; do
		[ "$1" = -- ] && { base=$2; break; }
		pkgs+=("$1")
		shift
	done
	vb_apt_init "$suite"
	scratch=$(mktemp -d)
	if [ -n "$base" ]; then
		cp -a "$base/root" "$scratch/root"
		cp "$base/packages" "$scratch/root.packages"
	else
		vb_rootfs_init "$scratch/root"
	fi
	vb_rootfs_add "$scratch/root" "$suite" "${pkgs[@]}" >&2
	awk -v s="$suite" '$3 == s {print $1, $2}' "$scratch/root.packages" |
		python3 "$VB_IMAGES/pins.py" print "$artefact" "$suite" || vb_die "$artefact: cannot print pins"
	rm -rf "$scratch"
}

# --- root file systems ----------------------------------------------------
# A root is merged-/usr (bin, sbin, lib are links into usr/), like trixie;
# bookworm packages unpack into it unchanged because tar keeps the links.
vb_rootfs_init() {
	local root=$1
	mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib"
	ln -sfn usr/bin "$root/bin"
	ln -sfn usr/sbin "$root/sbin"
	ln -sfn usr/lib "$root/lib"
	: >"$root.packages"
}

# vb_rootfs_unpack ROOT SUITE DEB: unpacks one .deb, records it.
vb_rootfs_unpack() {
	local root=$1 suite=$2 deb=$3
	dpkg-deb --fsys-tarfile "$deb" | tar -C "$root" -x --keep-directory-symlink --no-same-owner ||
		vb_die "cannot unpack $deb"
	printf '%s %s %s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" "$suite" >>"$root.packages"
}

# Sonames the ELF files under ROOT need (NEEDED entries), one per line.
vb_rootfs_needed() {
	local f
	find "$1" -type f -size +64c | while IFS= read -r f; do
		[ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
		"${VB_CROSS}readelf" -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
	done | sort -u
}

# Sonames ROOT provides: every file or link called *.so or *.so.*.
vb_rootfs_provided() {
	find "$1" \( -type f -o -type l \) \( -name '*.so' -o -name '*.so.*' \) -printf '%f\n' | sort -u
}

# Package names a .deb depends on (Depends + Pre-Depends, every alternative,
# version constraints and :any qualifiers dropped).
vb_deb_depends() {
	{ dpkg-deb -f "$1" Depends; dpkg-deb -f "$1" Pre-Depends; } |
		tr ',|' '\n' | sed -e 's/([^)]*)//g' -e 's/:any//' -e 's/[[:space:]]//g' | sed '/^$/d'
}

# Package names Debian's library naming policy gives the sonames on stdin:
# libfoo_bar.so.2 -> libfoo-bar2 (and the 64-bit time_t variant ...t64);
# libfoo1.so.2 -> libfoo1-2.
vb_policy_names() {
	local so base num
	for so in $1; do
		base=${so%%.so.*}
		num=${so#*.so.}
		[ "$base" != "$so" ] || continue
		base=$(tr 'A-Z_' 'a-z-' <<<"$base")
		case $base in *[0-9]) base="$base-" ;; esac
		printf '%s\n' "$base${num%%.*}" "$base${num%%.*}t64"
	done | sort -u
}

# vb_rootfs_add ROOT SUITE PKG...: unpacks the packages and then their shared
# library closure. The closure comes from the ELF files, not from a list:
# while some NEEDED soname is not in ROOT, look among the Depends of the
# packages unpacked so far (dpkg-shlibdeps put every library provider
# there) for a package whose file list (dpkg-deb -c) has that soname and
# unpack it. Library packages (Section: libs) are tried first; then the
# package the Debian library naming policy derives from the soname
# (libcom_err.so.2 -> libcom-err2: some packages omit such dependencies on
# "required" libraries); then the other dependencies. Fails naming what is
# still missing.
vb_rootfs_add() {
	local root=$1 suite=$2 debs deb pkg missing round=0 found tier c
	shift 2
	local -A seen=()
	local unpacked=()
	debs=$(vb_apt_fetch "$suite" "$@")
	for deb in $debs; do
		vb_rootfs_unpack "$root" "$suite" "$deb"
		unpacked+=("$deb")
	done
	while read -r pkg _; do seen[$pkg]=1; done <"$root.packages"
	while :; do
		missing=$(comm -23 <(vb_rootfs_needed "$root") <(vb_rootfs_provided "$root"))
		[ -n "$missing" ] || return 0
		round=$((round + 1))
		[ "$round" -le 20 ] || vb_die "library closure does not converge; missing: $missing"
		# Candidates: dependencies not looked at yet, with their Section.
		local cands=() names sections
		for deb in "${unpacked[@]}"; do
			for c in $(vb_deb_depends "$deb"); do
				[ -n "${seen[$c]:-}" ] || cands+=("$c")
			done
		done
		[ "${#cands[@]}" -gt 0 ] || vb_die "no dependency of the unpacked $suite packages provides: ${missing//$'\n'/ }"
		mapfile -t cands < <(printf '%s\n' "${cands[@]}" | sort -u)
		mapfile -t names < <(for c in "${cands[@]}"; do vb_apt_name "$suite" "$c"; done)
		sections=$(vb_apt_cache "$suite" show "${names[@]}" 2>/dev/null |
			awk '/^Package:/ {p=$2} /^Section:/ && !(p in s) {s[p]=$2; print p, $2}' || true)
		found=0
		for tier in libs policy other; do
			local pick=()
			if [ "$tier" = policy ]; then
				mapfile -t pick < <(vb_policy_names "$missing" | while read -r c; do
					[ -z "${seen[$c]:-}" ] && vb_apt_has "$suite" "$c" && echo "$c"
				done)
			fi
			for c in "${cands[@]}"; do
				[ "$tier" = policy ] && break
				local sec
				sec=$(awk -v p="$c" '$1 == p {print $2}' <<<"$sections")
				[ -n "$sec" ] || { seen[$c]=1; continue; } # virtual or not for arm64
				if [ "$tier" = libs ] && [ "$sec" != libs ]; then continue; fi
				[ -n "${seen[$c]:-}" ] || pick+=("$c")
			done
			[ "${#pick[@]}" -gt 0 ] || continue
			debs=$(vb_apt_fetch "$suite" "${pick[@]}")
			for deb in $debs; do
				local provides
				pkg=$(dpkg-deb -f "$deb" Package)
				seen[$pkg]=1
				provides=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#.*/##' | grep -xF -f <(printf '%s\n' "$missing") | sort -u | tr '\n' ' ' || true)
				[ -n "$provides" ] || continue
				vb_log "closure: $pkg ($suite) provides $provides"
				vb_rootfs_unpack "$root" "$suite" "$deb"
				unpacked+=("$deb")
				found=1
			done
			[ "$found" = 1 ] && break
		done
		[ "$found" = 1 ] || vb_die "no dependency of the unpacked $suite packages provides: ${missing//$'\n'/ }"
	done
}

# Removes what a test image never reads: documentation, locales, systemd
# units, iconv modules, init scripts.
vb_rootfs_prune() {
	local root=$1
	rm -rf "$root"/usr/share/{doc,man,info,locale,lintian,bug,bash-completion,python3,bash-completion} \
		"$root"/usr/lib/systemd "$root"/usr/lib/aarch64-linux-gnu/gconv \
		"$root"/etc/init.d "$root"/etc/default
}

# vb_busybox_links ROOT: a link to /bin/busybox for every applet whose path
# is still free, so real tools (i2c-tools' i2cget...) win over applets.
vb_busybox_links() {
	local root=$1 applet
	[ -x /usr/bin/qemu-aarch64-static ] || vb_die "qemu-aarch64-static missing: run setup.sh (qemu-user-static)"
	for applet in $(qemu-aarch64-static "$root/bin/busybox" --list-full); do
		[ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done
}

# vb_cpio ROOT OUT: packs ROOT as a gzip'd newc initramfs, owned by root,
# in a stable file order.
vb_cpio() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6n >"$2.tmp"
	mv "$2.tmp" "$2"
}
