"""virtio-vsock end to end: QEMU 7.2's vhost-user-vsock front-end and the
guest's unmodified Linux virtio vsock driver (socat in the guest), against
a native virtiobox serving one vsock device whose host side is unix
sockets in the hybrid-vsock protocol.

Proven here, with checksums on both sides:
  - guest -> host STREAM: the guest connects to CID 2 port 5000, which
    reaches the host listener at <uds>_5000; the guest half-closes
    (socat's shutdown at the end of its input), the host reads to EOF and
    answers on the same connection with its digest;
  - host -> guest STREAM: a host program connects to <uds>, sends
    "CONNECT 6000\\n", gets "OK <port>\\n", sends, half-closes, and reads
    the digest the guest computed;
  - a guest connection to a host port nobody listens on is refused (RST);
  - SEQPACKET guest -> host: a static test program (guest/vsock_seq.c)
    sends messages of 1 byte to 100000 bytes; the host's SOCK_SEQPACKET
    listener at <uds>_5001 gets each as one message and echoes it; the
    guest gets each back as one message;
  - 64 concurrent guest -> host connections, each with its own data and
    digest, and 100 MiB guest -> host plus 100 MiB host -> guest on one
    connection each, sha256 on both sides (test_many_connections_and_volume);
  - abrupt close on each side: a guest socat killed with SIGKILL is EOF on
    the host socket; a host closing mid-transfer fails the guest's writer
    instead of hanging it (test_abrupt_close);
  - SEQPACKET host -> guest: a host program on <uds>.seqpacket sends
    "CONNECT 6002\\n" as one message, gets "OK <port>\\n" as one message,
    then messages of 0 bytes to 70000 bytes keep their boundaries in the
    guest, the empty ones as empty messages (not EOF), and the guest's
    echoes come back one message each (test_host_seqpacket_to_guest);
  - two QEMU guests served by one virtiobox, siblings in one group, talk
    to each other by CID (STREAM, half-close, digest; SEQPACKET messages
    of 1 byte to 100000 bytes both ways with MSG_EOR kept on the last),
    and a guest outside the group is refused (STREAM and SEQPACKET).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import re
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

import vbtest
from harness import File, qemu
from harness.scenarios import prepare_plain

SOCKET = "g1-vsock.sock"
UDS = "g1.vsock"
CID = 3
G2H_BYTES = 4 * 1024 * 1024
H2G_BYTES = 4 * 1024 * 1024


def board_text() -> str:
    return f"""
