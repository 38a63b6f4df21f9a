"""The Debian package: `dpkg-buildpackage -b -us -uc` and `dpkg-buildpackage
-aarm64 -b -us -uc` on a copy of the source tree build virtiobox_*_amd64.deb
(dynamic) and virtiobox_*_arm64.deb (the static binary); both hold the
program, the unit, the man pages and the example boards, and lintian
(--pedantic --info) reports nothing but the one explained override."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import vbtest

FILES = [
    "./lib/systemd/system/virtiobox@.service",
    "./usr/sbin/virtiobox",
    "./usr/share/doc/virtiobox/changelog.gz",
    "./usr/share/doc/virtiobox/copyright",
    "./usr/share/doc/virtiobox/examples/flask/virtiobox.te",
    "./usr/share/doc/virtiobox/examples/host-adapter.conf",
    "./usr/share/doc/virtiobox/examples/host-sim.conf",
    "./usr/share/lintian/overrides/virtiobox",
    "./usr/share/man/man5/virtiobox-board.5.gz",
    "./usr/share/man/man8/virtiobox.8.gz",
]


def source_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files: the tree as it is."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=vbtest.REPO, stdout=subprocess.PIPE, text=True, check=True).stdout
    return sorted({f for f in out.splitlines() if (vbtest.REPO / f).exists()})


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    for tool in ("dpkg-buildpackage", "dh", "lintian", "aarch64-linux-gnu-gcc"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is missing: run setup.sh")
    if not Path("/opt/virtiobox/arm64-xen/.version").is_file():
        pytest.skip("Xen's arm64 archives are unpacked by setup.sh")
    top = tmp_path_factory.mktemp("deb")
    src = top / "virtiobox"
    for f in source_files():
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(vbtest.REPO / f, src / f)
    env = {**os.environ, "DEB_BUILD_OPTIONS": "parallel=2"}
    for args in (["-b"], ["-aarm64", "-b"]):
        r = subprocess.run(["dpkg-buildpackage", *args, "-us", "-uc"], cwd=src, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=900)
        assert r.returncode == 0, r.stdout[-5000:]
    version = subprocess.run(["dpkg-parsechangelog", "-S", "Version"], cwd=src,
                             stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    return top, version


def field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], stdout=subprocess.PIPE,
                          text=True, check=True).stdout.strip()


def contents(deb: Path) -> list[str]:
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    return sorted(line.split()[5] for line in out.splitlines() if not line.startswith("d"))


def test_version_matches_sconstruct(debs):
    _, version = debs
    assert re.search(rf"^VERSION = '{re.escape(version)}'$",
                     (vbtest.REPO / "SConstruct").read_text(), re.M), version


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_package_contents(debs, arch, tmp_path):
    top, version = debs
    deb = top / f"virtiobox_{version}_{arch}.deb"
    assert deb.is_file(), sorted(p.name for p in top.iterdir())
    assert field(deb, "Architecture") == arch
    assert contents(deb) == FILES
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    unit = (tmp_path / "lib/systemd/system/virtiobox@.service").read_text()
    assert "\nType=notify\n" in unit
    assert "\nExecStart=/usr/sbin/virtiobox --board /etc/virtiobox/%i.conf" in unit
    assert (tmp_path / "usr/share/doc/virtiobox/examples/host-sim.conf").read_text() == \
        vbtest.HOST_SIM.read_text()
    binary = tmp_path / "usr/sbin/virtiobox"
    kind = subprocess.run(["file", "-b", str(binary)], stdout=subprocess.PIPE, text=True,
                          check=True).stdout
    if arch == "amd64":
        assert "x86-64" in kind and "dynamically linked" in kind, kind
        for dep in ("libconfig9", "libgpiod2", "libxenevtchn1"):
            assert dep in field(deb, "Depends")
        run = [str(binary)]
    else:
        assert "ARM aarch64" in kind and "statically linked" in kind, kind
        assert not field(deb, "Depends")
        built_using = field(deb, "Built-Using")
        for src in ("cross-toolchain-base (= ", "libconfig (= ", "libgpiod (= ", "xen (= "):
            assert src in built_using, built_using
        run = ["qemu-aarch64-static", str(binary)]
    out = subprocess.run(run + ["--version"], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    assert out.startswith(f"virtiobox {version}\n"), out
    machine = "x86_64" if arch == "amd64" else "aarch64"
    static = "dynamic" if arch == "amd64" else "static"
    assert f"build: {machine}, release, {static}, gcc " in out, out


def test_lintian_clean(debs):
    top, version = debs
    changes = [str(top / f"virtiobox_{version}_{a}.changes") for a in ("amd64", "arm64")]
    r = subprocess.run(["lintian", "--pedantic", "--info", "--show-overrides", *changes],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tags = [line for line in r.stdout.splitlines() if re.match(r"^[EWIPXO]: ", line)]
    # The one override, explained in debian/virtiobox.lintian-overrides.
    assert tags == ["O: virtiobox: statically-linked-binary [usr/sbin/virtiobox]"], r.stdout
