"""A disaggregated driver domain: the static aarch64 virtiobox runs in a domU
("dd", the project kernel and the guest image plus virtiobox, i2c-stub.ko and
a board file) and is the virtio-mmio transport of another domU ("guest1")
whose xl config names dd as the back-end. One dom0 boot for every scenario:

1. dd booted without xen_privcmd.unrestricted=1 and without the privilege:
   guest1 created paused; virtiobox in dd says what is missing (which guest,
   the command that grants it) and serves nothing; after `virtiobox
   xen-target dd guest1` in dom0 it says that its own kernel's privcmd still
   refuses (Linux's domU restriction) and how to boot; `xl destroy` is
   answered at once (dd removes the entries, as libxl expects of a driver
   domain).
2. dd restarted with xen_privcmd.unrestricted=1, `virtiobox xen-target dd
   guest1` (XEN_DOMCTL_set_target plus XS_SET_TARGET): dd serves guest1's two
   virtio-i2c devices through grants (a simulated EEPROM and dd's own
   i2c-stub bus); guest1's i2c-tools work.
3. guest1 re-created against the same dd: Xen keeps one target per domain
   until that domain dies, so xen-target refuses, saying why; dd waits.
4. dd restarted (with driver_domain=1): the guest created against the old
   dd keeps pointing at it (backend-id) and is not served by the new one;
   guest1 created again works, this time through foreign mappings
   (grant_usage=0), which need the target privilege too.

A second boot, with FLASK (xsm=flask, the project's policy loaded by dom0):
a driver domain without the virtiobox_dd_t label is refused by the policy
and virtiobox says so; one labelled virtiobox_dd_t serves guest1 created
three times (grants, grants, foreign mappings) with no Xen target at all.
docs/deployment-xen.md's driver-domain section is this test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness import DomU, File, run_xen

BINARY = Path(__file__).resolve().parents[2] / "build" / "aarch64-release" / "main" / "virtiobox"

DD_BOARD = """name = "driver-domain";
guests = (
  { domain = "guest1"; transport = "xen-mmio";
    devices = (
      { type = "i2c"; name = "eeprom"; bus = "sim"; addresses = [ 0x50 ];
        chips = ( { type = "24c02"; address = 0x50; } ); },
      { type = "i2c"; name = "stub"; bus = "/dev/i2c-0"; addresses = [ 0x50 ]; } ); }
);
"""

# The driver domain: xenfs, i2c-stub, virtiobox in the foreground (its log
# is dd's console, which dom0's xenconsoled keeps). It never ends by itself.
DD_SCRIPT = r"""
mkdir -p /proc/xen
run mount -t xenfs xenfs /proc/xen
run ls /dev/xen
run virtiobox info
run insmod /usr/lib/modules/i2c-stub.ko chip_addr=0x50
run i2cset -y 0 0x50 0x20 0x77 b
run virtiobox check /etc/virtiobox/board.conf
exec virtiobox --board /etc/virtiobox/board.conf
"""

GUEST_SCRIPT = r"""
adapter_at() {
    for a in /sys/bus/i2c/devices/i2c-*; do
        case $(readlink -f "$a") in */$1.virtio/*) echo "${a##*/i2c-}"; return 0 ;; esac
    done
    return 1
}
hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
dt=/proc/device-tree/virtio@2000000
if [ -f $dt/iommus ]; then echo "VB-IOMMUS $(hex $dt/iommus)"; else echo "VB-IOMMUS none"; fi
n0=$(adapter_at 2000000) || fail "no i2c adapter on virtio@2000000: $(i2cdetect -l)"
n1=$(adapter_at 2000200) || fail "no i2c adapter on virtio@2000200: $(i2cdetect -l)"
run i2cset -y $n0 0x50 0x40 0xa5 b
expect_eq "$(i2cget -y $n0 0x50 0x40 b)" 0xa5 "EEPROM byte 0x40 read back"
expect_eq "$(i2ctransfer -y $n0 w1@0x50 0x40 r1)" 0xa5 "EEPROM byte 0x40 by i2ctransfer"
expect_eq "$(i2cget -y $n1 0x50 0x20 b)" 0x77 "dd's stub byte 0x20 (written in dd)"
run i2cset -y $n1 0x50 0x10 0x5a b
expect_eq "$(i2cget -y $n1 0x50 0x10 b)" 0x5a "dd's stub byte 0x10 read back"
if out=$(i2cget -y $n1 0x51 0x00 b 2>&1); then fail "0x51 answered: $out"; fi
case $out in *"Input/output error"*) echo "VB-REFUSED 0x51" ;; *) fail "0x51: $out" ;; esac
"""


def guest_virtio(grant: int) -> str:
    entry = f"backend=dd, type=virtio,device22, transport=mmio, grant_usage={grant}"
    return f'--virtio "{entry}" --virtio "{entry}"'


# Driver-domain helpers of every scenario.
DD_LIB = r"""
L=$VB_CONSOLE_LOGS
dd_log() { tr -d '\r' <"$L/guest-dd.log"; }
dd_says() { dd_log | grep -qF -- "$1"; }
# keep_log NAME TAG: a finished incarnation's console, kept apart so the
# next one's verdict and messages are its own.
keep_log() {
    [ -f "$VB_RUN/$1.logged" ] || domu_log "$1"
    rm -f "$VB_RUN/$1.logged" "$VB_RUN/$1.domid"
    [ ! -f "$L/guest-$1.log" ] || mv "$L/guest-$1.log" "$L/guest-$1-$2.log"
    touch "$VB_RUN/$1-$2.logged"
}
dd_start() {
    domu_config dd "$@" >/dev/null
    run cat $VB_RUN/dd.cfg
    domu_create dd
    DD=$(domid_of dd)
    wait_for 90 dd_says "ready: serving 2 device(s)"
    echo "driver domain dd is domain $DD"
}
state_is() { [ "$(xenstore-read /local/domain/$DD/backend/virtio/$1/$2/state 2>/dev/null)" = "$3" ]; }
served() { wait_for 45 state_is "$1" 0 2; wait_for 45 state_is "$1" 1 2; }
timed_destroy() {
    t0=$(date +%s)
    run xl destroy "$1"
    echo "VB-DESTROY-SECONDS $1 $(($(date +%s) - t0))"
}
gone() { ! xl domid guest1 >/dev/null 2>&1; }
"""

DOM0 = DD_LIB + rf"""
echo "=== 1: a driver domain booted without xen_privcmd.unrestricted=1"
dd_start
dd_says "kernel restricts /dev/xen/privcmd" || fail "dd did not diagnose its privcmd"
domu_config guest1 {guest_virtio(1)} >/dev/null
domu_create guest1 -p
G=$(domid_of guest1)
run xenstore-ls -fp /local/domain/$DD/backend/virtio/$G
run xenstore-ls -fp /local/domain/$G/device/virtio
wait_for 45 dd_says "domain $G virtio device 0: not served yet: this domain ($DD) is not domain $G's device model"
sleep 2
state_is $G 0 1 || fail "guest1's device 0 left state 1 without the privilege"
echo "VB-UNPRIVILEGED-STATE $(xenstore-read /local/domain/$DD/backend/virtio/$G/0/state)"
run virtiobox xen-target dd guest1
wait_for 45 dd_says "boot this driver domain with xen_privcmd.unrestricted=1"
state_is $G 0 1 || fail "guest1's device 0 left state 1 with a restricted privcmd"
timed_destroy guest1
xenstore-exists /local/domain/$DD/backend/virtio/$G && fail "dd left guest1's entries behind"
keep_log guest1 1
timed_destroy dd
keep_log dd 1