name = "vsock-test";
guests = (
  {{ domain = "g1"; transport = "vhost-user";
    devices = (
      {{ type = "vsock"; socket = "{SOCKET}"; cid = {CID}; uds = "{UDS}"; }}
    ); }}
);
"""


def qemu_args(sock: Path, transport: str = "mmio") -> list[str]:
    device = "vhost-user-vsock-device" if transport == "mmio" else "vhost-user-vsock-pci"
    args = ["-chardev", f"socket,id=vs0,path={sock}", "-device", f"{device},chardev=vs0"]
    if transport == "mmio":
        args = ["-global", "virtio-mmio.force-legacy=false"] + args
    return args


GUEST_SCRIPT = r"""
saw() { echo "VB-SAW $1: $2"; }
for d in /sys/bus/virtio/devices/*; do
	[ "$(cat "$d/device")" = 0x0013 ] && saw "virtio device" "id 19 features $(cat "$d/features" | cut -c1-3)"
done
head -c %(g2h)d /dev/urandom > /tmp/g2h
saw "g2h sent" "$(sha256sum < /tmp/g2h | cut -d' ' -f1)"
reply=$(socat -t 30 -T 60 - VSOCK-CONNECT:2:5000 < /tmp/g2h 2>/tmp/g2h.err) || fail "g2h socat: $(cat /tmp/g2h.err)"; true || fail "g2h socat: $reply"
saw "g2h host digest" "$reply"

socat -t 30 -T 60 VSOCK-LISTEN:6000 SYSTEM:sha256sum &
pid=$!
wait $pid || fail "h2g socat failed"

if out=$(socat -T 10 /dev/null VSOCK-CONNECT:2:7777 2>&1); then
	saw "refused 7777" "NOT refused"
else
	saw "refused 7777" "$(echo "$out" | grep -o 'Connection re[a-z]* by peer\|Connection refused' | head -1)"
fi
"""


def host_g2h(path: Path, out: dict) -> None:
    """The listener at <uds>_5000: digest of everything to EOF, sent back."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    srv.settimeout(240)
    try:
        conn, _ = srv.accept()
        conn.settimeout(120)
        h, n = hashlib.sha256(), 0
        while chunk := conn.recv(65536):
            h.update(chunk)
            n += len(chunk)
        out["g2h bytes"] = n
        out["g2h digest"] = h.hexdigest()
        conn.sendall(h.hexdigest().encode())
        conn.close()
    except OSError as e:
        out["g2h error"] = repr(e)
    finally:
        srv.close()


def host_h2g(uds: Path, out: dict) -> None:
    """Connect to the guest's port 6000 through <uds> until it listens."""
    data = os.urandom(H2G_BYTES)
    out["h2g sent"] = hashlib.sha256(data).hexdigest()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(120)
        try:
            s.connect(str(uds))
            s.sendall(b"CONNECT 6000\n")
            line = b""
            while not line.endswith(b"\n"):
                b = s.recv(1)
                if not b:
                    break
                line += b
            if not line.startswith(b"OK "):
                s.close()
                time.sleep(0.3)
                continue
            out["h2g ok line"] = line.decode().strip()
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
            out["h2g guest digest"] = reply.decode().split(" ")[0].strip()
            return
        except OSError as e:
            out["h2g error"] = repr(e)
            time.sleep(0.3)
        finally:
            s.close()


@pytest.mark.parametrize("transport", ["mmio", "pci"])
def test_guest_and_host_streams(images, serve, transport):
    server = serve(board_text(), socket_name=SOCKET)
    server.expected_warnings = (re.compile(r"refused: \S+_7777: No such file or directory"),)
    uds = server.runtime_dir / UDS
    assert uds.exists(), server.log()
    out: dict = {}
    threads = [threading.Thread(target=host_g2h, args=(Path(f"{uds}_5000"), out)),
               threading.Thread(target=host_h2g, args=(uds, out))]
    for t in threads:
        t.start()
    with tempfile.TemporaryDirectory(prefix="virtiobox-vsock-") as tmp:
        cmd = prepare_plain(GUEST_SCRIPT % {"g2h": G2H_BYTES}, Path(tmp),
                            qemu_args(server.sock, transport))
        result = qemu.run(cmd, 300, "test_vsock_streams")
    for t in threads:
        t.join(10)
    console = result.console
    saw = vbtest.observations(console)
    print("\n".join(f"{k}: {v}" for k, v in saw.items()))
    print("host:", out)
    assert result.verdict == "PASS", console[-4000:]
    assert "virtio device" in saw, console[-3000:]
    assert out.get("g2h bytes") == G2H_BYTES, out
    assert saw["g2h sent"] == out["g2h digest"] == saw["g2h host digest"], (saw, out)
    assert out.get("h2g ok line", "").startswith("OK "), out
    assert out["h2g guest digest"] == out["h2g sent"], out
    assert saw["refused 7777"] in ("Connection reset by peer", "Connection refused"), saw


SIB_BOARD = """
name = "vsock-siblings";
guests = (
  { domain = "g1"; transport = "vhost-user"; devices = (
    { type = "vsock"; socket = "g1-vsock.sock"; cid = 3; uds = "g1.vsock"; group = "lab"; } ); },
  { domain = "g2"; transport = "vhost-user"; devices = (
    { type = "vsock"; socket = "g2-vsock.sock"; cid = 4; uds = "g2.vsock"; group = "lab"; } ); },
  { domain = "g3"; transport = "vhost-user"; devices = (
    { type = "vsock"; socket = "g3-vsock.sock"; cid = 5; uds = "g3.vsock"; } ); }
);
"""

SIB_SEQ_SIZES = [1, 100, 4096, 5000, 65536, 100000]

SIB_SERVER = r"""
/test/vsock_seq -l 7001 %(n)d >/tmp/seq.out 2>&1 &
spid=$!
socat -t 30 -T 120 VSOCK-LISTEN:7000 SYSTEM:sha256sum &
pid=$!
sleep 1
echo ready | socat -T 10 - VSOCK-CONNECT:2:9000 || fail "cannot tell the host"
wait $pid || fail "the sibling server failed"
wait $spid || fail "the SEQPACKET server failed: $(cat /tmp/seq.out)"
cat /tmp/seq.out
echo "VB-SAW served: yes"
""" % {"n": len(SIB_SEQ_SIZES)}

SIB_CLIENT = r"""
saw() { echo "VB-SAW $1: $2"; }
head -c 2000000 /dev/urandom > /tmp/d
saw "sent" "$(sha256sum < /tmp/d | cut -d' ' -f1)"
reply=$(socat -t 30 -T 60 - VSOCK-CONNECT:3:7000 < /tmp/d 2>/tmp/err) || fail "to the sibling: $(cat /tmp/err)"
saw "sibling digest" "$(echo "$reply" | cut -d' ' -f1)"
if out=$(socat -T 10 /dev/null VSOCK-CONNECT:5:7000 2>&1); then
	saw "cid 5" "NOT refused"
else
	saw "cid 5" "$(echo "$out" | grep -o 'Connection re[a-z]* by peer\|Connection refused' | head -1)"
fi
/test/vsock_seq 3 7001 %(sizes)s >/tmp/seq.out 2>&1 || fail "SEQPACKET to the sibling: $(cat /tmp/seq.out)"
cat /tmp/seq.out
/test/vsock_seq 5 7001 1 >/tmp/seq5.out 2>&1
saw "seq cid 5" "$(grep -o 'Connection re[a-z]* by peer\|Connection refused' /tmp/seq5.out | head -1)"
""" % {"sizes": " ".join(map(str, SIB_SEQ_SIZES))}


def guest_seq_program(tmp_path: Path) -> Path:
    prog = tmp_path / "vsock_seq"
    subprocess.run(["aarch64-linux-gnu-gcc", "-static", "-O2", "-std=c11", "-Wall", "-Wextra",
                    "-Werror", "-D_GNU_SOURCE", "-o", str(prog),
                    str(Path(__file__).with_name("guest") / "vsock_seq.c")], check=True)
    return prog


def guest_msgs(console: str) -> list[tuple[int, int, bool]]:
    """The VB-MSG lines of vsock_seq: (length, byte sum, MSG_EOR)."""
    return [(int(m[1]), int(m[2]), bool(m[3])) for m in
            re.finditer(r"^VB-MSG (\d+) (\d+)( EOR)?\r?$", console, re.M)]


def test_two_guests_as_siblings(images, serve, tmp_path):
    prog = guest_seq_program(tmp_path)
    server = serve(SIB_BOARD, socket_name="g1-vsock.sock")
    server.expected_warnings = (re.compile(r"g2/vsock0: connection from port \d+ to 5:700[01] "
                                           r"refused: no such CID in the guest's group"),)
    run = server.runtime_dir
    ready = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ready.bind(str(run / "g1.vsock_9000"))
    ready.listen(1)
    ready.settimeout(240)
    results: dict = {}

    def guest(name: str, script: str, sock: str) -> None:
        with tempfile.TemporaryDirectory(prefix=f"virtiobox-{name}-") as tmp:
            cmd = prepare_plain(script, Path(tmp), [
                "-global", "virtio-mmio.force-legacy=false",
                "-chardev", f"socket,id=vs0,path={run / sock}",
                "-device", "vhost-user-vsock-device,chardev=vs0"],
                files={"/test/vsock_seq": File(path=prog, mode=0o755)})
            results[name] = qemu.run(cmd, 300, f"test_vsock_{name}")

    g1 = threading.Thread(target=guest, args=("g1", SIB_SERVER, "g1-vsock.sock"))
    g1.start()
    try:
        conn, _ = ready.accept()
        conn.settimeout(60)
        # Read to the guest's EOF before closing: closing first races the
        # guest's socat, whose shutdown(SHUT_WR) after the peer's full close
        # makes Linux vsock's next read fail with ENOTCONN (vsock_shutdown
        # clears SOCK_DONE), as it would against the host kernel's vsock.
        results["ready"] = b""
        while chunk := conn.recv(64):
            results["ready"] += chunk
        conn.close()
    finally:
        ready.close()
    guest("g2", SIB_CLIENT, "g2-vsock.sock")
    g1.join(300)
    c1, c2 = results["g1"], results["g2"]
    saw = vbtest.observations(c2.console)
    print("\n".join(f"{k}: {v}" for k, v in saw.items()))
    assert c1.verdict == "PASS", c1.console[-3000:]
    assert c2.verdict == "PASS", c2.console[-3000:]
    assert "VB-SAW served: yes" in c1.console
    assert results["ready"] == b"ready\n"
    assert saw["sent"] == saw["sibling digest"], saw
    assert saw["cid 5"] in ("Connection reset by peer", "Connection refused"), saw
    # SEQPACKET both ways between the siblings: each message whole, the
    # last one (sent with MSG_EOR) with MSG_EOR at the server and back.
    want = [(n, msg_sum(n), i == len(SIB_SEQ_SIZES) - 1) for i, n in enumerate(SIB_SEQ_SIZES)]
    print("g1 got:", guest_msgs(c1.console), "\ng2 got:", guest_msgs(c2.console))
    assert guest_msgs(c1.console) == want, c1.console[-3000:]
    assert guest_msgs(c2.console) == want, c2.console[-3000:]
    assert saw["seq cid 5"] in ("Connection reset by peer", "Connection refused"), saw


SEQ_SIZES = [1, 100, 4096, 5000, 20000, 65536, 100000]


def msg_sum(size: int) -> int:
    return sum((k * 7 + size) & 0xff for k in range(size))


def host_seq(path: Path, out: dict) -> None:
    """<uds>_5001 as SOCK_SEQPACKET: record and echo every message."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(str(path))
    srv.listen(1)
    srv.settimeout(240)
    got = []
    try:
        conn, _ = srv.accept()
        conn.settimeout(60)
        while len(got) < len(SEQ_SIZES):
            msg = conn.recv(1 << 20)
            if not msg:
                break
            got.append((len(msg), sum(msg)))
            conn.sendall(msg)
        # Keep it open until the guest has read its echoes and closed.
        conn.recv(16)
        conn.close()
    except OSError as e:
        out["error"] = repr(e)
    finally:
        out["host got"] = got
        srv.close()


def test_seqpacket_boundaries(images, serve, tmp_path):
    prog = guest_seq_program(tmp_path)
    server = serve(board_text(), socket_name=SOCKET)
    out: dict = {}
    t = threading.Thread(target=host_seq, args=(Path(f"{server.runtime_dir / UDS}_5001"), out))
    t.start()
    script = "run /test/vsock_seq 2 5001 " + " ".join(map(str, SEQ_SIZES)) + "\n"
    with tempfile.TemporaryDirectory(prefix="virtiobox-vsock-seq-") as tmp:
        cmd = prepare_plain(script, Path(tmp), qemu_args(server.sock),
                            files={"/test/vsock_seq": File(path=prog, mode=0o755)})
        result = qemu.run(cmd, 300, "test_vsock_seqpacket")
    t.join(10)
    want = [(n, msg_sum(n)) for n in SEQ_SIZES]
    guest = [tuple(map(int, m.groups())) for m in
             re.finditer(r"^VB-MSG (\d+) (\d+)$", result.console, re.M)]
    print("host got:", out, "\nguest got:", guest)
    assert result.verdict == "PASS", result.console[-3000:]
    assert out["host got"] == want, out
    assert guest == want, result.console[-3000:]


H2G_SEQ_SIZES = [5, 0, 4096, 70000, 0, 1]


def msg(size: int) -> bytes:
    return bytes((k * 7 + size) & 0xff for k in range(size))


def host_seq_h2g(path: Path, out: dict) -> None:
    """A host program on <uds>.seqpacket: CONNECT 6002 until the guest
    listens, then every message of H2G_SEQ_SIZES, then the echoes."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(60)
        try:
            s.connect(str(path))
            s.send(b"CONNECT 6002\n")
            line = s.recv(64)
            if not line.startswith(b"OK "):
                s.close()
                time.sleep(0.3)
                continue
            out["ok line"] = line
            for n in H2G_SEQ_SIZES:
                s.send(msg(n))
            out["echoes"] = [(len(m), sum(m)) for m in
                             (s.recv(1 << 20) for n in H2G_SEQ_SIZES if n)]
            return
        except OSError as e:
            out["error"] = repr(e)
            time.sleep(0.3)
        finally:
            s.close()


def test_host_seqpacket_to_guest(images, serve, tmp_path):
    prog = guest_seq_program(tmp_path)
    server = serve(board_text(), socket_name=SOCKET)
    path = Path(f"{server.runtime_dir / UDS}.seqpacket")
    assert path.is_socket(), server.log()
    out: dict = {}
    t = threading.Thread(target=host_seq_h2g, args=(path, out))
    t.start()
    script = f"run /test/vsock_seq -l 6002 {len(H2G_SEQ_SIZES)}\n"
    with tempfile.TemporaryDirectory(prefix="virtiobox-vsock-seq-h2g-") as tmp:
        cmd = prepare_plain(script, Path(tmp), qemu_args(server.sock),
                            files={"/test/vsock_seq": File(path=prog, mode=0o755)})
        result = qemu.run(cmd, 300, "test_vsock_seqpacket_h2g")
    t.join(10)
    got = guest_msgs(result.console)
    print("host:", out, "\nguest got:", got)
    assert result.verdict == "PASS", result.console[-3000:]
    assert re.fullmatch(rb"OK \d+\n", out.get("ok line", b"")), out
    # Every message whole in the guest, the empty ones as empty messages.
    assert got == [(n, msg_sum(n), False) for n in H2G_SEQ_SIZES], result.console[-3000:]
    assert out["echoes"] == [(n, msg_sum(n)) for n in H2G_SEQ_SIZES if n], out


NCONN = 64
BIG = 100 * 1024 * 1024

MANY_SCRIPT = r"""
saw() { echo "VB-SAW $1: $2"; }
i=0
while [ $i -lt %(n)d ]; do
	( head -c 65536 /dev/urandom > /tmp/c$i
	  sha256sum < /tmp/c$i | cut -d' ' -f1 > /tmp/c$i.want
	  socat -t 240 -T 240 - VSOCK-CONNECT:2:5002 < /tmp/c$i > /tmp/c$i.got 2>/tmp/c$i.err ) &
	i=$((i + 1))
done
wait
ok=0
i=0
while [ $i -lt %(n)d ]; do
	if [ "$(cat /tmp/c$i.want)" = "$(cat /tmp/c$i.got)" ]; then
		ok=$((ok + 1))
	else
		echo "connection $i: got '$(cat /tmp/c$i.got)' socat: $(tail -n 2 /tmp/c$i.err)"
	fi
	i=$((i + 1))
done
saw "connections ok" "$ok"
rm -f /tmp/c*
head -c %(big)d /dev/zero | socat -t 60 -T 300 - VSOCK-CONNECT:2:5003 > /tmp/big.reply || fail "big g2h"
saw "big g2h host reply" "$(cat /tmp/big.reply)"
socat -t 60 -T 300 VSOCK-LISTEN:6001 SYSTEM:sha256sum &
wait $! || fail "big h2g"
"""


def host_many(path: Path, out: dict) -> None:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(NCONN)
    srv.settimeout(240)
    done = []

    def one(conn):
        conn.settimeout(120)
        h = hashlib.sha256()
        while chunk := conn.recv(65536):
            h.update(chunk)
        conn.sendall(h.hexdigest().encode() + b"\n")
        conn.close()
        done.append(1)

    threads = []
    try:
        for _ in range(NCONN):
            conn, _ = srv.accept()
            t = threading.Thread(target=one, args=(conn,))
            t.start()
            threads.append(t)
        for t in threads:
            t.join(120)
    except OSError as e:
        out["many error"] = repr(e)
    finally:
        out["many served"] = len(done)
        srv.close()


def host_count(path: Path, out: dict) -> None:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    srv.settimeout(400)
    try:
        conn, _ = srv.accept()
        conn.settimeout(300)
        n, h = 0, hashlib.sha256()
        while chunk := conn.recv(1 << 20):
            n += len(chunk)
            h.update(chunk)
        out["big g2h"] = n
        conn.sendall(f"{n} {h.hexdigest()}".encode())
        conn.close()
    finally:
        srv.close()


def host_big_h2g(uds: Path, out: dict) -> None:
    deadline = time.monotonic() + 400
    block = b"\0" * (1 << 20)
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(300)
        try:
            s.connect(str(uds))
            s.sendall(b"CONNECT 6001\n")
            line = s.recv(32)
            if not line.startswith(b"OK "):
                time.sleep(0.3)
                continue
            t0 = time.monotonic()
            for _ in range(BIG // len(block)):
                s.sendall(block)
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := s.recv(64):
                reply += chunk
            out["big h2g seconds"] = time.monotonic() - t0
            out["big h2g guest digest"] = reply.decode().split(" ")[0].strip()
            return
        except OSError as e:
            out["big h2g error"] = repr(e)
            time.sleep(0.3)
        finally:
            s.close()


def test_many_connections_and_volume(images, serve):
    server = serve(board_text(), socket_name=SOCKET)
    uds = server.runtime_dir / UDS
    out: dict = {}
    threads = [threading.Thread(target=host_many, args=(Path(f"{uds}_5002"), out)),
               threading.Thread(target=host_count, args=(Path(f"{uds}_5003"), out)),
               threading.Thread(target=host_big_h2g, args=(uds, out))]
    for t in threads:
        t.start()
    with tempfile.TemporaryDirectory(prefix="virtiobox-vsock-many-") as tmp:
        cmd = prepare_plain(MANY_SCRIPT % {"n": NCONN, "big": BIG}, Path(tmp),
                            qemu_args(server.sock))
        result = qemu.run(cmd, 600, "test_vsock_many")
    for t in threads:
        t.join(10)
    saw = vbtest.observations(result.console)
    print("\n".join(f"{k}: {v}" for k, v in saw.items()))
    print("host:", out)
    assert result.verdict == "PASS", result.console[-3000:]
    assert saw["connections ok"] == str(NCONN), saw
    assert out["many served"] == NCONN, out
    zeros = hashlib.sha256(bytes(BIG)).hexdigest()
    assert out["big g2h"] == BIG and saw["big g2h host reply"] == f"{BIG} {zeros}", (saw, out)
    assert out["big h2g guest digest"] == zeros, out


ABRUPT_SCRIPT = r"""
saw() { echo "VB-SAW $1: $2"; }
sleep 100 | socat - VSOCK-CONNECT:2:5004 > /dev/null &
sleep 2
kill -9 $(pidof socat)
head -c 104857600 /dev/zero | socat -T 60 - VSOCK-CONNECT:2:5005 > /dev/null 2>/tmp/err
saw "host abrupt rc" "$?"
saw "host abrupt error" "$(grep -o 'Broken pipe\|Connection reset by peer' /tmp/err | head -1)"
"""


def host_abrupt(path4: Path, path5: Path, out: dict) -> None:
    s4 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s4.bind(str(path4))
    s4.listen(1)
    s4.settimeout(240)
    s5 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s5.bind(str(path5))
    s5.listen(1)
    s5.settimeout(240)
    try:
        conn, _ = s4.accept()
        conn.settimeout(60)
        t0 = time.monotonic()
        out["killed guest: host read"] = conn.recv(64)
        out["killed guest: seconds"] = time.monotonic() - t0
        conn.close()
        conn, _ = s5.accept()
        n = 0
        while n < (1 << 20):
            n += len(conn.recv(65536))
        conn.close()
        out["host closed after"] = n
    except OSError as e:
        out["error"] = repr(e)
    finally:
        s4.close()
        s5.close()


def test_abrupt_close(images, serve):
    server = serve(board_text(), socket_name=SOCKET)
    uds = server.runtime_dir / UDS
    out: dict = {}
    t = threading.Thread(target=host_abrupt,
                         args=(Path(f"{uds}_5004"), Path(f"{uds}_5005"), out))
    t.start()
    with tempfile.TemporaryDirectory(prefix="virtiobox-vsock-abrupt-") as tmp:
        cmd = prepare_plain(ABRUPT_SCRIPT, Path(tmp), qemu_args(server.sock))
        result = qemu.run(cmd, 300, "test_vsock_abrupt")
    t.join(10)
    saw = vbtest.observations(result.console)
    print("\n".join(f"{k}: {v}" for k, v in saw.items()))
    print("host:", out)
    assert result.verdict == "PASS", result.console[-3000:]
    assert out["killed guest: host read"] == b"", out
    assert out["host closed after"] >= 1 << 20, out
    assert saw["host abrupt rc"] != "0", saw
    assert saw["host abrupt error"] in ("Broken pipe", "Connection reset by peer"), saw
