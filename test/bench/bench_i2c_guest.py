#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end virtio-i2c benchmark: a Linux guest under QEMU (TCG) reads a
byte from the simulated 24C02 of board/host-sim.conf N times in one process
(test/bench/guest/i2c_loop.c), through the guest's virtio_i2c driver, QEMU's
vhost-user-i2c front-end and a native virtiobox; split and packed rings.

The baseline, measured in the same guest boot: the same loop against
i2c-stub, an in-guest SMBus adapter with no virtio and no host round trip.
"x stub" is the virtio path's time per transfer over the baseline's.

It also prints virtiobox's resident memory after each run and the size of
the binaries (footprint). It prints a table and asserts nothing about speed. Numbers are guest-side
wall-clock under TCG emulation: compare rows of one run, not runs of
different machines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test"))
sys.path.insert(0, str(REPO / "test" / "integration"))

import vbtest  # noqa: E402
from harness import File, ensure_images, run_plain  # noqa: E402

N = 2000
LOOP_RE = re.compile(r"I2C-LOOP bus=(\S+) n=(\d+) ns_total=(\d+) p50_ns=(\d+) p99_ns=(\d+)")

GUEST = r"""
run insmod /test/i2c-stub.ko chip_addr=0x50
virtio=$(i2cdetect -l | grep i2c_virtio | cut -f1 | sed 's/i2c-//')
stub=$(i2cdetect -l | grep -i 'smbus stub' | cut -f1 | sed 's/i2c-//')
[ -n "$virtio" ] && [ -n "$stub" ] || fail "adapters: $(i2cdetect -l)"
run /test/i2c_loop "$stub" 0x50 100      # warm-up
run /test/i2c_loop "$virtio" 0x50 100
echo "BENCH stub"; run /test/i2c_loop "$stub" 0x50 @N@
echo "BENCH virtio"; run /test/i2c_loop "$virtio" 0x50 @N@
""".replace("@N@", str(N))


def build_loop(out: Path) -> Path:
    src = Path(__file__).with_name("guest") / "i2c_loop.c"
    subprocess.run(["aarch64-linux-gnu-gcc", "-static", "-O2", "-std=c11", "-Wall", "-Wextra",
                    "-Werror", "-D_GNU_SOURCE", "-o", str(out), str(src)], check=True)
    return out


def measure(images: dict, loop: Path, packed: bool, tmp: Path) -> dict[str, tuple]:
    board = tmp / "board.conf"
    board.write_text(vbtest.board_text(packed=packed))
    server = vbtest.Server(board, tmp / "run", name="virtiobox-bench")
    try:
        result = run_plain(GUEST, vbtest.qemu_args(server.sock, "mmio", packed), timeout=300,
                           files={"/test/i2c_loop": File(path=loop, mode=0o755),
                                  "/test/i2c-stub.ko": File(path=images["i2c_stub"],
                                                            mode=0o644)})
        rows_rss = _rss_kib(server.proc.proc.pid)
    finally:
        server.stop()
    result.check()
    rows, label = {}, None
    for line in result.console.splitlines():
        if line.startswith("BENCH "):
            label = line.split()[1]
        m = LOOP_RE.search(line)
        if m and label:
            n, total, p50, p99 = (int(v) for v in m.groups()[1:])
            rows[label] = (n, total, p50, p99)
            label = None
    if set(rows) != {"stub", "virtio"}:
        raise SystemExit(f"bench_i2c_guest: missing results in the console:\n{result.console}")
    rows["rss"] = rows_rss
    return rows


def _rss_kib(pid: int) -> tuple[int, int]:
    """virtiobox's resident and peak resident memory (KiB), from /proc."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()[0] if value.split() else "0"
    return int(fields.get("VmRSS", 0)), int(fields.get("VmHWM", 0))


def main() -> int:
    images = ensure_images("kernel", "guest")
    print(f"virtio-i2c end to end: guest i2c_loop, {N} SMBus byte reads per row, "
          "QEMU TCG, mmio transport")
    print(f"{'path':<24} {'transfers/s':>12} {'us/transfer':>12} {'p50 us':>9} {'p99 us':>9} "
          f"{'x stub':>8}")
    with tempfile.TemporaryDirectory(prefix="vb-bench-") as d:
        loop = build_loop(Path(d) / "i2c_loop")
        for packed in (False, True):
            tmp = Path(d) / ("packed" if packed else "split")
            tmp.mkdir()
            rows = measure(images, loop, packed, tmp)
            base = rows["stub"][1] / rows["stub"][0]
            for label, (n, total, p50, p99) in (("i2c-stub (baseline)", rows["stub"]),
                                                (f"virtiobox {tmp.name} ring", rows["virtio"])):
                per = total / n
                print(f"{label:<24} {1e9 / per:>12.0f} {per / 1e3:>12.1f} {p50 / 1e3:>9.1f} "
                      f"{p99 / 1e3:>9.1f} {per / base:>8.2f}", flush=True)
            rss, hwm = rows["rss"]
            print(f"{'':<24} virtiobox after the run: RSS {rss} KiB, peak {hwm} KiB "
                  "(one i2c device, guest memory mappings included)")
    for binary in (vbtest.VIRTIOBOX, REPO / "build" / "aarch64-release" / "main" / "virtiobox"):
        if binary.is_file():
            print(f"binary {binary.relative_to(REPO)}: {binary.stat().st_size // 1024} KiB "
                  "(with debug info)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
