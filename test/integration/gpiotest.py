"""Shared pieces of the virtio-gpio integration tests and the demo: the
board (board/gpio-sim.conf), the QEMU arguments of its vhost-user-gpio
front-end, the guest script that exercises the lines with libgpiod's tools,
and the host side that answers the script's requests on the simulated
lines' control socket while the guest runs.

The guest script prints "VB-HOST: cmd; cmd" lines; run_interactive sends
each command to the control socket (set drives an input from outside, get
reads what a line shows outside) and records the answers. The guest waits
for the effect (gpioget polling a line the host drives), so there are no
sleeps to tune."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import time
from pathlib import Path

import vbtest

GPIO_SIM = vbtest.REPO / "board" / "gpio-sim.conf"
SOCKET = "sim-guest-gpio0.sock"
CONTROL = "sim-guest-gpio0.ctl"

GUEST_SCRIPT = r"""
saw() { echo "VB-SAW $1: $2"; }
host() { echo "VB-HOST: $*"; }
# wait_line LINE VALUE: until the guest reads VALUE on LINE (host-driven).
wait_line() { wait_for 20 sh -c "[ \"\$(gpioget $chip $1)\" = $2 ]"; }

chip=$(gpiodetect | grep virtio | cut -d' ' -f1)
[ -n "$chip" ] || fail "no virtio gpio chip: $(gpiodetect)"
saw "gpiodetect" "$(gpiodetect | grep virtio)"
for d in /sys/bus/virtio/devices/*; do
	[ "$(cat "$d/device")" = 0x0029 ] || continue
	feat=$(cat "$d/features")
	irq=$(echo "$feat" | cut -c1)
	saw "virtio device" "id 41, VIRTIO_GPIO_F_IRQ=$irq, VERSION_1=$(echo "$feat" | cut -c33), RING_PACKED=$(echo "$feat" | cut -c35)"
done
gpioinfo "$chip"
for i in 0 1 2 3 4 5 6 7; do
	saw "gpioinfo line $i" "$(gpioinfo "$chip" | grep "line *$i:" | sed 's/^[[:space:]]*line *[0-9]*:[[:space:]]*//; s/[[:space:]]\+/ /g; s/ $//')"
done
saw "gpioget 0 1 2 3" "$(gpioget "$chip" 0 1 2 3)"

host "set 3 1"
wait_line 3 1
saw "line 3 after the host drove it high" "$(gpioget "$chip" 3)"
host "set 3 0"
wait_line 3 0
saw "line 3 after the host drove it low" "$(gpioget "$chip" 3)"

# An output the host reads while gpioset holds it; line 2 is the ack.
gpioset --mode=signal "$chip" 6=1 &
setpid=$!
wait_for 10 sh -c "gpioinfo $chip | grep -q 'line *6:.*output'"
host "get 6; get 5; set 2 1"
wait_line 2 1
kill $setpid
wait $setpid
host "get 6; set 2 0"
wait_line 2 0
run gpioset "$chip" 5=0
host "get 5; set 2 1"
wait_line 2 1

if [ "$irq" = 1 ]; then
	gpiomon --num-events=2 --rising-edge "$chip" 0 >/tmp/mon 2>&1 &
	monpid=$!
	wait_for 10 sh -c "gpioinfo $chip | grep -q 'line *0:.*used'"
	# "used" comes before the interrupt is requested (IRQ_TYPE sent).
	wait_for 10 grep -q gpiomon /proc/interrupts
	host "set 0 1; set 0 0; set 0 1"
	wait $monpid
	saw "gpiomon" "$(grep -c 'RISING EDGE offset: 0' /tmp/mon) rising edges"
else
	if out=$(timeout 10 gpiomon --num-events=1 --rising-edge "$chip" 0 2>&1); then
		saw "gpiomon" "unexpectedly succeeded: $out"
	else
		saw "gpiomon" "refused: $out"
	fi
fi
"""

# What the guest must see on a fresh gpio-sim.conf board.
EXPECTED = {
    "gpiodetect": "gpiochip0 [virtio0] (8 lines)",
    "gpioinfo line 0": '"BUTTON" unused input active-high',
    "gpioinfo line 1": '"DOOR" unused input active-high',
    "gpioinfo line 2": "unnamed unused input active-high",
    "gpioinfo line 4": '"LED-RED" unused output active-high',
    "gpioinfo line 5": '"LED-GREEN" unused output active-high',
    "gpioinfo line 7": '"RESET" unused output active-high',
    "gpioget 0 1 2 3": "0 1 0 0",
    "line 3 after the host drove it high": "1",
    "line 3 after the host drove it low": "0",
}

# What the control socket must answer to the guest's "get" requests, in order.
EXPECTED_GETS = [
    ("get 6", "out 1"),  # gpioset holds line 6 high
    ("get 5", "out 1"),  # LED-GREEN starts as an output driving 1
    ("get 6", "in 0"),   # released: the driver sets direction NONE
    ("get 5", "in 0"),   # after `gpioset 5=0` exits
]


class Control:
    """The simulated lines' control socket."""

    def __init__(self, path: Path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("r")
        self.log: list[tuple[str, str]] = []

    def command(self, cmd: str) -> str:
        self.sock.sendall(cmd.encode() + b"\n")
        answer = self.file.readline().strip()
        self.log.append((cmd, answer))
        return answer

    def close(self):
        self.file.close()
        self.sock.close()


def run_interactive(cmd: list[str], control: Control, timeout: float) -> str:
    """Runs QEMU, serving each VB-HOST line of its console on the control
    socket; returns the console once QEMU exits."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    console, pending = "", b""
    end = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > end:
                raise AssertionError(f"guest timed out:\n{console[-4000:]}")
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                text = line.decode(errors="replace").rstrip("\r")
                console += text + "\n"
                m = re.match(r"^VB-HOST: (.*)$", text)
                if m:
                    for c in m.group(1).split(";"):
                        control.command(c.strip())
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    return console + pending.decode(errors="replace")


def board_text(packed: bool) -> str:
    text = GPIO_SIM.read_text()
    if not packed:
        text, n = re.subn(r"packed = true;", "packed = false;", text)
        assert n == 1, "gpio-sim.conf no longer says packed = true"
    return text


def qemu_args(sock: Path, transport: str, packed: bool) -> list[str]:
    device = "vhost-user-gpio-device" if transport == "mmio" else "vhost-user-gpio-pci"
    args = ["-chardev", f"socket,id=vgpio,path={sock}",
            "-device", f"{device},chardev=vgpio" + (",packed=on" if packed else "")]
    if transport == "mmio":
        args = ["-global", "virtio-mmio.force-legacy=false"] + args
    return args
