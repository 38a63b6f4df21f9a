# Helpers for dom0 test scripts, in the dom0 image as
# /lib/virtiobox/dom0lib.sh (sourced after testlib.sh by /init).
# shellcheck shell=sh

# virtio entries for xl's `virtio = [...]`. transport=mmio is a must: without
# it libxl writes irq 0 / base 0.
# shellcheck disable=SC2034 # for the test scripts
VB_VIRTIO_I2C="type=virtio,device22, transport=mmio, grant_usage=1"
# shellcheck disable=SC2034
VB_VIRTIO_GPIO="type=virtio,device29, transport=mmio, grant_usage=1"
# shellcheck disable=SC2034
VB_VIRTIO_VSOCK="type=virtio,device13, transport=mmio, grant_usage=1"
VB_CONSOLE_LOGS=/var/log/xen/console

# domu_config NAME [--memory MB] [--extra KERNEL-ARGS] [--virtio ENTRY]...
#                  [--line XL-LINE]...
# Writes /run/virtiobox/NAME.cfg from /etc/virtiobox/xl/domu.cfg.in and prints
# its path. The domU boots the project kernel with the guest image plus
# /test/domu/NAME.cpio.gz (the harness's per-domU script and files), so its
# /init runs that script and prints its verdict on the domU console.
domu_config() {
	_vb_name=$1
	shift
	_vb_mem=128 _vb_extra="" _vb_virtio="" _vb_lines=""
	while [ $# -gt 0 ]; do
		case $1 in
		--memory) _vb_mem=$2 ;;
		--extra) _vb_extra="$_vb_extra $2" ;;
		--virtio) _vb_virtio="$_vb_virtio${_vb_virtio:+, }\"$2\"" ;;
		--line) _vb_lines="$_vb_lines$2
" ;;
		*) fail "domu_config: unknown option $1" ;;
		esac
		shift 2
	done
	_vb_initrd=$VB_RUN/$_vb_name.initrd
	if [ -f "/test/domu/$_vb_name.cpio.gz" ]; then
		cat /images/guest.cpio.gz "/test/domu/$_vb_name.cpio.gz" >"$_vb_initrd"
	else
		cp /images/guest.cpio.gz "$_vb_initrd"
	fi
	[ -z "$_vb_virtio" ] || _vb_virtio="virtio = [ $_vb_virtio ]"
	sed -e "s|@NAME@|$_vb_name|" -e "s|@RAMDISK@|$_vb_initrd|" -e "s|@MEMORY@|$_vb_mem|" \
		-e "s|@EXTRA@|$_vb_extra|" -e "s|@VIRTIO@|$_vb_virtio|" \
		/etc/virtiobox/xl/domu.cfg.in >"$VB_RUN/$_vb_name.cfg"
	printf '%s' "$_vb_lines" >>"$VB_RUN/$_vb_name.cfg"
	echo "$VB_RUN/$_vb_name.cfg"
}

# domu_create NAME [XL-CREATE-OPTIONS...]: `xl create` of NAME's config
# (domu_config first); e.g. `domu_create guest1 -p` leaves it paused.
# Fails the test if xl fails.
domu_create() {
	_vb_name=$1
	shift
	echo "+ xl create $* $VB_RUN/$_vb_name.cfg"
	xl create "$@" "$VB_RUN/$_vb_name.cfg" || fail "xl create $* $_vb_name failed (status $?)"
	xl domid "$_vb_name" >"$VB_RUN/$_vb_name.domid" || fail "domU $_vb_name has no domid after xl create"
	echo "domU $_vb_name is domain $(cat "$VB_RUN/$_vb_name.domid")"
}

# domid_of NAME: the domain id xl gave NAME.
domid_of() {
	cat "$VB_RUN/$1.domid" 2>/dev/null || xl domid "$1"
}

