"""virtio-i2c end to end: QEMU 7.2's vhost-user-i2c front-end, the guest's
Linux virtio_i2c driver and i2c-tools, against a native virtiobox serving
board/host-sim.conf (a 24C02 EEPROM at 0x50, a register file at 0x1c,
0x20 off the allow-list)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import vbtest
from harness import run_plain
from harness.scenarios import prepare_plain


def check_observations(console: str, packed: bool, legacy: bool = False) -> dict[str, str]:
    saw = vbtest.observations(console)
    for what, value in vbtest.EXPECTED.items():
        assert saw.get(what) == value, f"{what}: expected {value!r}, saw {saw.get(what)!r}"
    assert vbtest.REFUSED_TEXT in saw.get("refused 0x20", ""), saw
    assert f"RING_PACKED={int(packed)}" in saw["virtio device"], saw["virtio device"]
    assert f"VERSION_1={int(not legacy)}" in saw["virtio device"], saw["virtio device"]
    return saw


@pytest.mark.parametrize("transport,packed", [
    ("mmio", False), ("mmio", True), ("pci", False), ("pci", True),
], ids=["mmio-split", "mmio-packed", "pci-split", "pci-packed"])
def test_guest_uses_sim_chips(images, serve, report, transport, packed):
    server = serve(vbtest.board_text(packed=packed))
    result = report(run_plain(vbtest.GUEST_SCRIPT,
                              vbtest.qemu_args(server.sock, transport, packed),
                              timeout=90), f"{transport} packed={packed}")
    result.check()
    check_observations(result.console, packed)
    log = server.log()
    assert "front-end connected" in log
    # Every probe of i2cdetect off the allow-list was refused, rate-limited.
    refusals = log.count("not on the allow-list")
    assert 1 <= refusals <= 11, log


def test_qemu_defaults_legacy_mmio(images, serve, report):
    """QEMU 7.2 with its defaults: vhost-user-i2c-device on legacy
    virtio-mmio (force-legacy=true), whose driver never accepts
    VIRTIO_F_VERSION_1, against the board as shipped (packed offered, so
    the legacy driver's split ring is the one thing that can work)."""
    server = serve(vbtest.board_text())
    result = report(run_plain(vbtest.GUEST_SCRIPT,
                              vbtest.qemu_args(server.sock, "mmio", legacy=True),
                              timeout=90), "legacy mmio")
    result.check()
    check_observations(result.console, packed=False, legacy=True)
    log = server.log()
    assert "serving a legacy driver" in log, log
    # Not offered for a device without config space, so QEMU is silent.
    assert "VHOST_USER_PROTOCOL_F_CONFIG" not in result.console, result.console


def _boot_until(cmd: list[str], marker: str, timeout: float) -> subprocess.Popen:
    """Starts QEMU and returns once marker appeared on its console."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    seen = b""
    end = time.monotonic() + timeout
    while marker.encode() not in seen:
        if time.monotonic() > end or proc.poll() is not None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError(f"no {marker!r} on the console:\n{seen.decode(errors='replace')}")
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            seen += os.read(proc.stdout.fileno(), 65536)
    return proc


KILLED_SCRIPT = r"""
n=$(i2cdetect -l | grep i2c_virtio | cut -f1 | sed 's/i2c-//')
run i2cset -y "$n" 0x50 0x40 0x5a b
expect_eq "$(i2cget -y "$n" 0x50 0x40 b)" 0x5a "first VM wrote the EEPROM"
# Keep requests in flight while QEMU is killed.
( while :; do i2ctransfer -y "$n" w1@0x50 0x00 r16 >/dev/null; done ) &
sleep 0.5
echo "FIRST-VM-BUSY"
sleep 600
"""

RESTARTED_SCRIPT = r"""
n=$(i2cdetect -l | grep i2c_virtio | cut -f1 | sed 's/i2c-//')
expect_eq "$(i2cget -y "$n" 0x50 0x40 b)" 0x5a "second VM reads what the first wrote"
run i2cset -y "$n" 0x1c 0x02 0x99 b
expect_eq "$(i2cget -y "$n" 0x1c 0x02 b)" 0x99 "second VM writes the register file"
i2cget -y "$n" 0x20 0x00 b && fail "0x20 must stay refused"
echo "second VM done"
"""


@pytest.mark.parametrize("packed", [False, True], ids=["split", "packed"])
def test_qemu_killed_and_restarted(images, serve, report, packed):
    server = serve(vbtest.board_text(packed=packed))
    args = vbtest.qemu_args(server.sock, "mmio", packed)
    with tempfile.TemporaryDirectory(prefix="virtiobox-kill-") as tmp:
        proc = _boot_until(prepare_plain(KILLED_SCRIPT, Path(tmp), args), "FIRST-VM-BUSY", 90)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    # virtiobox notices the hang-up and waits for the next front-end.
    end = time.monotonic() + 10
    while "front-end disconnected" not in server.log():
        assert time.monotonic() < end, server.log()
        time.sleep(0.1)
    assert server.alive()
    result = report(run_plain(RESTARTED_SCRIPT, args, timeout=90), "after SIGKILL")
    result.check()
    assert server.log().count("front-end connected") == 2, server.log()


def test_sigterm_while_guest_connected(images, serve, tmp_path):
    """SIGTERM with a front-end attached: virtiobox exits 0, and QEMU sees
    its back-end go away without virtiobox crashing."""
    server = serve(vbtest.board_text())
    args = vbtest.qemu_args(server.sock, "mmio", True)
    script = "n=$(i2cdetect -l | grep i2c_virtio | cut -f1 | sed 's/i2c-//')\n" \
             "run i2cget -y $n 0x50 0x00 b\necho CONNECTED\nsleep 600\n"
    proc = _boot_until(prepare_plain(script, tmp_path, args), "CONNECTED", 90)
    try:
        assert server.stop() == 0, server.log()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert "stopped" in server.log()


def _resources(pid: int) -> tuple[int, int]:
    """virtiobox's open fds and mappings, from /proc."""
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/maps") as f:
        maps = sum(1 for _ in f)
    return fds, maps


RESTART_SCRIPT = r"""
n=$(i2cdetect -l | grep i2c_virtio | cut -f1 | sed 's/i2c-//')
run i2ctransfer -y "$n" w1@0x50 0x00 r4
"""


def test_front_end_restarts_leak_nothing(images, serve, report):
    """Five QEMU front-ends in a row against one virtiobox, the odd ones
    killed with SIGKILL mid-session: after each, virtiobox holds exactly the
    fds and mappings it held after the first (the guest's memory table and
    vring fds are dropped on every disconnect)."""
    server = serve(vbtest.board_text(packed=True))
    pid = server.proc.proc.pid
    args = vbtest.qemu_args(server.sock, "mmio", True)
    baseline = None
    for i in range(5):
        if i % 2:
            with tempfile.TemporaryDirectory(prefix="virtiobox-restart-") as tmp:
                script = RESTART_SCRIPT + "echo SESSION-UP\nsleep 600\n"
                proc = _boot_until(prepare_plain(script, Path(tmp), args), "SESSION-UP", 90)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                proc.stdout.close()
        else:
            report(run_plain(RESTART_SCRIPT, args, timeout=90), f"front-end {i + 1}").check()
        end = time.monotonic() + 10
        while server.log().count("front-end disconnected") < i + 1:
            assert time.monotonic() < end, server.log()
            time.sleep(0.1)
        # The line is logged before the teardown, which may also wait for a
        # busy data path: a leak is what does not come back within 10 s.
        now = _resources(pid)
        if baseline is None:
            baseline = now
        while now != baseline and time.monotonic() < end:
            time.sleep(0.1)
            now = _resources(pid)
        assert now == baseline, f"after front-end {i + 1}: fds/maps {now}, first {baseline}"
    assert server.log().count("front-end connected") == 5
