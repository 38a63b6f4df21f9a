#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The virtiobox demo (`scons demo`): Xen 4.20 on an emulated Arm board.

QEMU boots the project's Xen (with IOREQ) and a dom0 running the static
aarch64 virtiobox on a board file with one xen-mmio guest: its i2c0 is
board/host-sim.conf's simulated bus (a 24C02 EEPROM at 0x50, a register
file at 0x1c, 0x20 off the allow-list), its "stub" device dom0's i2c-stub
bus (0x50 allowed, 0x51 on the bus but not the guest's). dom0 creates the
domU paused with two `virtio = [ "type=virtio,device22, transport=mmio,
grant_usage=1" ]` entries; virtiobox finds them in xenstore, becomes the
domU's IOREQ server and answers InitWait; `xl unpause`; the domU's Linux
virtio-i2c driver then uses both buses through grants, with no other
back-end process. The demo prints what the guest saw and what virtiobox
logged, and exits 0 when everything is as expected.

Then a gpio device on three lines of a gpio-sim chip in dom0 (names BTN,
LED, ACK): the domU lists the lines and names, reads an input dom0 drives,
sees a rising edge dom0 causes as an interrupt (gpiomon), and drives an
output dom0 reads back.

The plain-QEMU demo (vhost-user i2c and gpio) is `scons demo-qemu`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "system"))
sys.path.insert(0, str(HERE / "integration"))

import test_xen  # noqa: E402
import vbtest  # noqa: E402
from harness import DomU, ensure_images, run_xen  # noqa: E402


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def mark(ok: bool) -> str:
    return "ok  " if ok else "FAIL"


def show_guest(console: str) -> bool:
    guest = re.sub(r"^\[guest1\] ", "", console, flags=re.M)
    saw = vbtest.observations(guest)
    ok = True
    print(f"  virtio device:  {saw.get('virtio device', '(none)')}")
    for what, want in test_xen.I2C_EXPECTED.items():
        got = saw.get(what, "(not seen)")
        ok &= got == want
        print(f"  [{mark(got == want)}] {what}: {got}"
              + ("" if got == want else f"   (expected {want})"))
    for what in ("refused 0x20", "refused stub 0x51"):
        got = saw.get(what, "(not seen)")
        good = vbtest.REFUSED_TEXT in got
        ok &= good
        print(f"  [{mark(good)}] {what} (off the allow-list): {got}")
    modern = "VERSION_1=1" in saw.get("virtio device", "")
    ok &= modern
    print(f"  [{mark(modern)}] virtio-mmio version 2, VIRTIO 1.x negotiated")
    return ok


def show_virtiobox(console: str) -> bool:
    lines = [line.split("] ", 1)[1] for line in console.splitlines()
             if line.startswith("[virtiobox] ")]
    refused = [line for line in lines
               if "not on the allow-list" in line or "similar lines suppressed" in line]
    print(f"  {len(refused)} refusal line(s) (rate-limited per device), e.g.:")
    for line in refused[:3]:
        print("    " + line)
    for line in lines:
        if line not in refused:
            print("    " + line)
    wanted = {
        "served by this virtiobox": "guest1/i2c0: serving domain",
        "through grants": "guest memory through grants",
        "one IOREQ server, an event channel per vCPU": "IOREQ server 0, 2 vCPU(s)",
    }
    ok = True
    for what, text in wanted.items():
        good = any(text in line for line in lines)
        ok &= good
        print(f"  [{mark(good)}] {what}")
    return ok


def gpio_demo() -> bool:
    section("board file (dom0): gpio lines 0-2 of a gpio-sim chip")
    print(test_xen.gpio_board().rstrip())
    section("Xen 4.20 + dom0 under QEMU: virtiobox serves guest1's virtio-mmio gpio device")
    result = run_xen(test_xen.DOM0_GPIO, timeout=400, virtiobox=test_xen.BINARY,
                     domus={"guest1": test_xen.DOMU_GPIO}, name="demo-xen-gpio")
    guest = [line[len("[guest1] "):] for line in result.console.splitlines()
             if line.startswith("[guest1] ")]
    section("What guest1 saw")
    for line in guest:
        if re.search(r"line +[0-2]:|RISING EDGE|^ok: |VB-GPIO", line):
            print("    " + line.strip())
    ok = result.passed and result.domus.get("guest1", ("", ""))[0] == "PASS"
    for what, text in (("names from the board file", '"BTN"'),
                       ("interrupt: dom0's rising edge reached gpiomon", "ok: interrupt seen"),
                       ("dom0 read the domU's output", "ok: dom0 read LED high")):
        good = any(text in line for line in guest)
        ok &= good
        print(f"  [{mark(good)}] {what}")
    print(f"  verdict: dom0 {result.verdict}, guest1 "
          f"{result.domus.get('guest1', ('(none)', ''))[0]}")
    if not ok:
        print("\n".join(result.console.splitlines()[-40:]))
    return ok


def main() -> int:
    if not test_xen.BINARY.is_file():
        print(f"demo: {test_xen.BINARY} missing; run `scons CROSS_COMPILE=aarch64-linux-gnu-`")
        return 1
    print("demo: preparing the kernel, Xen and the dom0 and guest images "
          "(cached after the first run)...", flush=True)
    ensure_images("all")
    section("board file (dom0: /tmp/board.cfg)")
    print(test_xen.i2c_board().rstrip())
    section("Xen 4.20 + dom0 under QEMU: virtiobox serves guest1's virtio-mmio i2c devices")
    result = run_xen(test_xen.dom0_i2c(1), timeout=400, virtiobox=test_xen.BINARY,
                     domus={"guest1": DomU("VB_GRANT=1\n" + test_xen.DOMU_DEVICE_TREE
                                           + test_xen.DOMU_I2C)}, name="demo-xen")
    print(f"  dom0 verdict: {result.verdict} in {result.seconds:.1f} s"
          + (f" ({result.reason})" if result.reason else ""))
    ok = result.passed and result.domus.get("guest1", ("", ""))[0] == "PASS"
    print(f"  guest1 verdict: {result.domus.get('guest1', ('(none)', ''))[0]}")
    section("What guest1 saw")
    ok &= show_guest(result.console)
    section("virtiobox log (in dom0)")
    ok &= show_virtiobox(result.console)
    if not ok:
        section("console (last 60 lines)")
        print("\n".join(result.console.splitlines()[-60:]))
    ok &= gpio_demo()
    section("demo " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
