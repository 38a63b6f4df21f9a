"""systemd integration without systemd: the real virtiobox started as a
Type=notify service would be, with $NOTIFY_SOCKET naming a datagram socket
the test owns (a path or an abstract '@' name), and with stderr as a
"journal" stream named by $JOURNAL_STREAM."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import vbtest
from harness import HostProcess

TWO_GUESTS = """
name = "two";
guests = (
  { domain = "a"; transport = "vhost-user";
    devices = ( { type = "i2c"; socket = "a0.sock"; bus = "sim";
                  chips = ( { type = "24c02"; address = 0x50; } ); },
                { type = "i2c"; socket = "a1.sock"; bus = "sim";
                  chips = ( { type = "regs"; address = 0x1c; size = 4; } ); } ); },
  { domain = "b"; transport = "vhost-user";
    devices = ( { type = "i2c"; socket = "b0.sock"; bus = "sim";
                  chips = ( { type = "24c02"; address = 0x51; } ); } ); }
);
"""
SOCKETS = ("a0.sock", "a1.sock", "b0.sock")


class Manager:
    """The service manager's end: a bound AF_UNIX datagram socket."""

    def __init__(self, address: str):
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)

    def recv(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(4096).decode()
        except socket.timeout:
            return None

    def close(self):
        self.sock.close()


def listens(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


def start(tmp_path: Path, text: str, notify: str) -> HostProcess:
    board = tmp_path / "board.conf"
    board.write_text(text)
    return HostProcess([str(vbtest.VIRTIOBOX), "--board", str(board), "--runtime-dir",
                        str(tmp_path / "run")], "virtiobox-notify",
                       env={"NOTIFY_SOCKET": notify})


def check_ready_after_listen(tmp_path: Path, address: str):
    manager = Manager(address)
    proc = start(tmp_path, TWO_GUESTS, address)
    try:
        msg = manager.recv(10)
        # Checked the moment READY=1 arrives: every socket already listens.
        listening = {name: listens(tmp_path / "run" / name) for name in SOCKETS}
        assert msg is not None, f"no notification within 10 s:\n{proc.output()}"
        assert msg.split("\n") == ["READY=1", "STATUS=serving 3 devices for 2 guests"], msg
        assert all(listening.values()), listening
        assert proc.alive()
        assert manager.recv(0.2) is None, "one datagram only"
    finally:
        status = proc.stop()
    assert status == 0, proc.log_path.read_text()
    assert manager.recv(5) == "STOPPING=1\nSTATUS=stopping"
    manager.close()


def test_ready_only_after_every_socket_listens(virtiobox_bin, tmp_path):
    check_ready_after_listen(tmp_path, str(tmp_path / "notify"))


def test_ready_on_abstract_socket(virtiobox_bin, tmp_path):
    check_ready_after_listen(tmp_path, f"@vb-notify-test-{os.getpid()}-{time.monotonic_ns()}")


def test_no_ready_when_a_host_device_fails(virtiobox_bin, tmp_path):
    """The second device's bus is a character device that is no i2c
    adapter: the first socket was already listening, yet READY=1 must
    never come, and virtiobox exits 1."""
    text = TWO_GUESTS.replace('socket = "b0.sock"; bus = "sim";',
                              'socket = "b0.sock"; bus = "/dev/null"; addresses = [ 0x51 ];')
    text = text.replace('chips = ( { type = "24c02"; address = 0x51; } ); } ); }', "} ); }")
    address = str(tmp_path / "notify")
    manager = Manager(address)
    proc = start(tmp_path, text, address)
    try:
        proc.proc.wait(timeout=10)
        output = proc.output()
    finally:
        proc.stop()
    assert proc.proc.returncode == 1, output
    assert "guests[1].devices[0].bus: cannot use /dev/null" in output
    assert manager.recv(0.5) is None, "READY=1 sent for a board that failed"
    manager.close()


def test_no_notify_socket_still_serves(virtiobox_bin, tmp_path):
    proc = start(tmp_path, TWO_GUESTS, "")
    try:
        proc.wait_for_path(tmp_path / "run" / "b0.sock")
        assert proc.alive()
    finally:
        status = proc.stop()
    assert status == 0, proc.log_path.read_text()
    assert "cannot notify" not in proc.log_path.read_text()


def test_unreachable_notify_socket_is_a_warning(virtiobox_bin, tmp_path):
    proc = start(tmp_path, TWO_GUESTS, str(tmp_path / "nobody"))
    try:
        proc.wait_for_path(tmp_path / "run" / "b0.sock")
        time.sleep(0.3)
        assert proc.alive()
    finally:
        status = proc.stop()
    log = proc.log_path.read_text()
    assert status == 0, log
    assert (f"virtiobox: warning: cannot notify the service manager at "
            f"NOTIFY_SOCKET={tmp_path}/nobody: No such file or directory") in log


def test_journal_priority_prefixes(virtiobox_bin, tmp_path):
    """With stderr being the stream $JOURNAL_STREAM names, every line starts
    with its syslog priority; the same variable inherited by a process
    whose stderr is elsewhere changes nothing."""
    board = tmp_path / "board.conf"
    board.write_text(TWO_GUESTS)
    log = tmp_path / "journal"
    with open(log, "wb") as f:
        st = os.fstat(f.fileno())
        stream = f"{st.st_dev}:{st.st_ino}"
        proc = subprocess.Popen([str(vbtest.VIRTIOBOX), "--board", str(board),
                                 "--runtime-dir", str(tmp_path / "run")],
                                stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                                env={**os.environ, "JOURNAL_STREAM": stream})
        try:
            end = time.monotonic() + 10
            while "ready:" not in log.read_text() and time.monotonic() < end:
                time.sleep(0.05)
        finally:
            proc.terminate()
            assert proc.wait(timeout=10) == 0
    lines = log.read_text().splitlines()
    assert lines, "nothing logged"
    assert all(line.startswith("<6>info: ") for line in lines), lines
    assert any(line.startswith("<6>info: ready: serving 3 device(s)") for line in lines), lines

    with open(log, "wb") as f:
        st = os.fstat(f.fileno())
        r = subprocess.run([str(vbtest.VIRTIOBOX), "--board", str(tmp_path / "none.conf")],
                           stdout=f, stderr=f, env={**os.environ,
                                                    "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    assert r.returncode == 1
    assert log.read_text() == f"<3>{tmp_path}/none.conf: cannot read: No such file or directory\n"

    r = subprocess.run([str(vbtest.VIRTIOBOX), "--board", str(tmp_path / "none.conf")],
                       stderr=subprocess.PIPE, text=True,
                       env={**os.environ, "JOURNAL_STREAM": stream})
    assert r.stderr.startswith("virtiobox: "), r.stderr
