"""The cached artefacts: warm builds are instant, and what the scenarios
rely on is really in them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from harness.images import BUILD_SH

FRAGMENT = Path(__file__).resolve().parents[1] / "images" / "kernel.config"


def test_warm_build_is_instant(images):
    start = time.monotonic()
    out = subprocess.run([str(BUILD_SH), "all"], check=True, capture_output=True, text=True).stdout
    took = time.monotonic() - start
    print(f"warm build.sh all: {took:.1f} s")
    assert took < 15, f"a warm build.sh all took {took:.1f} s"
    paths = dict(line.split("=", 1) for line in out.splitlines())
    for name in ("kernel", "i2c_stub", "xen", "xen_debian", "xen_userland", "guest", "dom0",
                 "xsm_policy"):
        assert Path(paths[name]).exists(), f"{name}: {paths[name]} missing"


def test_unknown_target_is_refused():
    proc = subprocess.run([str(BUILD_SH), "kernal"], capture_output=True, text=True)
    assert proc.returncode != 0 and "unknown target 'kernal'" in proc.stderr


def test_kernel_config_has_every_fragment_option(images):
    config = set(images["kernel_config"].read_text().splitlines())
    wanted = [line for line in FRAGMENT.read_text().splitlines() if line.startswith("CONFIG_")]
    assert "CONFIG_I2C_STUB=m" in wanted and "CONFIG_KALLSYMS=y" in wanted
    assert [line for line in wanted if line not in config] == []


def test_xen_has_ioreq_server(images):
    config = (images["xen"].parent / ".config").read_text().splitlines()
    assert "CONFIG_IOREQ_SERVER=y" in config and "CONFIG_EXPERT=y" in config


def test_package_closures(images):
    dom0 = (images["dom0"].parent / "packages").read_text()
    guest = (images["guest"].parent / "packages").read_text()
    for pkg in ("xen-utils-4.20", "libxenmisc4.20", "libgcc-s1", "libc6", "busybox-static",
                "i2c-tools", "libi2c0", "gpiod", "libgpiod2"):
        assert f"\n{pkg} " in "\n" + dom0, f"dom0 image lacks {pkg}"
    for pkg in ("busybox-static", "i2c-tools", "gpiod", "socat", "libssl3", "libgcc-s1", "libc6"):
        assert f"\n{pkg} " in "\n" + guest, f"guest image lacks {pkg}"
    assert " trixie" in dom0.split("\nlibc6 ")[1].splitlines()[0], "dom0's libc6 is not trixie's"


def test_check_sources_finds_every_pinned_file():
    """The archive still serves every file pins.txt pins (a vanished input
    is then caught before anything is built)."""
    sys.path.insert(0, str(BUILD_SH.parent))
    import pins

    proc = subprocess.run([str(BUILD_SH), "--check-sources"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status = {}
    for line in proc.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1].startswith("debian"):
            status[fields[1]] = fields[0]
    pinned = [p.path for p in pins.load()]
    assert sorted(status) == sorted(pinned)
    assert {s for s in status.values()} == {"ok"}, [p for p, s in status.items() if s != "ok"]
    assert f"check-sources: {len(pinned)} pinned files, 0 a build cannot get" in proc.stdout


def test_a_pin_change_rebuilds_exactly_what_uses_it(images, tmp_path):
    """Each artefact's cache key holds the pin lines it used: changing a
    line only the guest image uses gives the guest a new key and leaves
    Xen's alone."""
    manifest = (BUILD_SH.parent / "pins.txt").read_text().splitlines()
    i = next(n for n, line in enumerate(manifest) if line.split()[:1] == ["guest,dom0"])
    manifest[i] = manifest[i].replace("guest,dom0", "guest", 1)
    changed = tmp_path / "pins.txt"
    changed.write_text("\n".join(manifest) + "\n")

    def artefact(script, pins_file=None):
        env = dict(os.environ, **({"VIRTIOBOX_PINS": str(pins_file)} if pins_file else {}))
        return subprocess.run([str(BUILD_SH.parent / script)], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    assert artefact("xen.sh", changed) == artefact("xen.sh")
    guest = artefact("guest.sh")
    assert guest == str(images["guest"].parent)
    assert artefact("guest.sh", changed) != guest
