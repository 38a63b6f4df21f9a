#!/usr/bin/env bash
# Builds a FLASK policy for the emulated Xen: Xen's example policy
# (tools/flask/policy of the pinned Debian xen source) plus virtiobox's own
# module, xen/flask/virtiobox.te (a driver domain labelled virtiobox_dd_t
# serves every domU_t guest). Loaded at run time (`xl loadpolicy`, Xen
# booted with xsm=flask flask=late) by test/system/test_driver_domain.py.
# Usage: xsm-policy.sh   builds if needed, prints the artefact directory.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v checkpolicy >/dev/null || vb_die "checkpolicy missing: run setup.sh"
command -v m4 >/dev/null || vb_die "m4 missing: run setup.sh"
module="$VB_IMAGES/../../xen/flask/virtiobox.te"
vb_pins_fetch xen
orig=''
for f in "${VB_PIN_FILES[@]}"; do
	case $f in *.orig.tar.*) orig=$f ;; esac
done
[ -n "$orig" ] || vb_die "xsm-policy: pins.txt must pin the orig tarball of xen"

key=$(vb_key "${VB_PIN_LINES[@]}" \
	"checkpolicy $(vb_host_pkg_version checkpolicy)" "m4 $(vb_host_pkg_version m4)" \
	"file:$module" "file:$VB_IMAGES/xsm-policy.sh" "file:$VB_IMAGES/lib.sh")
out=$(vb_artefact_dir xsm-policy "$key")
if vb_is_complete "$out"; then
	printf '%s\n' "$out"
	exit 0
fi

log="$VB_CACHE/logs/xsm-policy-$key.log"
: >"$log"
work="$VB_CACHE/work/xsm-policy"
rm -rf "$work"
mkdir -p "$work"
vb_log "xsm-policy: Xen's example FLASK policy + xen/flask/virtiobox.te"
tar -xf "$orig" -C "$work" --strip-components=1 --wildcards \
	'*/tools/flask/policy/*' '*/xen/xsm/flask/policy/*'
pol="$work/tools/flask/policy"
cp "$module" "$pol/modules/virtiobox.te"
# After the modules whose types it uses, before the roles that take them.
sed -i 's/^all_system_role = on$/virtiobox = on\n&/' "$pol/modules/modules.conf"
grep -qx 'virtiobox = on' "$pol/modules/modules.conf" ||
	vb_die "xsm-policy: modules.conf has no all_system_role line to put virtiobox before"
vb_logged "$log" make -C "$pol" -f Makefile.common FLASK_BUILD_DIR="$pol" XEN_FULLVERSION=vb

tmp=$(vb_begin xsm-policy "$key")
cp "$pol/xenpolicy-vb" "$tmp/xenpolicy"
vb_commit xsm-policy "$key"
rm -rf "$work"
printf '%s\n' "$out"
