"""The sandbox of a running virtiobox (board/sandbox.c): by default its
threads run under the seccomp filter (Seccomp: 2, filter mode, in
/proc/<pid>/status) while a real QEMU guest uses the device; with a user
and group it serves as them, every thread, no capabilities left, and the
device opened as root before the change is still served; --no-seccomp and
`seccomp = false` serve unfiltered. That a forbidden call is refused is
proven by test/unit/test_sandbox.c (execve, fork, AF_INET sockets, setuid
in a filtered child)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import vbtest
from harness import run_plain

NOBODY = 65534


def _serve_guest(server, report, what: str) -> None:
    result = report(run_plain(vbtest.GUEST_SCRIPT, vbtest.qemu_args(server.sock), timeout=90),
                    what)
    result.check()
    saw = vbtest.observations(result.console)
    for key, value in vbtest.EXPECTED.items():
        assert saw.get(key) == value, f"{key}: expected {value!r}, saw {saw.get(key)!r}"


def _threads(pid: int) -> list[Path]:
    return sorted(Path(f"/proc/{pid}/task").iterdir())


def test_filter_on_by_default(images, serve, report):
    server = serve(vbtest.board_text())
    server.wait_ready()
    status = server.proc_status()
    assert status["Seccomp"] == "2", status
    assert status["NoNewPrivs"] == "1", status
    _serve_guest(server, report, "under the filter")
    # Every thread, including those started before the filter (TSYNC).
    for task in _threads(server.proc.proc.pid):
        assert "Seccomp:\t2" in (task / "status").read_text(), task
    assert "no system call filter" not in server.log()


@pytest.mark.skipif(os.geteuid() != 0, reason="changing user needs root")
def test_privilege_drop(images, serve, report):
    text = f'user = "{NOBODY}";\ngroup = "{NOBODY}";\n' + vbtest.board_text()
    server = serve(text)
    server.wait_ready()
    status = server.proc_status()
    assert status["Uid"].split() == [str(NOBODY)] * 4, status
    assert status["Gid"].split() == [str(NOBODY)] * 4, status
    assert status["Groups"].split() == [str(NOBODY)], status
    assert status["CapEff"] == "0" * 16 and status["CapPrm"] == "0" * 16, status
    assert status["Seccomp"] == "2", status
    for task in _threads(server.proc.proc.pid):
        assert f"Uid:\t{NOBODY}\t" in (task / "status").read_text(), task
    _serve_guest(server, report, "as nobody")


def test_privilege_drop_command_line_overrides(serve):
    server = serve(vbtest.board_text(), args=("--user", "root", "--group", "0"))
    server.wait_ready()
    status = server.proc_status()
    assert status["Uid"].split()[0] == "0" and status["Gid"].split()[0] == "0", status


def test_unknown_user_stops_start_up(tmp_path):
    board = tmp_path / "b.conf"
    board.write_text('user = "no-such-user-vb";\n' + vbtest.board_text())
    proc = vbtest.HostProcess([str(vbtest.VIRTIOBOX), "--board", str(board),
                               "--runtime-dir", str(tmp_path / "run")], "virtiobox-nouser")
    assert proc.proc.wait(timeout=10) == 1
    log = proc.log_path.read_text()
    assert 'error: sandbox: user "no-such-user-vb": not in /etc/passwd' in log, log
    assert "ready" not in log, log


@pytest.mark.parametrize("how", ["command-line", "board"])
def test_opt_out(serve, how):
    text = vbtest.board_text()
    args: tuple[str, ...] = ()
    if how == "board":
        text = "seccomp = false;\n" + text
    else:
        args = ("--no-seccomp",)
    server = serve(text, args=args)
    server.wait_ready()
    assert server.proc_status()["Seccomp"] == "0"
    assert "(no system call filter)" in server.log()
