#!/usr/bin/env python3
"""Record fuzz_vhost_user seeds from real QEMU 7.2 vhost-user connections.

    test/fuzz/record_vhost_user.py [--out test/fuzz/corpus/fuzz_vhost_user]

For each ring format (split, packed) a native virtiobox serves
board/host-sim.conf, QEMU's vhost-user-i2c front-end connects to it through
a proxy on a unix socket of its own, and the guest runs the integration
tests' i2c script (i2cdetect, EEPROM pages, register words, a refused
address). The proxy relays both directions, fds included, and writes what
the front-end sent, one message (with its fds) per chunk, in fuzz_vhost_user's input
format: u8 fds (bits 0-1 the fd count, at most 3; bit 2 set when they are
eventfds rather than guest memory), u16 little-endian length, the bytes.
The harness replays those chunks against its own small guest memory, so
the seeds carry QEMU's real message order, sizes, flags and fd counts.

Needs the host virtiobox (scons) and the test images (built on first use).
"""

from __future__ import annotations

import argparse
import array
import os
import socket
import struct
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test"))
sys.path.insert(0, str(ROOT / "test" / "integration"))

import vbtest  # noqa: E402
from harness import run_plain  # noqa: E402

MAX_FDS = 8


def recv_exact(sock: socket.socket, n: int, fds: array.array) -> bytes:
    """n bytes (b"" at EOF), collecting any fds that ride with them."""
    out = b""
    while len(out) < n:
        data, anc, _, _ = sock.recvmsg(n - len(out), socket.CMSG_SPACE(MAX_FDS * fds.itemsize))
        if not data:
            return b""
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        out += data
    return out


def recv(sock: socket.socket) -> tuple[bytes, list[int]]:
    """One vhost-user message (12-byte header, then its payload size) and
    its fds, as the sender's one sendmsg carried them."""
    fds = array.array("i")
    hdr = recv_exact(sock, 12, fds)
    if not hdr:
        return b"", list(fds)
    size = struct.unpack_from("<I", hdr, 8)[0]
    body = recv_exact(sock, size, fds) if size else b""
    if size and not body:
        return b"", list(fds)
    return hdr + body, list(fds)


def is_eventfd(fd: int) -> bool:
    return "eventfd" in os.readlink(f"/proc/self/fd/{fd}")


class Proxy:
    """QEMU connects at path; each of its connections is relayed to
    target and its front-end half recorded."""

    def __init__(self, path: Path, target: Path):
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(1)
        self.target = target
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _relay(self, src, dst, record: bool) -> None:
        try:
            self._relay_loop(src, dst, record)
        except Exception as e:  # a relay that dies would hang QEMU: say why
            print(f"record_vhost_user: relay failed: {e!r}", file=sys.stderr)
            raise

    def _relay_loop(self, src, dst, record: bool) -> None:
        while True:
            try:
                data, fds = recv(src)
            except OSError:
                data, fds = b"", []
            if not data:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            if record:
                kind = 4 if fds and all(is_eventfd(f) for f in fds) else 0
                self.chunks.append(struct.pack("<BH", min(len(fds), 3) | kind, len(data)) + data)
            dst.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
                        if fds else [])
            for f in fds:
                os.close(f)

    def _run(self) -> None:
        fe, _ = self.listener.accept()
        be = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        be.connect(str(self.target))
        back = threading.Thread(target=self._relay, args=(be, fe, False), daemon=True)
        back.start()
        self._relay(fe, be, True)
        back.join(10)


def record(packed: bool, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="vb-record-") as tmp:
        tmp = Path(tmp)
        board = tmp / "board.conf"
        board.write_text(vbtest.board_text(packed=packed))
        server = vbtest.Server(board, tmp / "run", name="virtiobox-record")
        try:
            proxy = Proxy(tmp / "proxy.sock", server.sock)
            result = run_plain(vbtest.GUEST_SCRIPT,
                               vbtest.qemu_args(tmp / "proxy.sock", "mmio", packed), timeout=120)
            result.check()
            proxy.thread.join(10)
        finally:
            server.stop()
    data = b"".join(proxy.chunks)
    out.write_bytes(data)
    print(f"{out}: {len(proxy.chunks)} chunks, {len(data)} bytes")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "test/fuzz/corpus/fuzz_vhost_user")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for packed in (False, True):
        record(packed, args.out / f"qemu72_i2c_recorded_{'packed' if packed else 'split'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
