"""`scons install PREFIX=... DESTDIR=...` and what it installs: the program
(its --version), the systemd unit (its ExecStart runs as a Type=notify
service would), the example boards; unknown build variables are refused."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

import vbtest
from harness import HostProcess

EXPECTED = [
    "sbin/virtiobox",
    "lib/systemd/system/virtiobox@.service",
    "share/doc/virtiobox/examples/host-sim.conf",
    "share/doc/virtiobox/examples/host-adapter.conf",
    "share/doc/virtiobox/examples/flask/virtiobox.te",
    "share/man/man8/virtiobox.8",
    "share/man/man5/virtiobox-board.5",
]


def scons(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["scons", "-Q", *args], cwd=vbtest.REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    r = scons("install", "PREFIX=/usr", f"DESTDIR={dest}")
    assert r.returncode == 0, r.stdout
    return dest


def test_install_layout(staged):
    files = sorted(str(p.relative_to(staged / "usr")) for p in (staged / "usr").rglob("*")
                   if p.is_file())
    assert files == sorted(EXPECTED)
    assert os.access(staged / "usr/sbin/virtiobox", os.X_OK)
    assert (staged / "usr/share/doc/virtiobox/examples/host-sim.conf").read_text() == \
        vbtest.HOST_SIM.read_text()


def test_installed_version(staged):
    out = subprocess.run([str(staged / "usr/sbin/virtiobox"), "--version"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    lines = dict(line.split(": ", 1) for line in out.splitlines()[1:])
    assert out.splitlines()[0] == "virtiobox 0.1.0"
    commit = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"],
                            cwd=vbtest.REPO, stdout=subprocess.PIPE, text=True,
                            check=True).stdout.strip()
    assert lines["commit"] == commit
    for lib in ("libconfig 1.", "libgpiod 1.", "xenevtchn ", "xenforeignmemory "):
        assert lib in lines["built with"], out
    assert lines["build"].startswith(f"{os.uname().machine}, release, dynamic, gcc "), out


def test_unit_file(staged):
    unit = (staged / "usr/lib/systemd/system/virtiobox@.service").read_text()
    assert "\nType=notify\n" in unit
    assert ("\nExecStart=/usr/sbin/virtiobox --board /etc/virtiobox/%i.conf "
            "--runtime-dir /run/virtiobox/%i\n") in unit
    assert "ExecReload" not in unit.replace("no ExecReload", "")
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                        str(staged / "usr/lib/systemd/system/virtiobox@.service")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # The one complaint allowed: the program is staged, not in /usr/sbin.
    problems = [line for line in r.stdout.splitlines()
                if "/usr/sbin/virtiobox is not executable" not in line]
    assert not problems, r.stdout


def test_unit_exec_start_is_a_notify_service(staged, tmp_path):
    """ExecStart with %i, /etc and /run moved into tmp_path, run the way
    systemd would (NOTIFY_SOCKET set): READY=1 comes, with every socket of
    the example board listening in the instance's runtime directory."""
    unit = (staged / "usr/lib/systemd/system/virtiobox@.service").read_text()
    line = next(l for l in unit.splitlines() if l.startswith("ExecStart="))
    argv = line[len("ExecStart="):].replace("%i", "host-sim").split()
    argv = [a.replace("/usr/sbin/", f"{staged}/usr/sbin/").replace("/etc/", f"{tmp_path}/etc/")
            .replace("/run/", f"{tmp_path}/run/") for a in argv]
    (tmp_path / "etc/virtiobox").mkdir(parents=True)
    # What systemd does for RuntimeDirectory= before ExecStart.
    rundir = next(l for l in unit.splitlines() if l.startswith("RuntimeDirectory="))
    (tmp_path / "run" / rundir.split("=", 1)[1].replace("%i", "host-sim")).mkdir(
        parents=True, mode=0o700)
    shutil.copy(staged / "usr/share/doc/virtiobox/examples/host-sim.conf",
                tmp_path / "etc/virtiobox/host-sim.conf")
    manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    manager.bind(str(tmp_path / "notify"))
    manager.settimeout(10)
    proc = HostProcess(argv, "virtiobox-unit", env={"NOTIFY_SOCKET": str(tmp_path / "notify")})
    try:
        msg = manager.recv(4096).decode()
        sock = tmp_path / "run/virtiobox/host-sim" / vbtest.SOCKET_NAME
        assert msg == "READY=1\nSTATUS=serving 1 device for 1 guest"
        assert sock.is_socket()
    finally:
        status = proc.stop()
        manager.close()
    assert status == 0, proc.log_path.read_text()


def test_prefix_reaches_the_unit(tmp_path):
    r = scons("install", "PREFIX=/opt/vb", f"DESTDIR={tmp_path}")
    assert r.returncode == 0, r.stdout
    unit = (tmp_path / "opt/vb/lib/systemd/system/virtiobox@.service").read_text()
    assert "\nExecStart=/opt/vb/sbin/virtiobox --board" in unit
    assert (tmp_path / "opt/vb/sbin/virtiobox").is_file()


def test_unknown_build_variable_is_refused(tmp_path):
    r = scons("install", "PREFIX=/usr", f"DESTDIR={tmp_path}", "PREFX=/opt")
    assert r.returncode == 2
    assert "unknown build variable(s): PREFX (known: CROSS_COMPILE, DESTDIR" in r.stdout
    assert not list(tmp_path.iterdir())
    r = scons("install", "PREFIX=usr", f"DESTDIR={tmp_path}")
    assert r.returncode == 2 and "PREFIX must be an absolute path" in r.stdout
