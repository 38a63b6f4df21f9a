"""Xen scenarios: Xen 4.20 (with IOREQ servers) boots dom0 with its
services, and the static aarch64 virtiobox in dom0 is the virtio-mmio
transport of real Linux domUs: xl creates them paused with generic virtio
devices, virtiobox finds them in xenstore, claims their MMIO windows through
IOREQ, and after `xl unpause` the domUs' own virtio_mmio and virtio_i2c
drivers use simulated chips and an i2c-stub bus of dom0 through it. No
stand-in back-end, and no domU skips virtio-mmio probing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import DomU, File, run_xen

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import vbtest  # noqa: E402

BINARY = Path(__file__).resolve().parents[2] / "build" / "aarch64-release" / "main" / "virtiobox"
XEN_ARM64 = Path("/opt/virtiobox/arm64-xen/usr/lib/aarch64-linux-gnu/pkgconfig")


def _binary() -> Path:
    if not BINARY.is_file():
        pytest.skip(f"{BINARY} is built by `scons test` (scons CROSS_COMPILE=aarch64-linux-gnu-)")
    return BINARY


def virtio_i2c(grant: int) -> str:
    return f"type=virtio,device22, transport=mmio, grant_usage={grant}"


# dom0 helpers on top of dom0lib.sh: start virtiobox on a board file, wait
# until it serves a domain's devices, count its fds and mappings.
DOM0_LIB = r"""
vb_start() {
    bg_start virtiobox virtiobox --board "$1"
    wait_for 10 grep -q "ready: serving" "$VB_RUN/virtiobox.log"
    bg_alive virtiobox || fail "virtiobox died: $(cat $VB_RUN/virtiobox.log)"
    vb_pid=$(cat "$VB_RUN/virtiobox.pid")
}
# vb_wait_served NAME N: virtiobox answered InitWait (state 2) on N devices.
vb_state_is() { [ "$(xenstore-read "/local/domain/0/backend/virtio/$1/$2/state")" = "$3" ]; }
vb_wait_served() {
    _d=$(domid_of "$1")
    _i=0
    while [ "$_i" -lt "$2" ]; do
        wait_for 10 vb_state_is "$_d" "$_i" 2
        _i=$((_i + 1))
    done
    echo "virtiobox serves $2 device(s) of $1 (domain $_d)"
}
# Every 15 s, in the background: virtiobox's CPU ticks, the domU's state and
# its console's last lines, so a stalled run shows where it stalled.
domu_monitor() {
    ( while sleep 15; do
        echo "mon: virtiobox ticks $(cut -d' ' -f14,15 /proc/$vb_pid/stat 2>/dev/null)," \
             "domU: $(xl list "$1" 2>/dev/null | tail -1 | tr -s ' ' | cut -d' ' -f6)," \
             "console: $(tail -n 2 "/var/log/xen/console/guest-$1.log" 2>/dev/null | tr '\n' '|')"
      done ) &
}
vb_resources() {
    echo "$(ls /proc/$vb_pid/fd | wc -l) fds, $(wc -l </proc/$vb_pid/maps) maps"
}
"""

# domU helpers: the i2c adapter of the virtio-mmio window at BASE.
DOMU_LIB = r"""
adapter_at() {
    for a in /sys/bus/i2c/devices/i2c-*; do
        case $(readlink -f "$a") in */$1.virtio/*) echo "${a##*/i2c-}"; return 0 ;; esac
    done
    return 1
}
"""

DOMU_DEVICE_TREE = r"""
dt=/proc/device-tree
str() { tr '\0' '\n' <"$1" | head -n1; }
hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
for base in 2000000 2000200; do
    expect_eq "$(str $dt/virtio@$base/compatible)" "virtio,mmio" "virtio@$base compatible"
    expect_eq "$(str $dt/virtio@$base/i2c/compatible)" "virtio,device22" "virtio@$base child compatible"
