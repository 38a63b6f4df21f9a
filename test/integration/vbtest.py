"""Shared pieces of the i2c integration tests and the demo: starting a
native virtiobox on a board file, the QEMU arguments of its vhost-user-i2c
front-end, and the guest script that exercises the simulated chips of
board/host-sim.conf with i2c-tools."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test"))

from harness import HostProcess  # noqa: E402

VIRTIOBOX = REPO / "build" / "host-release" / "main" / "virtiobox"
HOST_SIM = REPO / "board" / "host-sim.conf"
SOCKET_NAME = "sim-guest-i2c0.sock"  # host-sim.conf's socket
REFUSED = 0x20  # not on host-sim.conf's allow-list

# Log lines a healthy run may contain at warning level: the guest's
# requests for addresses off the allow-list (i2cdetect probes them all).
EXPECTED_WARNINGS = (
    re.compile(r"request refused, address 0x[0-9a-f]{2}: not on the allow-list"),
    re.compile(r"similar messages suppressed|similar lines suppressed|suppressed \d+"),
)


def board_text(packed: bool = True) -> str:
    """host-sim.conf, with the packed ring offered or not."""
    text = HOST_SIM.read_text()
    if not packed:
        text, n = re.subn(r"packed = true;", "packed = false;", text)
        assert n == 1, "host-sim.conf no longer says packed = true"
    return text


def qemu_args(sock: Path, transport: str = "mmio", packed: bool = False,
              legacy: bool = False) -> list[str]:
    """The vhost-user-i2c front-end of a plain `virt` guest.

    mmio: QEMU's virtio-mmio is legacy (virtio 0.9.5) by default; legacy
    keeps that default (the guest driver then never accepts VERSION_1),
    otherwise force-legacy=false makes it a VIRTIO 1.x transport. packed=on
    makes QEMU offer VIRTIO_F_RING_PACKED: only with a board that offers it
    too, since QEMU 7.2 does not mask ring features by the back-end's."""
    assert not (legacy and (packed or transport != "mmio")), "legacy: split mmio only"
    device = "vhost-user-i2c-device" if transport == "mmio" else "vhost-user-i2c-pci"
    args = ["-chardev", f"socket,id=vi2c,path={sock}",
            "-device", f"{device},chardev=vi2c" + (",packed=on" if packed else "")]
    if transport == "mmio" and not legacy:
        args = ["-global", "virtio-mmio.force-legacy=false"] + args
    return args


class Server:
    """A native virtiobox serving one board file from a runtime directory."""

    def __init__(self, board: Path, runtime_dir: Path, name: str = "virtiobox",
                 socket_name: str = SOCKET_NAME, args: Sequence[str] = ()):
        self.board = board
        self.runtime_dir = runtime_dir
        self.sock = runtime_dir / socket_name
        self.proc = HostProcess([str(VIRTIOBOX), "--board", str(board),
                                 "--runtime-dir", str(runtime_dir), *args], name)
        self.proc.wait_for_path(self.sock)
        self.returncode: int | None = None
        # Warnings a test provokes on purpose (compiled regexes).
        self.expected_warnings: list[re.Pattern] = []

    def alive(self) -> bool:
        return self.proc.alive()

    def log(self) -> str:
        return self.proc.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Until the "ready" line: the sandbox is entered by then."""
        end = time.monotonic() + timeout
        while "info: ready: serving" not in self.log():
            assert self.alive(), f"virtiobox exited:\n{self.log()}"
            assert time.monotonic() < end, f"no ready line:\n{self.log()}"
            time.sleep(0.05)

    def proc_status(self) -> dict[str, str]:
        """/proc/<pid>/status of the running virtiobox, key -> value."""
        lines = Path(f"/proc/{self.proc.proc.pid}/status").read_text().splitlines()
        return dict(line.split(":\t", 1) for line in lines if ":\t" in line)

    def stop(self) -> int | None:
        """SIGTERM; returns virtiobox's exit status."""
        if self.returncode is None:
            self.returncode = self.proc.stop()
        return self.returncode

    def unexpected_lines(self) -> list[str]:
        """Error lines, and warnings other than the expected refusals."""
        bad = []
        for line in self.log().splitlines():
            if "virtiobox: error:" in line:
                bad.append(line)
            elif "virtiobox: warning:" in line and not any(
                    p.search(line) for p in (*EXPECTED_WARNINGS, *self.expected_warnings)):
                bad.append(line)
        return bad


