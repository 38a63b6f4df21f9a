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
export VB_GPIO_SIM_CHIP=$chip VB_GPIO_SIM_SYSFS=$sysfs
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
    for name in ("test_open_errors", "test_busy_line", "test_lines",
                 "test_model_on_real_lines"):
        assert f"[       OK ] {name}" in result.console, result.console[-4000:]
    assert "SKIPPED" not in result.console, result.console[-4000:]
