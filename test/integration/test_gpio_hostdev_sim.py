"""The libgpiod back-end against a real Linux GPIO chip: the project
kernel's gpio-sim, inside a plain QEMU guest (the host's kernel has no
gpio-sim), driven by the aarch64 build of test/unit/test_gpio_hostdev. The
chip has 8 lines, line 2 named "SIM-TWO"; edges are made from the sim side
through sysfs (sim_gpioN/pull). Its test_model_on_real_lines runs the whole
virtio-gpio model on two of those lines: edge and level interrupts from real
edges, read from libgpiod's event fds on the model's loop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import vbtest
from harness import File, run_plain

UNIT = Path(os.environ.get("VB_GPIO_HOSTDEV_TEST",
                           vbtest.REPO / "build" / "aarch64-release" / "unit" / "test_gpio_hostdev"))
CMOCKA = Path("/usr/lib/aarch64-linux-gnu/libcmocka.so.0")

SCRIPT = r"""
cfg=/sys/kernel/config/gpio-sim
[ -d $cfg ] || run mount -t configfs none /sys/kernel/config
run mkdir $cfg/vb $cfg/vb/bank0 $cfg/vb/bank0/line2
echo 8 >$cfg/vb/bank0/num_lines
echo SIM-TWO >$cfg/vb/bank0/line2/name
echo 1 >$cfg/vb/live || fail "gpio-sim chip does not go live"
chip=$(cat $cfg/vb/bank0/chip_name)
sysfs=/sys/devices/platform/$(cat $cfg/vb/dev_name)/$chip
echo "gpio-sim chip $chip at $sysfs"
gpioinfo $chip
label=$(gpiodetect | grep "^$chip " | sed 's/.*\[\(.*\)\].*/\1/')
echo "label: $label"
export VB_GPIO_SIM_CHIP=$chip VB_GPIO_SIM_SYSFS=$sysfs VB_GPIO_SIM_LABEL=$label
export LD_LIBRARY_PATH=/usr/local/lib CMOCKA_MESSAGE_OUTPUT=stdout
run /usr/local/bin/test_gpio_hostdev
"""


def test_hostdev_on_gpio_sim(images, report):
    if not UNIT.is_file():
        pytest.skip(f"{UNIT} is built by `scons test` (aarch64 unit tests)")
    assert CMOCKA.is_file(), "libcmocka0:arm64 is installed by setup.sh"
    result = report(run_plain(SCRIPT, timeout=90, files={
        "/usr/local/bin/test_gpio_hostdev": File(path=UNIT, mode=0o755),
        "/usr/local/lib/libcmocka.so.0": File(path=CMOCKA, mode=0o644),
    }))
    result.check()
    for name in ("test_open_errors", "test_open_by_path_name_label", "test_busy_line", "test_lines",
                 "test_model_on_real_lines"):
        assert f"[       OK ] {name}" in result.console, result.console[-4000:]
    assert "SKIPPED" not in result.console, result.console[-4000:]


VIRTIOBOX_A64 = vbtest.REPO / "build" / "aarch64-release" / "main" / "virtiobox"

BOARD = r"""
guests = ( { domain = "g"; transport = "vhost-user";
  devices = ( { type = "gpio"; socket = "g-gpio.sock"; chip = "CHIP";
                lines = [ 1, 3, 5 ]; names = [ "", "RELAY", "" ]; } ); } );
"""

SERVE_SCRIPT = r"""
cfg=/sys/kernel/config/gpio-sim
[ -d $cfg ] || run mount -t configfs none /sys/kernel/config
run mkdir $cfg/vb $cfg/vb/bank0
echo 8 >$cfg/vb/bank0/num_lines
echo 1 >$cfg/vb/live || fail "gpio-sim chip does not go live"
chip=$(cat $cfg/vb/bank0/chip_name)
mkdir -p /tmp/vb
sed "s/CHIP/$chip/" /test/board.conf >/tmp/vb/board.conf
run virtiobox check /tmp/vb/board.conf --runtime-dir /tmp/vb

# A line busy on the host stops the start, naming chip and line.
gpioset --mode=signal "$chip" 3=1 &
holder=$!
wait_for 10 sh -c "gpioinfo $chip | grep -q 'line *3:.*used'"
if out=$(virtiobox --board /tmp/vb/board.conf --runtime-dir /tmp/vb 2>&1); then
	fail "virtiobox started with line 3 busy: $out"
fi
echo "VB-SAW busy: $out"
kill $holder
wait $holder

bg_start vb virtiobox --board /tmp/vb/board.conf --runtime-dir /tmp/vb
wait_for 10 test -S /tmp/vb/g-gpio.sock
gpioinfo "$chip"
for i in 0 1 2 3 4 5 6 7; do
	echo "VB-SAW line $i: $(gpioinfo "$chip" | grep "line *$i:" | sed 's/^[[:space:]]*line *[0-9]*:[[:space:]]*//; s/[[:space:]]\+/ /g; s/ $//')"
done
bg_stop vb
echo "VB-SAW after stop: $(gpioinfo "$chip" | grep -c virtiobox) lines held by virtiobox"
"""


def test_static_virtiobox_requests_only_its_lines(images, report):
    """The static aarch64 virtiobox in a guest, on a gpio-sim chip: a busy
    line is a start-up error naming chip, line and its user; once started it
    holds exactly the board's lines (consumer "virtiobox") and releases them
    at exit."""
    if not VIRTIOBOX_A64.is_file():
        pytest.skip(f"{VIRTIOBOX_A64} is built by `scons CROSS_COMPILE=aarch64-linux-gnu-`")
    result = report(run_plain(SERVE_SCRIPT, timeout=90, files={
        "/usr/local/bin/virtiobox": File(path=VIRTIOBOX_A64, mode=0o755),
        "/test/board.conf": BOARD,
    }))
    result.check()
    saw = vbtest.observations(result.console)
    assert saw["busy"].endswith("guests[0].devices[0].lines: gpiochip0 line 3 is busy "
                                "(used by \"gpioset\")"), saw["busy"]
    for i in range(8):
        held = '"virtiobox"' in saw[f"line {i}"]
        assert held == (i in (1, 3, 5)), (i, saw[f"line {i}"])
    assert "unused" in saw["line 0"], saw["line 0"]
    assert saw["after stop"] == "0 lines held by virtiobox", saw["after stop"]