echo "=== 2: xen_privcmd.unrestricted=1, xen-target, grants"
dd_start --extra xen_privcmd.unrestricted=1
domu_create guest1 -p
G=$(domid_of guest1)
run virtiobox xen-target dd guest1
served $G
run xl unpause guest1
domu_expect_pass guest1 150
wait_for 45 dd_says "domain $G virtio device 1: no longer served"
# It powered off: xl destroys it (dd still holds it as its target).
wait_for 30 gone
keep_log guest1 2

echo "=== 3: re-created, same dd"
domu_create guest1 -p
G3=$(domid_of guest1)
if virtiobox xen-target dd guest1 2>/tmp/xt.err; then fail "xen-target accepted a second guest for dd"; fi
cat /tmp/xt.err
grep -q "is the device model of another domain already" /tmp/xt.err || fail "xen-target: $(cat /tmp/xt.err)"
wait_for 45 dd_says "domain $G3 virtio device 0: not served yet"
run xl list

echo "=== 4: dd restarted"
OLD=$DD
timed_destroy dd
keep_log dd 2
dd_start --extra xen_privcmd.unrestricted=1 --line "driver_domain = 1"
run xenstore-ls -fp /local/domain/$DD/libxl
run xenstore-ls -fp /local/domain/$DD/device-model
echo "VB-STALE-BACKEND $(xenstore-read /local/domain/$G3/device/virtio/0/backend-id) old $OLD new $DD"
sleep 2
if dd_says "domain $G3"; then fail "the new dd saw the guest created for the old one"; fi
timed_destroy guest1
keep_log guest1 3
domu_config guest1 {guest_virtio(0)} >/dev/null
domu_create guest1 -p
G=$(domid_of guest1)
run virtiobox xen-target dd $G
served $G
run xl unpause guest1
domu_expect_pass guest1 150
keep_log guest1 4
timed_destroy dd
keep_log dd 3
"""


DD_LABEL = 'seclabel = "system_u:system_r:virtiobox_dd_t"'

# FLASK: Xen booted with xsm=flask flask=late, the project's policy (Xen's
# example policy plus xen/flask/virtiobox.te) loaded by dom0 before any
# domU exists. Xen's "avc:  denied" lines are printed when the script fails.
DOM0_FLASK = DD_LIB + rf"""
avc_denials() {{ xl dmesg | grep -a "avc:  denied" || true; }}
trap '[ $? = 0 ] || avc_denials' EXIT
run xl loadpolicy /test/xenpolicy
expect_eq "$(xl getenforce)" Enforcing "FLASK mode after the policy load"