def check_board(path: Path, runtime_dir: Path | None = None) -> subprocess.CompletedProcess:
    argv = [str(VIRTIOBOX), "check", str(path)]
    if runtime_dir:
        argv += ["--runtime-dir", str(runtime_dir)]
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=30)


# The guest side. Every observation is printed as "VB-SAW <what>: <value>"
# so the tests can assert it and the demo can show it.
GUEST_SCRIPT = r"""
saw() { echo "VB-SAW $1: $2"; }

adapter=$(i2cdetect -l | grep i2c_virtio) || fail "no virtio i2c adapter: $(i2cdetect -l)"
bus=$(echo "$adapter" | cut -f1)
n=${bus#i2c-}
saw "adapter" "$bus ($(echo "$adapter" | cut -f3 | sed 's/ *$//'))"
for d in /sys/bus/virtio/devices/*; do
	[ "$(cat "$d/device")" = 0x0022 ] || continue
	feat=$(cat "$d/features")
	saw "virtio device" "$(basename "$d") id 34, VERSION_1=$(echo "$feat" | cut -c33), RING_PACKED=$(echo "$feat" | cut -c35)"
done

detect=$(i2cdetect -y "$n") || fail "i2cdetect failed"
echo "$detect"
saw "i2cdetect" "$(echo "$detect" | sed 's/^[0-7]0://' | tr ' ' '\n' | grep -E '^[0-9a-f]{2}$' | tr '\n' ' ' | sed 's/ $//')"

saw "regs 0x1c reg 0x00" "$(i2cget -y "$n" 0x1c 0x00 b)"
saw "eeprom 0x50 bytes 0x00..0x03" "$(i2ctransfer -y "$n" w1@0x50 0x00 r4)"

run i2cset -y "$n" 0x50 0x10 0xab b
saw "eeprom 0x50 byte 0x10 after i2cset 0xab" "$(i2cget -y "$n" 0x50 0x10 b)"

run i2ctransfer -y "$n" w5@0x50 0x20 0x01 0x02 0x03 0x04
saw "eeprom 0x50 bytes 0x20..0x23 after writing 01 02 03 04" "$(i2ctransfer -y "$n" w1@0x50 0x20 r4)"

# A 24C02 page is 8 bytes: four bytes written at 0x26 wrap to 0x20.
run i2ctransfer -y "$n" w5@0x50 0x26 0xa1 0xa2 0xa3 0xa4
saw "eeprom 0x50 page 0x20..0x27 after writing a1 a2 a3 a4 at 0x26" "$(i2ctransfer -y "$n" w1@0x50 0x20 r8)"

run i2cset -y "$n" 0x1c 0x04 0x1234 w
saw "regs 0x1c word 0x04 after i2cset 0x1234" "$(i2cget -y "$n" 0x1c 0x04 w)"

if out=$(i2cget -y "$n" 0x20 0x00 b 2>&1); then
	saw "refused 0x20" "NOT refused: read $out"
else
	saw "refused 0x20" "$out"
fi
saw "eeprom 0x50 byte 0x10 after the refusal" "$(i2cget -y "$n" 0x50 0x10 b)"
"""

# The refused address fails in the guest with this errno text.
REFUSED_TEXT = "Input/output error"

# What GUEST_SCRIPT must see on a fresh host-sim board.
EXPECTED = {
    "i2cdetect": "1c 50",
    "regs 0x1c reg 0x00": "0x33",
    "eeprom 0x50 bytes 0x00..0x03": "0x76 0x62 0x6f 0x78",
    "eeprom 0x50 byte 0x10 after i2cset 0xab": "0xab",
    "eeprom 0x50 bytes 0x20..0x23 after writing 01 02 03 04": "0x01 0x02 0x03 0x04",
    "eeprom 0x50 page 0x20..0x27 after writing a1 a2 a3 a4 at 0x26":
        "0xa3 0xa4 0x03 0x04 0xff 0xff 0xa1 0xa2",
    "regs 0x1c word 0x04 after i2cset 0x1234": "0x1234",
    "eeprom 0x50 byte 0x10 after the refusal": "0xab",
}


def observations(console: str) -> dict[str, str]:
    """The VB-SAW lines of a guest console, as {what: value}."""
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^VB-SAW ([^:]+): (.*)$", console, re.M)}
