"""Xen scenario: Xen 4.20 boots dom0 with its services; xl creates domUs
with generic virtio devices (xenstore back-end entries, domU device tree);
create-paused/unpause with an IOREQ server for the paused domain; host-side
i2c-stub and gpio-sim devices in dom0."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import run_xen

XEN_ARM64 = Path("/opt/virtiobox/arm64-xen/usr/lib/aarch64-linux-gnu/pkgconfig")

# No back-end serves the devices here: without the blacklist the domU would
# probe virtio-mmio, take a data abort in virtio_mmio_probe and die.
NO_PROBE = "--extra initcall_blacklist=virtio_mmio_init"

DOM0_DEVICES = rf"""
run xl info
xl info | grep -q '^xen_version *: 4\.20' || fail "xl info does not show Xen 4.20"
xl info | grep '^xen_commandline'
domu_config guest1 {NO_PROBE} --virtio "$VB_VIRTIO_I2C" --virtio "$VB_VIRTIO_GPIO" >/dev/null
domu_create guest1
domid=$(domid_of guest1)
be=/local/domain/0/backend/virtio/$domid
run xenstore-ls -f "$be"
check() {{ expect_eq "$(xenstore-read "$be/$1")" "$2" "$1"; }}
check 0/base 0x2000000
check 0/irq 33
check 0/type virtio,device22
check 0/grant_usage 1
check 0/transport mmio
check 1/base 0x2000200
check 1/irq 34
check 1/type virtio,device29
check 1/grant_usage 1
check 1/transport mmio
expect_eq "$(xenstore-read /local/domain/$domid/device/virtio/0/backend-id)" 0 "front-end's backend-id"
domu_expect_pass guest1 120
"""

DOMU_DEVICE_TREE = r"""
dt=/proc/device-tree
str() { tr '\0' '\n' <"$1" | head -n1; }
hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
run test -d $dt/virtio@2000000/i2c
run test -d $dt/virtio@2000200/gpio
expect_eq "$(str $dt/virtio@2000000/compatible)" "virtio,mmio" "virtio@2000000 compatible"
expect_eq "$(str $dt/virtio@2000000/i2c/compatible)" "virtio,device22" "i2c child compatible"
expect_eq "$(str $dt/virtio@2000200/gpio/compatible)" "virtio,device29" "gpio child compatible"
expect_eq "$(hex $dt/virtio@2000000/reg)" "00000000020000000000000000000200" "virtio@2000000 reg"
expect_eq "$(hex $dt/virtio@2000200/reg)" "00000000020002000000000000000200" "virtio@2000200 reg"
# SPI 1 and 2 (= irq 33, 34), edge rising.
expect_eq "$(hex $dt/virtio@2000000/interrupts)" "000000000000000100000f01" "virtio@2000000 interrupts"
expect_eq "$(hex $dt/virtio@2000200/interrupts)" "000000000000000200000f01" "virtio@2000200 interrupts"
iommu=""
for node in $dt/*; do
    [ -f "$node/compatible" ] && [ "$(str $node/compatible)" = "xen,grant-dma" ] && iommu=$node
done
[ -n "$iommu" ] || fail "no node with compatible xen,grant-dma"
echo "grant-dma node: $iommu"
phandle=$(hex $iommu/phandle)
for dev in virtio@2000000 virtio@2000200; do
    expect_eq "$(hex $dt/$dev/iommus | cut -c1-8)" "$phandle" "$dev iommus -> xen,grant-dma phandle"
done
"""


def test_xen_domu_with_virtio_devices(images, report):
    result = report(run_xen(DOM0_DEVICES, timeout=300, domus={"guest1": DOMU_DEVICE_TREE}))
    result.check()
    assert result.domus == {"guest1": ("PASS", "")}
    assert "Xen version 4.20" in result.console


DOM0_PAUSED = rf"""
domu_config paused1 {NO_PROBE} --virtio "$VB_VIRTIO_I2C" >/dev/null
domu_create paused1 -p
state=$(xl list paused1 | awk 'NR == 2 {{print $5}}')
case $state in *p*) echo "paused1 state $state" ;; *) fail "paused1 not paused after xl create -p (state $state)" ;; esac
run xenstore-read /local/domain/0/backend/virtio/$(domid_of paused1)/0/base
# What virtiobox will do first: an IOREQ server for the paused domain.
run /test/ioreq_probe "$(domid_of paused1)"
# Here a real test starts the back-end; this run has a stand-in for it.
bg_start virtiobox virtiobox --board /test/board.cfg
wait_for 10 grep -q serving /run/virtiobox/virtiobox.log
bg_alive virtiobox || fail "back-end stand-in died"
[ ! -s /var/log/xen/console/guest-paused1.log ] || fail "paused domU printed before xl unpause"
run xl unpause paused1
domu_expect_pass paused1 120
"""


# Stands in for the static aarch64 virtiobox: the harness puts the given
# file at /usr/local/bin/virtiobox, whatever it is.
FAKE_VIRTIOBOX = """#!/bin/sh
echo "fake back-end $* serving"
while :; do sleep 1; done
"""


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


def _ioreq_probe(tmp_path: Path) -> Path:
    return _static_tool(tmp_path, "ioreq_probe", "xendevicemodel", "xenforeignmemory")


def test_xen_create_paused_then_unpause(images, report, tmp_path):
    fake = tmp_path / "virtiobox"
    fake.write_text(FAKE_VIRTIOBOX)
    fake.chmod(0o755)
    result = report(run_xen(DOM0_PAUSED, timeout=300, virtiobox=fake,
                            files={"/test/board.cfg": 'name = "test";\n',
                                   "/test/ioreq_probe": _ioreq_probe(tmp_path)},
                            domus={"paused1": 'echo "domU running after unpause"'}))
    result.check()
    assert "[paused1] domU running after unpause" in result.console
    assert "IOREQ-PROBE: OK" in result.console
    # bg_start's log comes back when dom0's /init stops what is left running.
    assert "[virtiobox] fake back-end --board /test/board.cfg serving" in result.console


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
                  chips = ( { type = "24c02"; address = 0x50; } ); } ); }
);
BOARD
run virtiobox check /tmp/board.cfg
"""


def test_static_virtiobox_runs_in_dom0(images, report):
    """The static aarch64 build (bookworm's libxen 4.17 archives) opens every
    Xen interface it needs in a Xen 4.20 dom0 and loads a board file there."""
    binary = Path(__file__).resolve().parents[2] / "build" / "aarch64-release" / "main" / "virtiobox"
    if not binary.is_file():
        pytest.skip(f"{binary} is built by `scons test`")
    result = report(run_xen(DOM0_VIRTIOBOX, timeout=300, virtiobox=binary))
    result.check()
    assert "xen: yes" in result.console



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
    binary = Path(__file__).resolve().parents[2] / "build" / "aarch64-release" / "main" / "virtiobox"
    if not binary.is_file():
        pytest.skip(f"{binary} is built by `scons test`")
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
    (the device-read ones granted read-only), mapped by virtiobox with
    gntdev per batch and unmapped as requests complete; a request whose
    grant has ended fails alone."""
    result = report(_xen_mmap_run(tmp_path, DOM0_XEN_MMAP_GRANT))
    result.check()
    for ring in ("split", "packed", "split revoke"):
        assert f"VHU-XEN-FE: OK grant {ring}:" in result.console
    # The refused request never reached the device: 3 x 4 requests.
    assert "12 requests in 6 transactions; refused: 3 off the allow-list" in result.console
    assert "domain 0: grant refs" in result.console
    assert "cannot be mapped" in result.console
    # Per connection: three ring areas, then the batch of four requests in
    # one read-only and one read-write gntdev call; as many unmaps.
    assert result.console.count("grant memory released after 5 map and 5 unmap calls") == 2
