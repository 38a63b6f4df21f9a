"""`virtiobox i2c`: vhost-device-i2c's command line. On the host (no i2c
adapters): the printed board, refusals, the missing adapter. In a guest
with i2c-stub: the adapter found by its sysfs name, opened, and served on
vhost-device-i2c's socket name (PATH0)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import vbtest
from harness import File, run_plain

AARCH64 = vbtest.REPO / "build" / "aarch64-release" / "main" / "virtiobox"


def run(*args, cwd=None):
    return subprocess.run([str(vbtest.VIRTIOBOX), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=30, cwd=cwd)


def test_help_lists_options_and_refusals(virtiobox_bin):
    r = run("i2c", "--help")
    assert r.returncode == 0, r.stderr
    for opt in ("-s, --socket-path PATH", "-c, --socket-count N", "-l, --device-list LIST",
                "--print-board", "-v, --verbose", "-h, --help"):
        assert f"\n  {opt}\n" in r.stdout, r.stdout
    assert r.stdout.index("that virtiobox refuses:") < r.stdout.index("-V, --version")


def test_print_board_is_a_board_file(virtiobox_bin, tmp_path):
    """The printed board, saved as a file, is what `virtiobox check`
    validates: with the bus pointed at a character device that exists here
    (this host has no i2c adapter), it describes the same device."""
    r = run("i2c", "-s", "vi2c.sock", "-l", "1:32:80", "--print-board", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert 'bus = "/dev/i2c-1";' in r.stdout
    board = tmp_path / "board.conf"
    board.write_text(r.stdout)
    r = vbtest.check_board(board)
    assert r.returncode == 1
    assert r.stderr == (f"virtiobox: {board}:13: guests[0].devices[0].bus: "
                        "/dev/i2c-1: No such file or directory\n")
    board.write_text(board.read_text().replace('"/dev/i2c-1"', '"/dev/null"'))
    r = vbtest.check_board(board)
    assert r.returncode == 0, r.stderr
    assert f"i2c0: virtio-i2c (device id 34), vhost-user socket {tmp_path}/vi2c.sock0" in r.stdout
    assert "allow-list: 0x20 0x50" in r.stdout
    assert "valid: 1 guest(s), 1 device(s) would be served" in r.stdout


def test_missing_adapter_serves_nothing(virtiobox_bin, tmp_path):
    r = run("i2c", "--socket-path", "vi2c.sock", "--device-list", "9:80", cwd=tmp_path)
    assert r.returncode == 1
    assert "guests[0].devices[0].bus: /dev/i2c-9: No such file or directory" in r.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args,message", [
    (["-s", "x", "-l", "1:32", "-V"], "--version is not implemented: it prints "
                                      "vhost-device-i2c's version"),
    (["-s", "x", "-c", "3", "-l", "1:32"], "--socket-count 3: vhost-device-i2c gives every "
                                           "guest the same chips"),
    (["-s", "x", "-l", "1:32,2:33"], "--device-list names 2 buses"),
    (["-s", "x", "-l", "1:0x20"], "--device-list: \"0x20\" is not a decimal address"),
    (["-s", "x", "-l", "1:32", "--runtime-dir", "/tmp"], "unknown option '--runtime-dir'"),
    (["-l", "1:32"], "--socket-path is required"),
])
def test_refusals(virtiobox_bin, args, message):
    r = run("i2c", *args)
    assert r.returncode == 2
    assert r.stderr.startswith("virtiobox i2c: ") and message in r.stderr, r.stderr
    assert not r.stdout


GUEST = r"""
run insmod /test/i2c-stub.ko chip_addr=0x50
adapter=$(ls /sys/class/i2c-dev)
echo "VB-SAW adapter: $adapter $(cat /sys/bus/i2c/devices/$adapter/name)"
cd /tmp
/virtiobox i2c -s vi2c.sock -l "SMBus stub driver:80" --print-board > board.conf || fail "print-board"
echo "VB-SAW bus line: $(grep 'bus = ' board.conf)"
/virtiobox i2c --socket-path=vi2c.sock --device-list="SMBus stub driver:80" > serve.log 2>&1 &
pid=$!
wait_for 10 test -S /tmp/vi2c.sock0
kill -TERM $pid
wait $pid
echo "VB-SAW exit: $?"
cat serve.log
"""


def test_serves_i2c_stub_by_name(images):
    if not AARCH64.is_file():
        pytest.skip(f"{AARCH64} is built by `scons test`")
    result = run_plain(GUEST, timeout=90, files={
        "/virtiobox": File(path=AARCH64, mode=0o755),
        "/test/i2c-stub.ko": File(path=images["i2c_stub"], mode=0o644),
    })
    result.check()
    saw = vbtest.observations(result.console)
    n = saw["adapter"].split()[0]
    assert saw["adapter"] == f"{n} SMBus stub driver"
    assert saw["bus line"] == f'bus = "/dev/{n}";  # adapter "SMBus stub driver" when this was written'
    assert saw["exit"] == "0", result.console[-3000:]
    assert "waiting for a vhost-user front-end on /tmp/vi2c.sock0" in result.console
    assert "ready: serving 1 device(s) of virtiobox i2c" in result.console