done
expect_eq "$(hex $dt/virtio@2000000/reg)" "00000000020000000000000000000200" "virtio@2000000 reg"
expect_eq "$(hex $dt/virtio@2000200/reg)" "00000000020002000000000000000200" "virtio@2000200 reg"
# SPI 1 and 2 (= irq 33, 34), edge rising.
expect_eq "$(hex $dt/virtio@2000000/interrupts)" "000000000000000100000f01" "virtio@2000000 interrupts"
expect_eq "$(hex $dt/virtio@2000200/interrupts)" "000000000000000200000f01" "virtio@2000200 interrupts"
if [ "$VB_GRANT" = 1 ]; then
    iommu=""
    for node in $dt/*; do
        [ -f "$node/compatible" ] && [ "$(str $node/compatible)" = "xen,grant-dma" ] && iommu=$node
    done
    [ -n "$iommu" ] || fail "no node with compatible xen,grant-dma"
    phandle=$(hex $iommu/phandle)
    for dev in virtio@2000000 virtio@2000200; do
        expect_eq "$(hex $dt/$dev/iommus | cut -c1-8)" "$phandle" "$dev iommus -> xen,grant-dma phandle"
    done
fi
"""

# The simulated chips of board/host-sim.conf on the first device (the
# integration tests' guest script, on the adapter of virtio@2000000), and
# dom0's i2c-stub bus on the second: 0x50 allowed, 0x51 on the bus but off
# the allow-list.
DOMU_I2C = DOMU_LIB + r"""
n0=$(adapter_at 2000000) || fail "no i2c adapter on virtio@2000000: $(i2cdetect -l)"
n1=$(adapter_at 2000200) || fail "no i2c adapter on virtio@2000200: $(i2cdetect -l)"
echo "adapters: sim i2c-$n0, dom0 stub i2c-$n1"
""" + vbtest.GUEST_SCRIPT.replace(
    "adapter=$(i2cdetect -l | grep i2c_virtio)",
    'adapter=$(i2cdetect -l | grep "^i2c-$n0[[:space:]]")') + r"""
saw "stub 0x50 reg 0x20 written by dom0" "$(i2cget -y "$n1" 0x50 0x20 b)"
run i2cset -y "$n1" 0x50 0x10 0x5a b
saw "stub 0x50 reg 0x10 after i2cset 0x5a" "$(i2cget -y "$n1" 0x50 0x10 b)"
if out=$(i2cget -y "$n1" 0x51 0x00 b 2>&1); then
    saw "refused stub 0x51" "NOT refused: read $out"
else
    saw "refused stub 0x51" "$out"
fi
"""

I2C_EXPECTED = {
    **vbtest.EXPECTED,
    "stub 0x50 reg 0x20 written by dom0": "0x77",
    "stub 0x50 reg 0x10 after i2cset 0x5a": "0x5a",
}


def i2c_board(stub_bus: str = "/dev/i2c-$bus", domain: str = "guest1", extra: str = "") -> str:
    """host-sim.conf's device as a xen-mmio guest's i2c0, plus i2c1 on
    dom0's i2c-stub bus (0x50 only)."""
    sim = vbtest.board_text(packed=False)
    start = sim.index("{", sim.index("devices = ("))
    end = sim.rindex(");", 0, sim.rindex(");"))
    device = sim[start:end].strip().rstrip(",")
    device = re.sub(r'\s*socket = "[^"]*";', "", device)
    return (f'name = "xen-test";\nguests = ( {{ domain = "{domain}"; transport = "xen-mmio";{extra}\n'
            f'  devices = ( {device},\n'
            f'    {{ type = "i2c"; name = "stub"; bus = "{stub_bus}"; addresses = [ 0x50 ]; }} ); }} );\n')


# nobody: virtiobox serves as 65534:65534 under its system call filter; the
# group gets the Xen nodes the guests found after start-up open again.
SANDBOX_NOBODY = r"""
chgrp 65534 /dev/xen/* && chmod g+rw /dev/xen/* || fail "cannot hand /dev/xen to group 65534"
"""
# Before the group has them: start-up fails at once, naming the user and
# the node, rather than the first guest failing later.
SANDBOX_REFUSED = r"""
if out=$(timeout 30 virtiobox --board /tmp/board.cfg 2>&1); then
    fail "virtiobox served as 65534 without access to /dev/xen: $out"
fi
echo "$out"
case "$out" in
*"user 65534 group 65534 cannot open /dev/xen/privcmd"*) echo "start-up refused: /dev/xen/privcmd named" ;;
*) fail "start-up without /dev/xen access did not name /dev/xen/privcmd: $out" ;;
esac
"""
SANDBOX_CHECK = r"""
vb_status() {{ grep "^$1:" /proc/$vb_pid/status | cut -f2- | tr '\t' ' '; }}
expect_eq "$(vb_status Seccomp)" 2 "virtiobox's seccomp mode"
expect_eq "$(vb_status Uid)" "{uid} {uid} {uid} {uid}" "virtiobox's uids"
expect_eq "$(vb_status Gid)" "{uid} {uid} {uid} {uid}" "virtiobox's gids"
"""


def dom0_i2c(grant: int, nobody: bool = False) -> str:
    board = i2c_board(extra="" if grant else " foreign_cache = 8;")
    if nobody:
        board = 'user = "65534"; group = "65534";\n' + board
    return DOM0_LIB + rf"""
bus=$(i2c_stub_load 0x50 0x51) || fail "i2c-stub: $(cat /run/virtiobox/fail-reason)"
run i2cset -y $bus 0x50 0x20 0x77 b
cat >/tmp/board.cfg <<BOARD
{board}BOARD
run virtiobox check /tmp/board.cfg
""" + (SANDBOX_REFUSED + SANDBOX_NOBODY if nobody else "") + r"""
vb_start /tmp/board.cfg
""" + SANDBOX_CHECK.format(uid=65534 if nobody else 0) + rf"""
domu_config guest1 --virtio "{virtio_i2c(grant)}" --virtio "{virtio_i2c(grant)}" --line "vcpus = 2" >/dev/null
domu_create guest1 -p
domid=$(domid_of guest1)
be=/local/domain/0/backend/virtio/$domid
run xenstore-ls -f "$be"
check() {{ expect_eq "$(xenstore-read "$be/$1")" "$2" "$1"; }}
check 0/base 0x2000000
check 0/irq 33
check 0/type virtio,device22
check 0/grant_usage {grant}
check 1/base 0x2000200
check 1/irq 34
vb_wait_served guest1 2
[ ! -s /var/log/xen/console/guest-guest1.log ] || fail "guest1 printed before xl unpause"
run xl unpause guest1
domu_expect_pass guest1 150
expect_eq "$(i2cget -y $bus 0x50 0x10 b)" 0x5a "dom0 reads what guest1 wrote to the stub"
bg_alive virtiobox || fail "virtiobox died"
bg_log virtiobox
"""


# Every run is under the seccomp filter (on by default): the guest is found,
# and its IOREQ server, event channels, grant or foreign mappings set up,
# after the filter is in place; the nobody runs after the change of user too.
@pytest.mark.parametrize("grant,nobody", [(1, False), (0, True), (1, True)],
                         ids=["grants", "foreign-nobody", "grants-nobody"])
def test_xen_domu_uses_virtio_i2c(images, report, grant, nobody):
    result = report(run_xen(dom0_i2c(grant, nobody), timeout=400, virtiobox=_binary(),
                            domus={"guest1": DomU(f"VB_GRANT={grant}\n" + DOMU_DEVICE_TREE + DOMU_I2C)}))
    result.check()
    assert result.domus == {"guest1": ("PASS", "")}
    saw = vbtest.observations(re.sub(r"^\[guest1\] ", "", result.console, flags=re.M))
    for what, value in I2C_EXPECTED.items():
        assert saw.get(what) == value, f"{what}: expected {value!r}, saw {saw.get(what)!r}"
    assert vbtest.REFUSED_TEXT in saw.get("refused 0x20", ""), saw
    assert vbtest.REFUSED_TEXT in saw.get("refused stub 0x51", ""), saw
    assert "VERSION_1=1" in saw["virtio device"], saw["virtio device"]
    if nobody:
        assert "start-up refused: /dev/xen/privcmd named" in result.console
    if not grant:
        assert "foreign mappings: 8 cached per device" in result.console
    memory = "grants" if grant else "foreign mappings"
    assert "[virtiobox] virtiobox: info: guest1/i2c0: serving domain" in result.console
    assert f"guest memory through {memory}" in result.console
    # Two vCPUs, one event channel each.
    assert "guest1 (domain 1): IOREQ server 0, 2 vCPU(s)" in result.console
    # Every ioreq hit a device window and was one Xen on Arm sends.
    assert re.search(r"guest1 \(domain 1\): \d+ register reads, \d+ writes, \d+ invalidates, "
                     r"0 outside every window, 0 unsupported", result.console), result.console[-3000:]


DOM0_HOST_DEVICES = r"""
bus=$(i2c_stub_load 0x50) || fail "i2c-stub: $(cat /run/virtiobox/fail-reason)"
run test -c /dev/i2c-$bus
run i2cset -y $bus 0x50 0x10 0xab b
expect_eq "$(i2cget -y $bus 0x50 0x10 b)" 0xab "i2c-stub byte 0x10 read back"
chip=$(gpio_sim_create sim0 8) || fail "gpio-sim: $(cat /run/virtiobox/fail-reason)"
run test -c /dev/$chip
run gpioinfo $chip
expect_eq "$(gpioget $chip 3)" 0 "sim line 3, pulled down"
gpio_sim_pull sim0 3 pull-up
expect_eq "$(gpioget $chip 3)" 1 "sim line 3 after pull-up"
gpio_sim_pull sim0 3 pull-down
expect_eq "$(gpioget $chip 3)" 0 "sim line 3 after pull-down"
"""


def test_dom0_host_devices(images, report):
    report(run_xen(DOM0_HOST_DEVICES, timeout=300)).check()


DOM0_VIRTIOBOX = r"""
run virtiobox --version
run virtiobox info
virtiobox info | grep -q "^xen: yes$" || fail "virtiobox info does not see Xen"
for what in "event channels" "grant mappings" "foreign mappings" "device model" "xenstore"; do
    virtiobox info | grep -q "^ *$what  *yes$" || fail "virtiobox info: $what is not available in dom0"
done
cat >/tmp/board.cfg <<'BOARD'
name = "dom0-check";
guests = (
  { domain = "guest1"; transport = "vhost-user";
    devices = ( { type = "i2c"; name = "i2c0"; socket = "/run/vb-i2c.sock"; bus = "sim";
                  chips = ( { type = "24c02"; address = 0x50; } ); } ); },
  { domain = "guest2"; transport = "xen-mmio";
    devices = ( { type = "i2c"; name = "i2c0"; bus = "sim";
                  chips = ( { type = "24c02"; address = 0x50; } ); } ); }
);
BOARD
run virtiobox check /tmp/board.cfg
virtiobox check /tmp/board.cfg | grep -q 'type=virtio,device22, transport=mmio' || fail "check does not give the xl.cfg entry"
"""


def test_static_virtiobox_runs_in_dom0(images, report):
    """The static aarch64 build (bookworm's libxen 4.17 archives) opens every
    Xen interface it needs in a Xen 4.20 dom0 and loads a board file there."""
    result = report(run_xen(DOM0_VIRTIOBOX, timeout=300, virtiobox=_binary()))
    result.check()
    assert "xen: yes" in result.console


# Two domUs at once, each given one address of dom0's i2c-stub bus (a
# shared host adapter): each reaches its own chip and gets EIO on the other's.
def two_domus_board() -> str:
    dev = 'type = "i2c"; name = "i2c0"; bus = "/dev/i2c-$bus"; shared = true;'
    return ('name = "two";\nguests = (\n'
            f'  {{ domain = "guest1"; transport = "xen-mmio"; devices = ( {{ {dev} addresses = [ 0x50 ]; }} ); }},\n'
            f'  {{ domain = "guest2"; transport = "xen-mmio"; devices = ( {{ {dev} addresses = [ 0x51 ]; }} ); }} );\n')


DOM0_TWO = DOM0_LIB + rf"""
bus=$(i2c_stub_load 0x50 0x51) || fail "i2c-stub: $(cat /run/virtiobox/fail-reason)"
cat >/tmp/board.cfg <<BOARD
{two_domus_board()}BOARD
vb_start /tmp/board.cfg
for g in guest1 guest2; do
    domu_config $g --virtio "{virtio_i2c(1)}" >/dev/null
    domu_create $g -p
done
vb_wait_served guest1 1
vb_wait_served guest2 1
# A domain the board does not name: ignored, with one log line; never
# unpaused (nothing serves its window).
domu_config stranger --virtio "{virtio_i2c(1)}" >/dev/null
domu_create stranger -p
wait_for 10 grep -q "stranger) virtio device 0 (i2c): the board file has no xen-mmio guest" "$VB_RUN/virtiobox.log"
expect_eq "$(xenstore-read /local/domain/0/backend/virtio/$(domid_of stranger)/0/state)" 1 "stranger's device left alone"
# virtiobox answers its Closing too, so libxl does not time out waiting
# for the back-end (it says so on stderr, then removes the entries itself).
t0=$(date +%s)
out=$(xl destroy stranger 2>&1) || fail "xl destroy stranger: $out"
echo "xl destroy stranger in $(($(date +%s) - t0)) s: $out"
case $out in *"timed out"*) fail "xl destroy stranger waited for the back-end: $out" ;; esac
expect_eq "$(grep -c 'the board file has no xen-mmio guest' $VB_RUN/virtiobox.log)" 1 "one log line for the stranger"
run xl unpause guest1
run xl unpause guest2
domu_wait guest1 150; r1=$?
domu_wait guest2 150; r2=$?
[ $r1 = 0 ] || fail "domU guest1: $(cat $VB_RUN/guest1.reason)"
[ $r2 = 0 ] || fail "domU guest2: $(cat $VB_RUN/guest2.reason)"
expect_eq "$(i2cget -y $bus 0x50 0x10 b)" 0x11 "dom0 sees guest1's write to 0x50"
expect_eq "$(i2cget -y $bus 0x51 0x10 b)" 0x22 "dom0 sees guest2's write to 0x51"
bg_alive virtiobox || fail "virtiobox died"
"""


def domu_own_and_other(own: str, other: str, value: str) -> str:
    return DOMU_LIB + rf"""
n=$(adapter_at 2000000) || fail "no i2c adapter on virtio@2000000: $(i2cdetect -l)"
run i2cset -y $n {own} 0x10 {value} b
expect_eq "$(i2cget -y $n {own} 0x10 b)" {value} "own chip {own} read back"
if out=$(i2cget -y $n {other} 0x10 b 2>&1); then
    fail "the other guest's chip {other} answered: $out"
fi
case $out in *"Input/output error"*) echo "ok: {other} refused: $out" ;; *) fail "{other}: $out" ;; esac
"""


# Debian's own hypervisor has no CONFIG_IOREQ_SERVER (it needs EXPERT): the
# guest's devices fail at attach time with a message saying exactly that;
# the device stays unserved (state 1) and virtiobox keeps running.
DOM0_NO_IOREQ = DOM0_LIB + rf"""
bus=$(i2c_stub_load 0x50 0x51) || fail "i2c-stub: $(cat /run/virtiobox/fail-reason)"
cat >/tmp/board.cfg <<BOARD
{i2c_board()}BOARD
vb_start /tmp/board.cfg
domu_config guest1 --virtio "{virtio_i2c(1)}" --virtio "{virtio_i2c(1)}" >/dev/null
domu_create guest1 -p
wait_for 20 grep -q "cannot create an IOREQ server" "$VB_RUN/virtiobox.log"
sleep 1
be=/local/domain/0/backend/virtio/$(domid_of guest1)
expect_eq "$(xenstore-read $be/0/state)" 1 "device 0 left unserved"
run xl destroy guest1
bg_alive virtiobox || fail "virtiobox died"
bg_log virtiobox
"""


def test_xen_without_ioreq_says_so(images, report):
    result = report(run_xen(DOM0_NO_IOREQ, timeout=300, virtiobox=_binary(),
                            xen=images["xen_debian"]))
    result.check()
    assert "CONFIG_IOREQ_SERVER=y" not in (images["xen_debian"].parent / ".config").read_text()
    assert ("guest1 (domain 1): cannot create an IOREQ server: this Xen was built without "
            "IOREQ server support") in result.console, result.console[-3000:]
    assert "serving domain" not in result.console

def test_xen_two_domus_disjoint(images, report):
    result = report(run_xen(DOM0_TWO, timeout=400, virtiobox=_binary(), domus={
        "guest1": domu_own_and_other("0x50", "0x51", "0x11"),
        "guest2": domu_own_and_other("0x51", "0x50", "0x22"),
    }))
    result.check()
    assert result.domus == {"guest1": ("PASS", ""), "guest2": ("PASS", "")}
    assert "guest1/i2c0: serving domain" in result.console
    assert "guest2/i2c0: serving domain" in result.console


# One guest destroyed and created five times, then rebooted with `xl
# reboot` (a new domid, the same name), with virtiobox running throughout.
# Every incarnation reads the counter the previous one left in the
# simulated EEPROM (the model outlives its guests) and bumps it; after each
# teardown virtiobox's fds and mappings are back at their level after the
# first one.
DOMU_ROUND = DOMU_LIB + r"""
n=$(adapter_at 2000000) || fail "no i2c adapter on virtio@2000000: $(i2cdetect -l)"
expect_eq "$(i2ctransfer -y $n w1@0x50 0x00 r4)" "0x76 0x62 0x6f 0x78" "EEPROM bytes 0..3"
prev=$(i2cget -y $n 0x50 0x40 b) || fail "i2cget 0x40"
run i2cset -y $n 0x50 0x40 $(( (prev + 1) & 255 )) b
echo "VB-ROUND-OK $prev"
sleep 600
"""

def rounds_board() -> str:
    sim = vbtest.board_text(packed=False)
    start = sim.index("{", sim.index("devices = ("))
    end = sim.rindex(");", 0, sim.rindex(");"))
    device = re.sub(r'\s*socket = "[^"]*";', "", sim[start:end].strip().rstrip(","))
    return (f'name = "rounds";\nguests = ( {{ domain = "guest1"; transport = "xen-mmio";\n'
            f'  devices = ( {device} ); }} );\n')


DOM0_ROUNDS = DOM0_LIB + rf"""
log=/var/log/xen/console/guest-guest1.log
rounds() {{ _c=$(grep -c "VB-ROUND-OK" "$log" 2>/dev/null); echo "${{_c:-0}}"; }}
rounds_reach() {{ [ "$(rounds)" -ge "$1" ]; }}
cat >/tmp/board.cfg <<'BOARD'
{rounds_board()}BOARD
vb_start /tmp/board.cfg
echo "virtiobox at start: $(vb_resources)"
domu_config guest1 --virtio "{virtio_i2c(1)}" >/dev/null
i=1
while [ $i -le 5 ]; do
    domu_create guest1 -p
    vb_wait_served guest1 1
    run xl unpause guest1
    wait_for 120 rounds_reach $i
    old=$(domid_of guest1)
    rm -f "$VB_RUN/guest1.domid"
    run xl destroy guest1
    wait_for 15 sh -c "! xenstore-exists /local/domain/0/backend/virtio/$old/0 || \
        [ \"\$(xenstore-read /local/domain/0/backend/virtio/$old/0/state)\" = 6 ]"
    wait_for 15 sh -c "[ \$(grep -c 'domain $old virtio device 0: no longer served' $VB_RUN/virtiobox.log) = 1 ]"
    now=$(vb_resources)
    echo "virtiobox after round $i: $now"
    [ $i = 1 ] && base=$now
    expect_eq "$now" "$base" "virtiobox fds and maps after round $i"
    i=$((i + 1))
done
# xl reboot: the guest's own reboot path (see /sbin/reboot in the domU).
domu_create guest1 -p
vb_wait_served guest1 1
run xl unpause guest1
wait_for 120 rounds_reach 6
old=$(domid_of guest1)
run xl reboot guest1
# While xl restarts it, the name may briefly be missing or on the old domain.
rebooted() {{
    _n=$(xl domid guest1 2>/dev/null) && [ "$_n" != "$old" ] && vb_state_is "$_n" 0 2 &&
        echo "$_n" >"$VB_RUN/guest1.domid"
}}
wait_for 60 rebooted
new=$(domid_of guest1)
echo "guest1 rebooted: domain $old -> $new, served again"
wait_for 120 rounds_reach 7
grep -q "domain $old virtio device 0: no longer served" $VB_RUN/virtiobox.log || fail "domain $old not torn down"
rm -f "$VB_RUN/guest1.domid"
run xl destroy guest1
wait_for 15 sh -c "[ \$(grep -c 'domain $new virtio device 0: no longer served' $VB_RUN/virtiobox.log) = 1 ]"
expect_eq "$(vb_resources)" "$base" "virtiobox fds and maps after the reboot"
grep "VB-ROUND-OK" "$log"
expect_eq "$(grep VB-ROUND-OK "$log" | cut -d' ' -f2 | tr -d '\r' | tr '\n' ' ')" \
    "0xff 0x00 0x01 0x02 0x03 0x04 0x05 " "counter seen by the seven incarnations"
bg_alive virtiobox || fail "virtiobox died"
"""

# Linux handles `xl reboot` by running /sbin/reboot; busybox's plain reboot
# signals PID 1, which the test image's /init ignores.
REBOOT = "#!/bin/sh\nexec busybox reboot -f\n"


def test_xen_destroy_create_and_reboot(images, report):
    result = report(run_xen(DOM0_ROUNDS, timeout=900, virtiobox=_binary(), domus={
        "guest1": DomU(DOMU_ROUND, files={"/sbin/reboot": File(content=REBOOT, mode=0o755)}),
    }))
    result.check()


# XEN_MMAP over vhost-user: a test front-end in dom0 (vhu_xen_fe.c).
def _static_tool(tmp_path: Path, name: str, *libs: str) -> Path:
    """test/system/NAME.c, linked statically against bookworm's arm64 libxen
    4.17 (setup.sh unpacks it), as virtiobox is."""
    if not XEN_ARM64.is_dir() or not shutil.which("aarch64-linux-gnu-gcc"):
        pytest.skip(f"{XEN_ARM64} or aarch64-linux-gnu-gcc missing: run setup.sh")
    env = {**os.environ, "PKG_CONFIG_LIBDIR": str(XEN_ARM64)}
    flags = subprocess.run(["pkg-config", "--static", "--cflags", "--libs", *libs], env=env,
                           check=True, capture_output=True, text=True).stdout.split()
    out = tmp_path / name
    subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-Wall", "-Werror", "-static", "-D__XEN_TOOLS__",
                    "-o", str(out), str(Path(__file__).with_name(name + ".c")), *flags],
                   check=True)
    return out


XEN_MMAP_BOARD = r"""
cat >/tmp/board.cfg <<'BOARD'
name = "xen-mmap";
guests = (
  { domain = "fe1"; transport = "vhost-user";
    devices = ( { type = "i2c"; name = "i2c0"; socket = "/run/vb-i2c.sock"; bus = "sim";
                  chips = ( { type = "24c02"; address = 0x50; } ); } ); }
);
BOARD
virtiobox info | grep -q "^vhost-user XEN_MMAP: offered" || fail "virtiobox does not offer XEN_MMAP in dom0"
bg_start virtiobox virtiobox --board /tmp/board.cfg
wait_for 10 test -S /run/vb-i2c.sock
"""

DOM0_XEN_MMAP_FOREIGN = XEN_MMAP_BOARD + r"""
# A real domU, never unpaused: the front-end's rings and requests live in
# its RAM (bank 0 at 0x40000000 on Arm), reached by foreign mapping.
domu_config fe1 --memory 128 >/dev/null
domu_create fe1 -p
domid=$(domid_of fe1)
run /test/vhu_xen_fe /run/vb-i2c.sock split foreign "$domid" 0x40000000 128
run /test/vhu_xen_fe /run/vb-i2c.sock packed foreign "$domid" 0x40000000 128
bg_alive virtiobox || fail "virtiobox died"
run xl destroy fe1
"""

# The front-end grants dom0's own pages to dom0 (gntalloc), so virtiobox
# maps them through gntdev as it would a domU's.
DOM0_XEN_MMAP_GRANT = XEN_MMAP_BOARD + r"""
run /test/vhu_xen_fe /run/vb-i2c.sock split grant 0
run /test/vhu_xen_fe /run/vb-i2c.sock packed grant 0
# A fifth request with data in a page whose grant has ended: that request
# fails alone, the queue and the process go on.
run /test/vhu_xen_fe /run/vb-i2c.sock split grant 0 revoke
bg_alive virtiobox || fail "virtiobox died"
"""


def _xen_mmap_run(tmp_path: Path, script: str):
    binary = _binary()
    fe = _static_tool(tmp_path, "vhu_xen_fe", "xenforeignmemory", "xengnttab")
    return run_xen(script, timeout=300, virtiobox=binary, files={"/test/vhu_xen_fe": fe})


def test_xen_mmap_foreign_regions(images, report, tmp_path):
    """The static virtiobox in dom0 offers XEN_MMAP and serves a vhost-user
    front-end whose memory table is a real paused domU's RAM as a FOREIGN
    region: split and packed rings, i2c write, write-then-read transaction
    and a refused address, all in the domU's memory."""
    result = report(_xen_mmap_run(tmp_path, DOM0_XEN_MMAP_FOREIGN))
    result.check()
    for ring in ("split", "packed"):
        assert f"VHU-XEN-FE: OK foreign {ring}" in result.console
    # virtiobox's own count, printed when it stops: both front-ends' requests.
    assert "8 requests in 4 transactions; refused: 2 off the allow-list" in result.console
    # Per connection: three ring areas of their own, then one cached 64 KiB
    # bucket for every buffer; as many unmaps.
    assert result.console.count("foreign memory released after 4 map and 4 unmap calls") == 2


def test_xen_mmap_grant_regions(images, report, tmp_path):
    """The same through a GRANT region: rings and buffers in granted pages
    (the device-read ones granted read-only): the rings mapped by virtiobox
    with gntdev, each batch of requests copied with one grant copy call in
    and one out; a request whose grant has ended fails alone."""
    result = report(_xen_mmap_run(tmp_path, DOM0_XEN_MMAP_GRANT))
    result.check()
    for ring in ("split", "packed", "split revoke"):
        assert f"VHU-XEN-FE: OK grant {ring}:" in result.console
    # The refused request never reached the device: 3 x 4 requests.
    assert "12 requests in 6 transactions; refused: 3 off the allow-list" in result.console
    # The ended grant, named: the batch's copy, then that request's alone.
    assert "domain 0: grant ref 0xb cannot be read" in result.console
    # Per connection (split, packed, split revoke): the three ring areas
    # mapped, no request's buffer ever mapped; the requests copied, one call
    # in and one out per batch (four requests arrive in one or two).
    released = re.findall(r"grant memory released after 3 map and 3 unmap calls "
                          r"\(3 pages, 0 maps refused\), (\d+) copy calls", result.console)
    assert len(released) == 3, released
    assert all(2 <= int(n) <= 8 for n in released[:2]), released


# virtio-gpio over the Xen transport, on three lines of a gpio-sim chip in
# dom0: names, an input dom0 drives, an output dom0 reads, and an edge
# interrupt dom0 causes reaching the domU's gpiomon. The domU asks for each
# step on its console ("VB-GPIO: ..."); dom0 acks on line 2 (ACK).
DOMU_GPIO = r"""
chip=$(gpiodetect | grep virtio | cut -d' ' -f1)
[ -n "$chip" ] || fail "no virtio gpio chip: $(gpiodetect)"
gpioinfo "$chip"
for d in /sys/bus/virtio/devices/*; do
    [ "$(cat "$d/device")" = 0x0029 ] && feat=$(cat "$d/features")
done
expect_eq "$(echo "$feat" | cut -c1)" 1 "VIRTIO_GPIO_F_IRQ negotiated"
expect_eq "$(echo "$feat" | cut -c35)" 1 "VIRTIO_F_RING_PACKED negotiated"
gpioinfo "$chip" | grep -q '"BTN"' || fail "line names: $(gpioinfo "$chip")"
expect_eq "$(gpioget "$chip" 0 2)" "0 0" "lines 0 and 2 start low"
echo "VB-GPIO: drive ACK high"
wait_for 30 sh -c "[ \"\$(gpioget $chip 2)\" = 1 ]"
echo "ok: ACK high seen"
gpiomon --num-events=1 --rising-edge "$chip" 0 >/tmp/mon 2>&1 &
mon=$!
wait_for 10 sh -c "gpioinfo $chip | grep -q 'line *0:.*used'"
# The line shows "used" before its interrupt is requested; once the irq is
# in /proc/interrupts the driver has sent IRQ_TYPE and queued the buffer.
wait_for 10 grep -q gpiomon /proc/interrupts
echo "VB-GPIO: edge on BTN"
i=0
while kill -0 $mon 2>/dev/null; do
    [ $i -lt 300 ] || fail "no interrupt for the rising edge on line 0: $(cat /tmp/mon)"
    sleep 0.2
    i=$((i + 1))
done
cat /tmp/mon
grep -q "RISING EDGE offset: 0" /tmp/mon || fail "gpiomon: $(cat /tmp/mon)"
echo "ok: interrupt seen"
gpioset --mode=signal "$chip" 1=1 &
set1=$!
wait_for 10 sh -c "gpioinfo $chip | grep -q 'line *1:.*output'"
echo "VB-GPIO: read LED"
wait_for 30 sh -c "[ \"\$(gpioget $chip 2)\" = 0 ]"
kill $set1
echo "ok: dom0 read LED high"
"""


def gpio_board() -> str:
    return ('name = "xen-gpio";\nguests = ( { domain = "guest1"; transport = "xen-mmio";\n'
            '  devices = ( { type = "gpio"; name = "gpio0"; chip = "/dev/$chip"; lines = [ 0, 1, 2 ];\n'
            '                names = [ "BTN", "LED", "ACK" ]; } ); } );\n')


DOM0_GPIO = DOM0_LIB + rf"""
chip=$(gpio_sim_create sim0 8) || fail "gpio-sim: $(cat /run/virtiobox/fail-reason)"
sim=/sys/devices/platform/$(cat /sys/kernel/config/gpio-sim/sim0/dev_name)/$chip
cat >/tmp/board.cfg <<BOARD
{gpio_board()}BOARD
vb_start /tmp/board.cfg
domu_config guest1 --virtio "type=virtio,device29, transport=mmio, grant_usage=1" >/dev/null
domu_create guest1 -p
vb_wait_served guest1 1
run xl unpause guest1
log=/var/log/xen/console/guest-guest1.log
domu_monitor guest1
asked() {{ grep -q "VB-GPIO: $1" "$log" 2>/dev/null; }}
wait_for 120 asked "drive ACK high"
gpio_sim_pull sim0 2 pull-up
wait_for 60 asked "edge on BTN"
gpio_sim_pull sim0 0 pull-up
wait_for 60 asked "read LED"
expect_eq "$(cat $sim/sim_gpio1/value)" 1 "dom0 reads the domU's LED output"
gpio_sim_pull sim0 2 pull-down
domu_expect_pass guest1 120
bg_alive virtiobox || fail "virtiobox died"
"""


def test_xen_domu_uses_virtio_gpio(images, report):
    result = report(run_xen(DOM0_GPIO, timeout=400, virtiobox=_binary(),
                            domus={"guest1": DOMU_GPIO}))
    result.check()
    assert result.domus == {"guest1": ("PASS", "")}
    assert "[guest1] ok: interrupt seen" in result.console


# virtio-vsock over the Xen transport: a domU's Linux vsock driver through
# virtiobox in dom0 (grants) to a unix listener in dom0 (test/system/
# vsock_echo.c), which takes the domU's bytes to EOF and sends them back;
# sha256 on both sides, and the host-initiated direction (dom0 connects
# to the uds with CONNECT) with the guest's digest.
VSOCK_XEN_BYTES = 4 * 1024 * 1024

DOMU_VSOCK = rf"""
saw() {{ echo "VB-SAW $1: $2"; }}
for d in /sys/bus/virtio/devices/*; do
    [ "$(cat "$d/device")" = 0x0013 ] && saw "vsock device" "$(cat "$d/features" | cut -c1-3)"
done
head -c {VSOCK_XEN_BYTES} /dev/urandom >/tmp/d
saw "domU sent" "$(sha256sum </tmp/d | cut -d' ' -f1)"
echo "VB-VSOCK: sending"
socat -t 300 -T 300 - VSOCK-CONNECT:2:5000 </tmp/d >/tmp/back 2>/tmp/err || fail "socat: $(cat /tmp/err)"
saw "domU got back" "$(sha256sum </tmp/back | cut -d' ' -f1)"
socat -t 300 -T 300 VSOCK-LISTEN:6000 SYSTEM:sha256sum &
echo "VB-VSOCK: listening"
wait $! || fail "socat listen failed"
"""


def vsock_board() -> str:
    return ('name = "xen-vsock";\nguests = ( { domain = "guest1"; transport = "xen-mmio";\n'
            '  devices = ( { type = "vsock"; name = "vsock0"; cid = 3; uds = "/run/vb-g1.vsock"; } ); } );\n')


DOM0_VSOCK = DOM0_LIB + rf"""
cat >/tmp/board.cfg <<'BOARD'
{vsock_board()}BOARD
run virtiobox check /tmp/board.cfg
vb_start /tmp/board.cfg
wait_for 10 test -S /run/vb-g1.vsock
/test/vsock_echo /run/vb-g1.vsock_5000 /tmp/got >/tmp/echo.log 2>&1 &
echo_pid=$!
domu_config guest1 --virtio "type=virtio,device13, transport=mmio, grant_usage=@GRANT@" >/dev/null
domu_create guest1 -p
served() {{ vb_state_is "$(domid_of guest1)" 0 2; }}
i=0
until served; do
    i=$((i + 1))
    if [ $i -gt 300 ]; then
        bg_alive virtiobox && echo "virtiobox alive" || echo "virtiobox is gone"
        xenstore-ls -f /local/domain/0/backend/virtio
        for t in /proc/$vb_pid/task/*; do echo "$t: $(cut -d' ' -f2,3 $t/stat) $(cat $t/wchan 2>/dev/null)"; done
        fail "the vsock device was not served within 60 s"
    fi
    sleep 0.2
done
run xl unpause guest1
log=/var/log/xen/console/guest-guest1.log
domu_monitor guest1
# Bounded waits that show both sides when they run out.
stuck() {{
    echo "--- domU console:"; cat "$log"; echo "--- vsock_echo:"; cat /tmp/echo.log
    bg_log virtiobox
    fail "$1"
}}
end=$(($(date +%s) + 240))
while kill -0 $echo_pid 2>/dev/null; do
    [ "$(date +%s)" -lt $end ] || stuck "the domU's transfer did not end within 240 s"
    sleep 1
done
wait $echo_pid || stuck "vsock_echo failed"
cat /tmp/echo.log
echo "VB-SAW dom0 got: $(sha256sum </tmp/got | cut -d' ' -f1) $(wc -c </tmp/got)"
end=$(($(date +%s) + 120))
until grep -q "VB-VSOCK: listening" "$log"; do
    [ "$(date +%s)" -lt $end ] || stuck "the domU did not listen within 120 s"
    sleep 1
done
head -c {VSOCK_XEN_BYTES} /dev/urandom >/tmp/h2g
echo "VB-SAW dom0 sent: $(sha256sum </tmp/h2g | cut -d' ' -f1)"
/test/vsock_echo connect /run/vb-g1.vsock 6000 /tmp/h2g /tmp/reply || stuck "host -> guest failed"
echo "VB-SAW guest digest: $(cut -d' ' -f1 /tmp/reply)"
domu_expect_pass guest1 200
bg_alive virtiobox || fail "virtiobox died"
"""


@pytest.mark.parametrize("grant", [1, 0], ids=["grants", "foreign"])
def test_xen_domu_uses_virtio_vsock(images, report, tmp_path, grant):
    """The same STREAM transfer as the QEMU tests, from a domU: 4 MiB each
    way with sha256 on both sides, through the Xen IOREQ transport, its
    memory through grants (rx buffers held by the device, each mapped
    alone) or foreign mappings."""
    binary = _binary()
    echo = tmp_path / "vsock_echo"
    subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-Wall", "-Werror", "-static", "-o", str(echo),
                    str(Path(__file__).with_name("vsock_echo.c"))], check=True)
    result = report(run_xen(DOM0_VSOCK.replace("@GRANT@", str(grant)), timeout=500, virtiobox=binary,
                            files={"/test/vsock_echo": File(path=echo, mode=0o755)},
                            domus={"guest1": DOMU_VSOCK}))
    result.check()
    assert result.domus == {"guest1": ("PASS", "")}
    saw = vbtest.observations(re.sub(r"^\[guest1\] ", "", result.console, flags=re.M))
    print("\n".join(f"{k}: {v}" for k, v in saw.items()))
    assert "vsock device" in saw, result.console[-3000:]
    assert saw["dom0 got"] == f"{saw['domU sent']} {VSOCK_XEN_BYTES}", saw
    assert saw["domU got back"] == saw["domU sent"], saw
    assert saw["guest digest"] == saw["dom0 sent"], saw
    assert "guest1/vsock0: serving domain" in result.console