# domu_log NAME: prints NAME's console log (xenconsoled's), each line
# prefixed "[NAME] ". Marks it printed, so the end of the run does not print
# it again.
domu_log() {
	touch "$VB_RUN/$1.logged"
	[ -f "$VB_CONSOLE_LOGS/guest-$1.log" ] || { echo "[$1] (no console output)"; return 0; }
	tr -d '\r' <"$VB_CONSOLE_LOGS/guest-$1.log" | sed "s/^/[$1] /"
}

# domu_wait NAME [SECONDS]: waits until NAME's console shows its verdict
# line, NAME is gone, or SECONDS (default 120) pass; prints NAME's console
# log; returns 0 if NAME passed. The domU's reason goes to
# /run/virtiobox/NAME.reason.
domu_wait() {
	_vb_name=$1
	_vb_log=$VB_CONSOLE_LOGS/guest-$_vb_name.log
	_vb_deadline=$(($(date +%s) + ${2:-120}))
	_vb_domid=$(domid_of "$_vb_name")
	_vb_why=""
	while :; do
		grep -qa 'VIRTIOBOX-RESULT:' "$_vb_log" 2>/dev/null && break
		xenstore-exists "/local/domain/$_vb_domid" 2>/dev/null || { _vb_why="domain ended without a verdict"; break; }
		[ "$(date +%s)" -lt "$_vb_deadline" ] || { _vb_why="no verdict within ${2:-120} s"; break; }
		sleep 0.5
	done
	sleep 0.5 # the rest of the console output
	domu_log "$_vb_name"
	_vb_v=$(tr -d '\r' <"$_vb_log" 2>/dev/null | grep -a '^VIRTIOBOX-RESULT:' | tail -n1)
	case $_vb_v in
	"VIRTIOBOX-RESULT: PASS")
		echo "domU $_vb_name: PASS"
		: >"$VB_RUN/$_vb_name.reason"
		return 0
		;;
	"VIRTIOBOX-RESULT: FAIL"*) _vb_why=${_vb_v#VIRTIOBOX-RESULT: FAIL } ;;
	esac
	echo "$_vb_why" >"$VB_RUN/$_vb_name.reason"
	echo "domU $_vb_name: FAIL $_vb_why"
	return 1
}

# domu_expect_pass NAME [SECONDS]: domu_wait, failing the test with the
# domU's own reason.
domu_expect_pass() {
	domu_wait "$@" || fail "domU $1: $(cat "$VB_RUN/$1.reason")"
}

# i2c_stub_load ADDR...: loads i2c-stub with chips at ADDR... (e.g. 0x50);
# prints the adapter number N of /dev/i2c-N.
i2c_stub_load() {
	_vb_addrs=$(echo "$*" | tr ' ' ',')
	insmod /lib/modules/i2c-stub.ko "chip_addr=$_vb_addrs" >&2 || fail "insmod i2c-stub.ko chip_addr=$_vb_addrs failed"
	for _vb_a in /sys/bus/i2c/devices/i2c-*; do
		if grep -q 'SMBus stub driver' "$_vb_a/name" 2>/dev/null; then
			echo "${_vb_a##*/i2c-}"
			return 0
		fi
	done
	fail "i2c-stub loaded but no 'SMBus stub driver' adapter in /sys/bus/i2c/devices"
}

# Called by /init after the script: stops what bg_start left running and
# prints the console logs nobody printed yet.
vb_dom0_cleanup() {
	for _vb_p in "$VB_RUN"/*.pid; do
		[ -f "$_vb_p" ] || continue
		_vb_n=${_vb_p##*/}
		bg_stop "${_vb_n%.pid}"
	done
	for _vb_l in "$VB_CONSOLE_LOGS"/guest-*.log; do
		[ -f "$_vb_l" ] || continue
		_vb_n=${_vb_l##*/guest-}
		_vb_n=${_vb_n%.log}
		[ -f "$VB_RUN/$_vb_n.logged" ] || domu_log "$_vb_n"
	done
}
