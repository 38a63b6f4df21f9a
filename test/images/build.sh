#!/usr/bin/env bash
# Builds the emulation artefacts into the cache (${VIRTIOBOX_CACHE:-~/.cache/virtiobox});
# each is keyed by a hash of its inputs, so a second run is instant and a
# changed input rebuilds only the artefacts it goes into.
# Usage: test/images/build.sh [kernel|xen|xen-debian|xen-userland|guest|dom0|xsm-policy|all]...
#          prints one NAME=PATH line per file on stdout; progress on stderr.
#        test/images/build.sh --check-sources [--if-cold]
#          asks the archive for every file pins.txt pins (ok / missing /
#          checksum mismatch), builds nothing; --if-cold: only when some
#          pinned input is not in the cache yet.
#        test/images/build.sh --print-pins
#          prints a pins.txt resolved from today's indexes (bumping pins).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# Every pinned input is in the cache: then no build needs the archive.
all_cached() {
	local a
	for a in xen xen-debian xen-userland guest dom0; do
		python3 "$VB_IMAGES/pins.py" fetch --offline "$a" >/dev/null 2>&1 || return 1
	done
}

case ${1:-} in
--check-sources)
	if [ "${2:-}" = --if-cold ] && all_cached; then
		vb_log "check-sources: every pinned input is cached; not asking the archive"
		exit 0
	fi
	vb_apt_init trixie
	exec python3 "$VB_IMAGES/pins.py" check
	;;
--print-pins)
	vb_apt_init trixie
	{
		python3 "$VB_IMAGES/pins.py" print-source xen trixie xen
		"$VB_IMAGES/xen-debian.sh" --print-pins
		"$VB_IMAGES/xen-userland.sh" --print-pins
		"$VB_IMAGES/guest.sh" --print-pins
		"$VB_IMAGES/dom0.sh" --print-pins
	} | python3 "$VB_IMAGES/pins.py" merge
	exit
	;;
esac

[ "$#" -gt 0 ] || set -- all
targets=()
for t in "$@"; do
	case $t in
	all) targets+=(kernel xen xen-debian xen-userland guest dom0 xsm-policy) ;;
	kernel | xen | xen-debian | xen-userland | guest | dom0 | xsm-policy) targets+=("$t") ;;
	-h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) vb_die "unknown target '$t' (kernel, xen, xen-debian, xen-userland, guest, dom0, xsm-policy, all)" ;;
	esac
done

# One build at a time per cache: parallel test runs wait here.
exec 9>"$VB_CACHE/.lock"
if ! flock -n 9; then
	vb_log "waiting for another build using $VB_CACHE"
	flock 9
fi

declare -A done_=()
for t in "${targets[@]}"; do
	[ -z "${done_[$t]:-}" ] || continue
	done_[$t]=1
	start=$SECONDS
	dir=$("$VB_IMAGES/$t.sh") || vb_die "building $t failed"
	[ $((SECONDS - start)) -lt 2 ] || vb_log "$t: built in $((SECONDS - start)) s"
	case $t in
	kernel) printf 'kernel=%s/Image\ni2c_stub=%s/i2c-stub.ko\nkernel_config=%s/.config\n' "$dir" "$dir" "$dir" ;;
	xen) printf 'xen=%s/xen\n' "$dir" ;;
	xen-debian) printf 'xen_debian=%s/xen\n' "$dir" ;;
	xen-userland) printf 'xen_userland=%s/root\n' "$dir" ;;
	guest) printf 'guest=%s/guest.cpio.gz\n' "$dir" ;;
	dom0) printf 'dom0=%s/dom0.cpio.gz\n' "$dir" ;;
	xsm-policy) printf 'xsm_policy=%s/xenpolicy\n' "$dir" ;;
	esac
done
