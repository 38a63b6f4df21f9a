# Helpers for test scripts, in every image as /lib/virtiobox/testlib.sh.
# /init sources this file and then the per-run script /test/run.sh in one
# subshell, so a script can call these directly. The script passes when it
# returns 0; `fail` (or any non-zero end) makes it fail with a reason.
# shellcheck shell=sh

VB_RUN=/run/virtiobox
mkdir -p "$VB_RUN"

# fail REASON...: ends the test script; REASON goes into the verdict line.
fail() {
	echo "$*" >"$VB_RUN/fail-reason"
	echo "FAIL: $*"
	exit 1
}

# run CMD...: echoes and runs CMD; fails the test if it fails.
run() {
	echo "+ $*"
	"$@" || fail "command failed (status $?): $*"
}

# expect_eq ACTUAL EXPECTED WHAT: fails unless the strings are equal.
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
	echo "ok: $3 = '$1'"
}

# wait_for SECONDS CMD...: retries CMD every 0.2 s until it succeeds;
# fails the test after SECONDS.
wait_for() {
	_vb_deadline=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$_vb_deadline" ] || fail "timed out waiting for: $*"
		sleep 0.2
	done
}

# bg_start NAME CMD...: runs CMD in the background, output to
# /run/virtiobox/NAME.log (printed by bg_stop, or at the end of the run).
bg_start() {
	_vb_name=$1
	shift
	echo "+ $* &  (log: $VB_RUN/$_vb_name.log)"
	"$@" >"$VB_RUN/$_vb_name.log" 2>&1 &
	echo $! >"$VB_RUN/$_vb_name.pid"
}

# bg_alive NAME: true while NAME's process runs.
bg_alive() {
	kill -0 "$(cat "$VB_RUN/$1.pid")" 2>/dev/null
}

# bg_stop NAME: stops NAME (SIGTERM, then SIGKILL after 3 s), prints its log.
bg_stop() {
	_vb_pid=$(cat "$VB_RUN/$1.pid" 2>/dev/null) || return 0
	kill "$_vb_pid" 2>/dev/null
	_vb_i=0
	while kill -0 "$_vb_pid" 2>/dev/null && [ "$_vb_i" -lt 15 ]; do
		sleep 0.2
		_vb_i=$((_vb_i + 1))
	done
	kill -9 "$_vb_pid" 2>/dev/null
	rm -f "$VB_RUN/$1.pid"
	bg_log "$1"
}

# bg_log NAME: prints NAME's log so far, each line prefixed "[NAME] ".
bg_log() {
	[ -f "$VB_RUN/$1.log" ] && sed "s/^/[$1] /" "$VB_RUN/$1.log"
	return 0
}

# gpio_sim_create NAME LINES: a gpio-sim chip with one bank of LINES lines;
# prints its chip name (gpiochipN).
gpio_sim_create() {
	_vb_d=/sys/kernel/config/gpio-sim/$1
	[ -d /sys/kernel/config/gpio-sim ] || mount -t configfs none /sys/kernel/config ||
		fail "cannot mount configfs"
	mkdir "$_vb_d" "$_vb_d/bank0" || fail "gpio-sim: cannot create $_vb_d"
	echo "$2" >"$_vb_d/bank0/num_lines"
	echo 1 >"$_vb_d/live" || fail "gpio-sim: chip $1 does not go live"
	cat "$_vb_d/bank0/chip_name"
}

# gpio_sim_pull NAME LINE pull-up|pull-down: drives a line from the sim side.
gpio_sim_pull() {
	_vb_d=/sys/kernel/config/gpio-sim/$1
	echo "$3" >"/sys/devices/platform/$(cat "$_vb_d/dev_name")/$(cat "$_vb_d/bank0/chip_name")/sim_gpio$2/pull" ||
		fail "gpio-sim: cannot set line $2 of $1 to $3"
}