echo "=== F1: a driver domain without the virtiobox_dd_t label (domU_t)"
dd_start --extra xen_privcmd.unrestricted=1
domu_config guest1 {guest_virtio(1)} >/dev/null
domu_create guest1 -p
G=$(domid_of guest1)
run virtiobox xen-target dd guest1
wait_for 45 dd_says "Xen's FLASK policy does not let this domain be the guest's device model"
state_is $G 0 1 || fail "guest1's device 0 left state 1 although the policy refused dd"
timed_destroy guest1
keep_log guest1 f1
timed_destroy dd
keep_log dd f1

echo "=== F2: dd labelled virtiobox_dd_t serves every incarnation of guest1"
dd_start --extra xen_privcmd.unrestricted=1 --line '{DD_LABEL}'
run xl list -Z
for round in 1 2 3; do
    [ $round != 3 ] || domu_config guest1 {guest_virtio(0)} >/dev/null
    domu_create guest1 -p
    G=$(domid_of guest1)
    run virtiobox xen-target dd guest1
    served $G
    run xl unpause guest1
    domu_expect_pass guest1 150
    # It powered off: nothing holds it, xl destroys it.
    wait_for 30 gone
    keep_log guest1 r$round
done
echo "VB-DD-DENIALS $(avc_denials | grep -c virtiobox_dd_t)"
avc_denials
timed_destroy dd
keep_log dd f2
"""

def _binary() -> Path:
    if not BINARY.is_file():
        pytest.skip(f"{BINARY} is built by `scons test` (scons CROSS_COMPILE=aarch64-linux-gnu-)")
    return BINARY


def test_driver_domain_serves_guest(images, report):
    dd = DomU(DD_SCRIPT, files={
        "/usr/local/bin/virtiobox": File(path=_binary(), mode=0o755),
        "/usr/lib/modules/i2c-stub.ko": File(path=images["i2c_stub"], mode=0o644),
        "/etc/virtiobox/board.conf": DD_BOARD,
    })
    result = report(run_xen(DOM0, timeout=900, virtiobox=_binary(), xen_append="xsm=dummy",
                            domus={"dd": dd, "guest1": DomU(GUEST_SCRIPT)}))
    console = result.console
    result.check()
    dds = [int(d) for d in re.findall(r"driver domain dd is domain (\d+)", console)]
    assert len(dds) == 3, dds
    # Guests: 1 unprivileged, 2 grants, 3 refused, 4 foreign.
    guests = [int(d) for d in re.findall(r"domU guest1 is domain (\d+)", console)]
    assert len(guests) == 4, guests
    g1, g2, g3, g4 = guests
    dd1, dd2, dd3 = dds
    # 1: the message names the guest, this domain and the command, once per
    # guest; nothing is served. libxl put the entries under dd's backend
    # path, owned by dd and readable by the guest; the frontend side is
    # the guest's, readable by dd.
    assert ("kernel restricts /dev/xen/privcmd (no xenstore \"target\" at boot): no guest "
            "can be served until it is booted with xen_privcmd.unrestricted=1") in console
    assert (f"domain {g1} virtio device 0: not served yet: this domain ({dd1}) is not "
            f"domain {g1}'s device model") in console
    assert f"run: virtiobox xen-target {dd1} {g1} " in console
    assert console.count(f"domain {g1} virtio device 0: not served yet") == 1
    assert f"domain {g1} virtio device 1: not served yet" not in console
    assert "VB-UNPRIVILEGED-STATE 1" in console
    assert re.search(rf"/local/domain/{dd1}/backend/virtio/{g1}/0/state = \"1\"\s+\(n{dd1},r{g1}\)",
                     console)
    assert re.search(rf"/local/domain/{g1}/device/virtio/0/backend-id = \"{dd1}\"\s+\(n{g1},r{dd1}\)",
                     console)
    # ... then the target given, but the kernel's privcmd still refuses.
    assert f"domain {dd1} (dd) is the device model of domain {g1} (guest1)" in console
    assert (f"guest1 (domain {g1}): cannot create an IOREQ server: this domain's kernel restricts "
            "/dev/xen/privcmd") in console
    # Every xl destroy was answered: libxl never gave up waiting for the
    # entries' removal (dd removes them, as xl devd would).
    assert len(re.findall(r"VB-DESTROY-SECONDS (\S+) (\d+)", console)) == 5
    assert "timed out while waiting for" not in console
    # 2: served through grants; the guest's grant-dma node points at dd.
    assert f"domain {dd2} (dd) is the device model of domain {g2} (guest1)" in console
    assert f"guest1/eeprom: serving domain {g2} (guest1) virtio device 0" in console
    assert f"guest1/stub: serving domain {g2} (guest1) virtio device 1" in console
    assert "guest memory through grants" in console
    iommus = re.findall(r"\[guest1\] VB-IOMMUS (\S+)", console)
    assert len(iommus) == 2, iommus
    assert iommus[0].endswith(f"{dd2:08x}") and len(iommus[0]) == 16, iommus
    assert console.count("[guest1] VB-REFUSED 0x51") == 2
    # 3: Xen keeps one target per domain: refused, said so; dd waits.
    assert f"cannot make domain {dd2} (dd) the device model of domain {g3} (guest1)" in console
    assert f"domain {g3} virtio device 0: not served yet" in console
    # 4: the guest made for the old dd still names it; the new dd (with
    # driver_domain=1: libxl's libxl and device-model directories) serves
    # the next guest through foreign mappings.
    assert f"VB-STALE-BACKEND {dd2} old {dd2} new {dd3}" in console
    assert f"/local/domain/{dd3}/libxl" in console
    assert f"/local/domain/{dd3}/device-model" in console
    assert f"guest1/eeprom: serving domain {g4} (guest1) virtio device 0" in console
    assert "guest memory through foreign mappings" in console
    assert iommus[1] == "none"
    assert console.count("domU guest1: PASS") == 2


# Under FLASK one driver domain serves a guest destroyed and created again
# (no Xen target: the policy grants by type), through grants and foreign
# mappings; without the label, virtiobox names the policy as the reason.
def test_driver_domain_flask_serves_recreated_guest(images, report):
    dd = DomU(DD_SCRIPT, files={
        "/usr/local/bin/virtiobox": File(path=_binary(), mode=0o755),
        "/usr/lib/modules/i2c-stub.ko": File(path=images["i2c_stub"], mode=0o644),
        "/etc/virtiobox/board.conf": DD_BOARD,
    })
    result = report(run_xen(DOM0_FLASK, timeout=900, virtiobox=_binary(),
                            xen_append="xsm=flask flask=late",
                            files={"/test/xenpolicy": File(path=images["xsm_policy"], mode=0o644)},
                            domus={"dd": dd, "guest1": DomU(GUEST_SCRIPT)}))
    console = result.console
    result.check()
    dds = [int(d) for d in re.findall(r"driver domain dd is domain (\d+)", console)]
    guests = [int(d) for d in re.findall(r"domU guest1 is domain (\d+)", console)]
    assert len(dds) == 2 and len(guests) == 4, (dds, guests)
    g1, *rounds = guests
    # F1: xen-target only told xenstore; the policy refused the IOREQ
    # server, and virtiobox said so, naming the label that would do.
    assert "Xen enforces a FLASK policy: it decides whether domain" in console
    assert (f"guest1 (domain {g1}): cannot create an IOREQ server: Xen's FLASK policy does "
            "not let this domain be the guest's device model") in console
    assert 'its xl config says seclabel = "system_u:system_r:virtiobox_dd_t"' in console
    # F2: one dd, three incarnations of guest1, each served and passing;
    # the last through foreign mappings. No Xen target was set.
    assert "is the device model of domain" not in console
    assert re.search(r"^dd\s+\d+\s.*system_u:system_r:virtiobox_dd_t", console, re.M), \
        "xl list -Z does not show dd's label"
    for n, g in enumerate(rounds):
        assert f"guest1/eeprom: serving domain {g} (guest1) virtio device 0" in console, g
        assert f"guest1/stub: serving domain {g} (guest1) virtio device 1" in console, g
    assert console.count("domU guest1: PASS") == 3
    assert "guest memory through grants" in console
    assert "guest memory through foreign mappings" in console
    assert console.count("[guest1] VB-REFUSED 0x51") == 3
    assert "VB-DD-DENIALS 0" in console
