"""virtio-gpio end to end: QEMU 7.2's vhost-user-gpio front-end, the guest's
unmodified Linux gpio-virtio driver and libgpiod 1.6's tools, against a
native virtiobox serving board/gpio-sim.conf (eight simulated lines with
names, initial directions and values, and a control socket).

The test talks to the guest while it runs (test/integration/gpiotest.py):
the guest asks for host-side actions on the lines' control socket and waits
for their effect.

Split rings only: QEMU 7.2's vhost-user-gpio tells the back-end "split"
even when the guest drives a packed ring (test_qemu72_packed_ring_is_refused_cleanly).

QEMU 7.2's vhost-user-gpio front-end does not offer VIRTIO_GPIO_F_IRQ to
the guest (the device's host features never contain bit 0, and
vhost_get_features only clears bits), although virtiobox offers it: the
guest's features show bit 0 clear and gpiomon cannot request edge events.
The test asserts exactly that; interrupts are proven by test_gpio.c,
test_gpio_hostdev.c on a real gpio-sim chip, and (once it lands) the Xen
transport. Should a QEMU pass the bit, the same script checks gpiomon's
edges instead."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import vbtest
from gpiotest import (CONTROL, EXPECTED, EXPECTED_GETS, GUEST_SCRIPT, SOCKET, Control,
                      board_text, qemu_args, run_interactive)
from harness.scenarios import prepare_plain


@pytest.mark.parametrize("transport,packed", [("mmio", False), ("pci", False)],
                         ids=["mmio-split", "pci-split"])
def test_guest_uses_sim_lines(images, serve, transport, packed):
    server = serve(board_text(packed), socket_name=SOCKET)
    control = Control(server.runtime_dir / CONTROL)
    try:
        with tempfile.TemporaryDirectory(prefix="virtiobox-gpio-") as tmp:
            cmd = prepare_plain(GUEST_SCRIPT, Path(tmp), qemu_args(server.sock, transport, packed))
            console = run_interactive(cmd, control, timeout=120)
    finally:
        control.close()
    assert "VIRTIOBOX-RESULT: PASS" in console, console[-4000:]
    saw = vbtest.observations(console)
    print("\n".join(f"{k}: {v}" for k, v in saw.items()))
    print("control socket:", control.log)
    for what, value in EXPECTED.items():
        assert saw.get(what) == value, f"{what}: expected {value!r}, saw {saw.get(what)!r}"
    device = saw["virtio device"]
    assert "VERSION_1=1" in device and f"RING_PACKED={int(packed)}" in device, device
    gets = [(c, a) for c, a in control.log if c.startswith("get")]
    assert gets == EXPECTED_GETS, control.log
    assert all(a == "ok" for c, a in control.log if c.startswith("set")), control.log
    if "VIRTIO_GPIO_F_IRQ=0" in device:
        # QEMU 7.2 masks the feature: no interrupt controller in the guest.
        assert saw["gpiomon"].startswith("refused:"), saw["gpiomon"]
    else:
        assert saw["gpiomon"] == "2 rising edges", saw["gpiomon"]
    log = server.log()
    assert "front-end connected" in log


def test_qemu72_packed_ring_is_refused_cleanly(images, serve, tmp_path):
    """QEMU 7.2's vhost-user-gpio acks the back-end's features through a
    list without VIRTIO_F_RING_PACKED, so with packed=on the guest drives a
    packed ring while the back-end is told "split" (SET_FEATURES lacks bit
    34) and then receives a packed vring base (avail and used wrap bits,
    0x80008000). virtiobox refuses that SET_VRING_BASE, and the guest's
    probe then waits forever for its first request. What must hold: QEMU
    keeps running (no abort, unlike rust-vmm's back-end), virtiobox keeps
    serving and notices the disconnect when QEMU is stopped."""
    server = serve(board_text(True), socket_name=SOCKET)
    server.expected_warnings += [
        re.compile(r"SET_VRING_BASE failed: Invalid argument"),
        re.compile(r"queue 0: base 0x80008000 is a packed-ring base, but "
                   r"VIRTIO_F_RING_PACKED was not acked")]
    cmd = prepare_plain("echo unreachable", tmp_path, qemu_args(server.sock, "mmio", True))
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.monotonic() + 60
        while "is a packed-ring base" not in server.log():
            assert time.monotonic() < end, server.log()
            assert proc.poll() is None, "QEMU exited"
            time.sleep(0.2)
        time.sleep(2)
        assert proc.poll() is None, f"QEMU exited with {proc.returncode}"
        assert server.alive()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    end = time.monotonic() + 10
    while "front-end disconnected" not in server.log():
        assert time.monotonic() < end, server.log()
        time.sleep(0.1)


def test_virtiobox_stopped_under_a_running_guest(images, serve, tmp_path):
    """SIGTERM to virtiobox while the guest's driver uses the device: it
    exits 0, and QEMU's vhost-user-gpio front-end survives the back-end
    going away (CHR_EVENT_CLOSED) instead of aborting."""
    server = serve(board_text(False), socket_name=SOCKET)
    script = ("chip=$(gpiodetect | grep virtio | cut -d' ' -f1)\n"
              "run gpioget $chip 1\necho CONNECTED\nsleep 600\n")
    cmd = prepare_plain(script, tmp_path, qemu_args(server.sock, "mmio", False))
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        seen = b""
        end = time.monotonic() + 90
        while b"CONNECTED" not in seen:
            assert time.monotonic() < end and proc.poll() is None, seen.decode(errors="replace")
            seen += os.read(proc.stdout.fileno(), 65536)
        assert server.stop() == 0, server.log()
        time.sleep(3)
        assert proc.poll() is None, f"QEMU exited ({proc.returncode}) when the back-end stopped"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert "stopped" in server.log()
