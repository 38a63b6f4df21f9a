#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The virtiobox demo (`scons demo`): a native virtiobox serves
board/host-sim.conf (a simulated 24C02 EEPROM at 0x50 and a register file
at 0x1c, behind an allow-list without 0x20) on a vhost-user socket in a
temporary directory; QEMU 7.2 boots the project's arm64 kernel with a
vhost-user-i2c device on that socket, and the guest uses i2c-tools on the
bus it finds. Then the same with board/gpio-sim.conf (eight simulated GPIO
lines) and a vhost-user-gpio device: the guest lists the lines and their
names, reads inputs the host drives through the lines' control socket, and
sets outputs the host reads back. The demo prints what the guests saw and
what virtiobox logged, and exits 0 when everything is as expected."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))

import gpiotest  # noqa: E402
import vbtest  # noqa: E402
from harness import ensure_images, run_plain  # noqa: E402
from harness.scenarios import prepare_plain  # noqa: E402


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def show_check(runtime: Path) -> bool:
    section(f"virtiobox check {vbtest.HOST_SIM.relative_to(vbtest.REPO)}")
    r = vbtest.check_board(vbtest.HOST_SIM, runtime)
    print((r.stdout + r.stderr).rstrip())
    return r.returncode == 0


def show_guest(console: str) -> bool:
    saw = vbtest.observations(console)
    ok = True
    print(f"  adapter:        {saw.get('adapter', '(none)')}")
    print(f"  virtio device:  {saw.get('virtio device', '(none)')}")
    print("  i2cdetect:")
    for line in console.splitlines():
        if re.match(r"^( {5}0  1  2| ?[0-7]0:)", line):
            print("    " + line.rstrip())
    for what, want in vbtest.EXPECTED.items():
        got = saw.get(what, "(not seen)")
        mark = "ok  " if got == want else "FAIL"
        ok &= got == want
        print(f"  [{mark}] {what}: {got}" + ("" if got == want else f"   (expected {want})"))
    refused = saw.get("refused 0x20", "(not seen)")
    good = vbtest.REFUSED_TEXT in refused
    ok &= good
    print(f"  [{'ok  ' if good else 'FAIL'}] address 0x20 (off the allow-list): {refused}")
    return ok


def show_log(server: vbtest.Server, status: int | None) -> bool:
    log = server.log().splitlines()
    refusals = [line for line in log if "not on the allow-list" in line]
    print(f"  {len(refusals)} refusal line(s) logged (rate-limited), e.g.:")
    for line in refusals[:3]:
        print("    " + line)
    for line in log:
        if "not on the allow-list" not in line:
            print("    " + line)
    bad = server.unexpected_lines()
    for line in bad:
        print("  unexpected: " + line)
    print(f"  exit status after SIGTERM: {status}")
    return status == 0 and not bad


def show_gpio(console: str, control: gpiotest.Control) -> bool:
    saw = vbtest.observations(console)
    ok = True
    print(f"  chip:           {saw.get('gpiodetect', '(none)')}")
    print(f"  virtio device:  {saw.get('virtio device', '(none)')}")
    for i in range(8):
        print(f"  line {i}: {saw.get(f'gpioinfo line {i}', '(not seen)')}")
    for what, want in gpiotest.EXPECTED.items():
        got = saw.get(what, "(not seen)")
        ok &= got == want
        print(f"  [{'ok  ' if got == want else 'FAIL'}] {what}: {got}"
              + ("" if got == want else f"   (expected {want})"))
    gets = [(c, a) for c, a in control.log if c.startswith("get")]
    good = gets == gpiotest.EXPECTED_GETS
    ok &= good
    print(f"  [{'ok  ' if good else 'FAIL'}] the host read the guest's outputs: "
          + ", ".join(f"{c} -> {a}" for c, a in gets))
    mon = saw.get("gpiomon", "(not seen)")
    if "VIRTIO_GPIO_F_IRQ=0" in saw.get("virtio device", ""):
        print(f"  [note] interrupts: QEMU 7.2's vhost-user-gpio does not pass "
              f"VIRTIO_GPIO_F_IRQ to the guest, so gpiomon is {mon}")
    else:
        good = mon == "2 rising edges"
        ok &= good
        print(f"  [{'ok  ' if good else 'FAIL'}] gpiomon: {mon}")
    return ok


def gpio_demo(tmp: Path) -> bool:
    board = gpiotest.GPIO_SIM
    runtime = tmp / "run-gpio"
    section(f"virtiobox check {board.relative_to(vbtest.REPO)}")
    r = vbtest.check_board(board, runtime)
    print((r.stdout + r.stderr).rstrip())
    ok = r.returncode == 0
    section(f"virtiobox --board {board.relative_to(vbtest.REPO)} --runtime-dir {runtime}")
    server = vbtest.Server(board, runtime, name="demo-virtiobox-gpio",
                           socket_name=gpiotest.SOCKET)
    try:
        control = gpiotest.Control(runtime / gpiotest.CONTROL)
        args = gpiotest.qemu_args(server.sock, "mmio", False)
        section("QEMU guest: " + " ".join(args))
        cmd = prepare_plain(gpiotest.GUEST_SCRIPT, tmp, args)
        console = gpiotest.run_interactive(cmd, control, timeout=120)
        control.close()
        passed = "VIRTIOBOX-RESULT: PASS" in console
        print(f"  guest verdict: {'PASS' if passed else 'FAIL'}")
        ok &= passed
        section("What the gpio guest saw")
        ok &= show_gpio(console, control)
    finally:
        status = server.stop()
    section("virtiobox log (gpio)")
    for line in server.log().splitlines():
        print("    " + line)
    bad = server.unexpected_lines()
    for line in bad:
        print("  unexpected: " + line)
    print(f"  exit status after SIGTERM: {status}")
    return ok and status == 0 and not bad


def main() -> int:
    if not vbtest.VIRTIOBOX.is_file():
        print(f"demo: {vbtest.VIRTIOBOX} missing; run `scons` first")
        return 1
    print("demo: preparing the guest kernel and image (cached after the first run)...",
          flush=True)
    ensure_images("kernel", "guest")
    with tempfile.TemporaryDirectory(prefix="virtiobox-demo-") as tmp:
        runtime = Path(tmp) / "run"
        ok = show_check(runtime)
        section(f"virtiobox --board {vbtest.HOST_SIM.relative_to(vbtest.REPO)} "
                f"--runtime-dir {runtime}")
        server = vbtest.Server(vbtest.HOST_SIM, runtime, name="demo-virtiobox")
        try:
            print(f"  serving {server.sock}")
            args = vbtest.qemu_args(server.sock, "mmio", packed=True)
            section("QEMU guest: " + " ".join(args))
            result = run_plain(vbtest.GUEST_SCRIPT, args, timeout=120, name="demo")
            print(f"  guest verdict: {result.verdict} in {result.seconds:.1f} s"
                  + (f" ({result.reason})" if result.reason else ""))
            section("What the guest saw")
            ok &= result.passed
            ok &= show_guest(result.console)
        finally:
            status = server.stop()
        section("virtiobox log")
        ok &= show_log(server, status)
        ok &= gpio_demo(Path(tmp))
    section("demo " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
