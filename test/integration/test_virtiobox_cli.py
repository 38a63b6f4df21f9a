"""The virtiobox command line without a guest: `check`, refusals at start-up
(a board that cannot be served here), the runtime directory, usage errors."""

from __future__ import annotations

import os
import subprocess

import vbtest

XEN_BOARD = """
name = "mixed";
guests = (
  { domain = "sim-guest"; transport = "vhost-user";
    devices = ( { type = "i2c"; socket = "a.sock"; bus = "sim";
                  chips = ( { type = "24c02"; address = 0x50; } ); } ); },
  { domain = "xen-guest"; domid = 5; transport = "xen-mmio";
    devices = ( { type = "i2c"; bus = "sim";
                  chips = ( { type = "regs"; address = 0x1c; size = 4; } ); } ); }
);
"""


def run(*args, env=None, timeout=30):
    return subprocess.run([str(vbtest.VIRTIOBOX), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_check_host_sim(virtiobox_bin, tmp_path):
    r = vbtest.check_board(vbtest.HOST_SIM, tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert 'board "host-sim"' in out
    assert f"vhost-user socket {tmp_path}/sim-guest-i2c0.sock" in out
    assert "virtio-i2c (device id 34)" in out
    assert "allow-list: 0x1c 0x50" in out
    assert "chip 0x50: 24c02 EEPROM, 256 bytes, 4 initial bytes" in out
    assert "chip 0x1c: register file, 16 registers, 3 initial bytes" in out
    assert "valid: 1 guest(s), 1 device(s) would be served" in out
    assert not list(tmp_path.iterdir()), "check must not create sockets"


def test_check_reports_file_line_key(virtiobox_bin, tmp_path):
    board = tmp_path / "bad.conf"
    board.write_text(vbtest.board_text().replace("[ 0x1c, 0x50 ]", "[ 0x1c,\n 0x80 ]"))
    r = vbtest.check_board(board)
    assert r.returncode == 1
    line = next(i for i, text in enumerate(board.read_text().splitlines(), 1) if "0x80" in text)
    assert r.stderr.strip() == (f"virtiobox: {board}:{line}: guests[0].devices[0].addresses[1]: "
                                "0x80 is out of range 0x03..0x77")


def test_xen_mmio_checked_and_needs_xenstore(virtiobox_bin, tmp_path):
    """check describes a xen-mmio guest with the xl.cfg entry of each device;
    serving it needs xenstore, which this host has not: virtiobox says so
    and serves nothing (the Xen side runs in test/system/test_xen.py)."""
    board = tmp_path / "mixed.conf"
    board.write_text(XEN_BOARD)
    r = vbtest.check_board(board, tmp_path)
    assert r.returncode == 0, r.stderr
    assert ('guest "xen-guest" domid 5, transport xen-mmio: virtiobox is its virtio-mmio '
            "transport" in r.stdout), r.stdout
    assert '"type=virtio,device22, transport=mmio"' in r.stdout
    assert "valid: 2 guest(s), 2 device(s) would be served" in r.stdout
    if os.path.exists("/dev/xen/xenbus") or os.path.exists("/run/xenstored/socket"):
        return  # a real Xen domain: the refusal below cannot happen
    r = run("--board", str(board), "--runtime-dir", str(tmp_path / "run"))
    assert r.returncode == 1
    assert "cannot connect to xenstore" in r.stderr, r.stderr
    assert "is xenstored running" in r.stderr
    assert not (tmp_path / "run" / "a.sock").exists(), "nothing may be served"


def test_missing_board_file(virtiobox_bin, tmp_path):
    r = run("--board", str(tmp_path / "none.conf"))
    assert r.returncode == 1
    assert "none.conf: cannot read: No such file or directory" in r.stderr


def test_runtime_dir_from_environment(virtiobox_bin, tmp_path):
    r = run("check", str(vbtest.HOST_SIM), env={"VIRTIOBOX_RUNTIME_DIR": str(tmp_path)})
    assert r.returncode == 0
    assert f"{tmp_path}/sim-guest-i2c0.sock" in r.stdout


def test_serve_creates_runtime_dir_and_exits_0(virtiobox_bin, tmp_path):
    runtime = tmp_path / "new-dir"
    server = vbtest.Server(vbtest.HOST_SIM, runtime)
    try:
        assert oct(runtime.stat().st_mode & 0o777) == "0o700"
        assert server.sock.is_socket()
    finally:
        assert server.stop() == 0, server.log()
    assert not server.sock.exists(), "the socket file is removed at exit"
    assert "stopped" in server.log()


def test_usage_errors(virtiobox_bin):
    assert run().returncode == 2
    r = run("--board")
    assert r.returncode == 2 and "usage:" in r.stderr
    r = run("frobnicate")
    assert r.returncode == 2 and "unexpected argument 'frobnicate'" in r.stderr
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("virtiobox ")
    assert run("--help").returncode == 0
