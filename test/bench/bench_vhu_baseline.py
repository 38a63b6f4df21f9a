#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""virtiobox against QEMU's libvhost-user, driven by the same vhost-user
front-end (bench_vhu --compare): same ring size, features and requests.

The baseline is built here, at bench time, and never committed: Debian's
qemu 7.2 source package (apt-get source, deb-src of bookworm), its
subprojects/libvhost-user, and the project's own i2c back-end on top of it
(test/bench/lvu_i2c.c). The binary is cached in
<cache>/libvhost-user/<key>/lvu_i2c (<cache>: $VIRTIOBOX_CACHE, else
~/.cache/virtiobox), the key naming the source version and hashing
lvu_i2c.c. Without the source (no deb-src, no archive), the table has
virtiobox's rows alone. It prints numbers and asserts nothing about speed."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "build" / "host-release" / "bench" / "bench_vhu"
VIRTIOBOX = REPO / "build" / "host-release" / "main" / "virtiobox"
LVU_SRC = Path(__file__).with_name("lvu_i2c.c")
SERIES = "1:7.2+"  # Debian bookworm's qemu


def cache_dir() -> Path:
    return Path(os.environ.get("VIRTIOBOX_CACHE") or Path.home() / ".cache" / "virtiobox")


def source_version() -> str | None:
    """The newest qemu 7.2 source version the apt lists name."""
    res = subprocess.run(["apt-cache", "showsrc", "qemu"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    versions = [v for v in re.findall(r"^Version: (\S+)", res.stdout, re.M)
                if v.startswith(SERIES)]
    if not versions:
        return None

    def newer(a: str, b: str) -> int:
        return 1 if subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0 \
            else -1

    return max(versions, key=functools.cmp_to_key(newer))


def build(version: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="vb-lvu-") as d:
        subprocess.run(["apt-get", "source", "--download-only", f"qemu={version}"], cwd=d,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dsc = next(Path(d).glob("qemu_*.dsc"))
        # dpkg-source applies Debian's patches on the upstream tarball.
        subprocess.run(["dpkg-source", "--no-check", "-x", dsc.name, "src"], cwd=d,
                       check=True, stdout=subprocess.DEVNULL)
        lib = Path(d) / "src" / "subprojects" / "libvhost-user"
        tmp = out.with_suffix(".tmp")
        subprocess.run(["gcc", "-O2", "-g", "-std=gnu99", "-D_GNU_SOURCE", f"-I{lib}",
                        f"-I{lib / 'include'}", "-o", str(tmp), str(LVU_SRC),
                        str(lib / "libvhost-user.c"), "-pthread"], check=True)
        tmp.rename(out)


def baseline() -> Path | None:
    version = source_version()
    if not version:
        print("bench_vhu_baseline: no qemu 7.2 source in the apt lists "
              "(deb-src of bookworm, apt-get update): virtiobox alone")
        return None
    key = "%s-%s" % (re.sub(r"[^\w.+-]", "_", version),
                     hashlib.sha256(LVU_SRC.read_bytes()).hexdigest()[:12])
    where = cache_dir() / "libvhost-user" / key
    where.mkdir(parents=True, exist_ok=True)
    binary = where / "lvu_i2c"
    with open(where / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.is_file():
            print(f"bench_vhu_baseline: building libvhost-user of qemu {version} "
                  f"into {where}", flush=True)
            try:
                build(version, binary)
            except (OSError, subprocess.CalledProcessError, StopIteration) as e:
                print(f"bench_vhu_baseline: cannot build the baseline ({e}): virtiobox alone")
                return None
    print(f"libvhost-user baseline: Debian qemu {version}, {binary}", flush=True)
    return binary


def main() -> int:
    if not shutil.which("apt-cache") or not shutil.which("gcc"):
        base = None
    else:
        base = baseline()
    return subprocess.run([str(BENCH), "--compare", str(VIRTIOBOX),
                           str(base) if base else "-"], cwd=REPO).returncode


if __name__ == "__main__":
    sys.exit(main())
