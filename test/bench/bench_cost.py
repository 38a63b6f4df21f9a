#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The stripped static aarch64 binary's size, and instructions per
request counted by callgrind (deterministic, so commits can be compared):
the i2c request path of bench_i2c_cost (a 3-descriptor read request to a
simulated register chip over gmem_mmap, the vhost-user memory seam; only
the measured kicks counted) and bench_vq's single-thread ring rows.
Printed with the git commit. It prints numbers and asserts nothing about
speed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "build" / "host-release" / "bench"
KICKS = 1000

LINE_RE = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+?):(\S+)")

# Self cost grouped by where the code lives: the stages of one request.
STAGES = (
    ("ring layer (core/vq*.c: fetch, walk, convert, push, flush)", ("core/vq",)),
    ("memory seam (core/gmem*.c: map, translate, unmap)", ("core/gmem",)),
    ("copies (core/iov.[ch], libc memcpy)", ("core/iov", "memmove", "memcpy", "memset")),
    ("i2c model and simulated chip (devices/)", ("devices/",)),
    ("device core (core/virtio_dev.c)", ("core/virtio_dev.c",)),
)


def commit() -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO,
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        return out.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def callgrind(args: list[str], toggle: str, tmp: Path) -> tuple[int, list, str]:
    """Run args under callgrind counting only inside toggle; the total,
    (cost, file, function) self-cost rows and the program's stdout."""
    out = tmp / "cg.out"
    res = subprocess.run(["valgrind", "--tool=callgrind", f"--toggle-collect={toggle}",
                          f"--callgrind-out-file={out}", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        raise SystemExit(f"bench_cost: {' '.join(args)} failed:\n{res.stderr}")
    ann = subprocess.run(["callgrind_annotate", "--threshold=100", str(out)], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    total, rows = 0, []
    for line in ann.splitlines():
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
            continue
        m = LINE_RE.match(line)
        if m:
            rows.append((int(m.group(1).replace(",", "")), m.group(2), m.group(3)))
    out.unlink()
    return total, rows, res.stdout


def i2c_rows(tmp: Path) -> None:
    print(f"i2c request path, instructions per request (callgrind), commit {commit()}")
    print(f"{'ring':<7} {'per kick':>8} {'instr/req':>10} {'alloc/req':>10}")
    breakdown = None
    for ring in ("split", "packed"):
        for batch in (1, 16, 64):
            total, rows, stdout = callgrind(
                [str(BENCH / "bench_i2c_cost"), ring, str(batch), str(KICKS)],
                "bench_i2c_cost_kick", tmp)
            m = re.search(r"requests=(\d+) allocs=(\d+)", stdout)
            reqs, allocs = int(m.group(1)), int(m.group(2))
            print(f"{ring:<7} {batch:>8} {total / reqs:>10.0f} {allocs / reqs:>10.3f}",
                  flush=True)
            if ring == "split" and batch == 16:
                breakdown = (total, rows, reqs)
    total, rows, reqs = breakdown
    print("split, 16 per kick, by stage (self instructions per request):")
    seen = 0
    for name, keys in STAGES:
        cost = sum(c for c, f, fn in rows if any(k in f or k in fn for k in keys))
        seen += cost
        print(f"  {name:<62} {cost / reqs:>6.0f}")
    print(f"  {'other (libc clock_gettime, ...)':<62} {(total - seen) / reqs:>6.0f}")
    print(f"  {'total':<62} {total / reqs:>6.0f}")


def vq_rows(tmp: Path) -> None:
    exe = BENCH / "bench_vq"
    print(f"ring layer alone, one thread, instructions per request (callgrind), "
          f"commit {commit()}")
    print(f"{'chain':>5} {'batch':>5} {'split':>8} {'packed':>8} {'packed/split':>13}")
    for chain in (1, 3):
        for batch in (1, 16, 64):
            per = {}
            for ring in ("split", "packed"):
                total, _, stdout = callgrind(
                    [str(exe), "--single", ring, str(chain), str(batch), str(KICKS)],
                    "bench_vq_device_round", tmp)
                reqs = int(re.search(r"requests=(\d+)", stdout).group(1))
                per[ring] = total / reqs
            print(f"{chain:>5} {batch:>5} {per['split']:>8.0f} {per['packed']:>8.0f} "
                  f"{per['packed'] / per['split']:>13.2f}", flush=True)


def footprint() -> None:
    binary = REPO / "build" / "aarch64-release" / "main" / "virtiobox"
    strip = shutil.which("aarch64-linux-gnu-strip")
    if not binary.is_file() or not strip:
        print("footprint: no aarch64 binary or aarch64-linux-gnu-strip: skipped")
        return
    with tempfile.TemporaryDirectory(prefix="vb-strip-") as d:
        out = Path(d) / "virtiobox"
        subprocess.run([strip, "-o", str(out), str(binary)], check=True)
        size = out.stat().st_size
    print(f"footprint: static aarch64 virtiobox, stripped: {size} bytes "
          f"({size / 1048576:.2f} MiB; every device model and the Xen code linked), "
          f"commit {commit()}")


def main() -> int:
    footprint()
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        print("bench_cost: valgrind not installed (setup.sh installs it): skipped")
        return 0
    with tempfile.TemporaryDirectory(prefix="vb-cost-") as d:
        i2c_rows(Path(d))
        vq_rows(Path(d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
