"""The /dev/i2c-N back-end against real Linux adapters inside a guest,
driven by the aarch64 build of test/unit/test_i2c_hostdev: i2c-stub (an
SMBus-only adapter, so every transaction goes through the SMBus mapping)
with a chip at 0x50 for its test_stub_adapter, and the guest's virtio-i2c
adapter (I2C_FUNC_I2C, so transactions go out whole through I2C_RDWR),
served by a host virtiobox, for its test_rdwr_adapter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import vbtest
from harness import File, run_plain

UNIT = Path(os.environ.get("VB_HOSTDEV_TEST",
                           vbtest.REPO / "build" / "aarch64-release" / "unit" / "test_i2c_hostdev"))
CMOCKA = Path("/usr/lib/aarch64-linux-gnu/libcmocka.so.0")

SCRIPT = r"""
run insmod /test/i2c-stub.ko chip_addr=0x50
adapter=$(ls /sys/class/i2c-dev)
[ "$(echo "$adapter" | wc -w)" = 1 ] || fail "expected one adapter, got: $adapter"
echo "i2c-stub is /dev/$adapter: $(cat /sys/class/i2c-dev/$adapter/name)"
# A kernel driver (i2c-core's "dummy") holds 0x52: the back-end must not reach it.
echo dummy 0x52 > /sys/class/i2c-dev/$adapter/device/new_device || fail "cannot bind dummy at 0x52"
export VB_I2C_CLAIMED=0x52
export VB_I2C_STUB_DEV=/dev/$adapter LD_LIBRARY_PATH=/usr/local/lib CMOCKA_MESSAGE_OUTPUT=stdout
run /usr/local/bin/test_i2c_hostdev
"""


def test_hostdev_smbus_mapping_on_i2c_stub(images, report):
    if not UNIT.is_file():
        pytest.skip(f"{UNIT} is built by `scons test` (aarch64 unit tests)")
    assert CMOCKA.is_file(), "libcmocka0:arm64 is installed by setup.sh"
    result = report(run_plain(SCRIPT, timeout=60, files={
        "/usr/local/bin/test_i2c_hostdev": File(path=UNIT, mode=0o755),
        "/usr/local/lib/libcmocka.so.0": File(path=CMOCKA, mode=0o644),
        "/test/i2c-stub.ko": File(path=images["i2c_stub"], mode=0o644),
    }))
    result.check()
    assert "[       OK ] test_stub_adapter" in result.console, result.console[-3000:]


RDWR_SCRIPT = r"""
bus=$(i2cdetect -l | grep i2c_virtio | cut -f1)
[ -n "$bus" ] || fail "no virtio i2c adapter: $(i2cdetect -l)"
echo "virtio-i2c adapter is /dev/$bus"
# A kernel driver (i2c-core's "dummy") holds 0x51: I2C_RDWR must not reach it.
echo dummy 0x51 > /sys/class/i2c-dev/$bus/device/new_device || fail "cannot bind dummy at 0x51"
export VB_I2C_CLAIMED=0x51
export VB_I2C_RDWR_DEV=/dev/$bus LD_LIBRARY_PATH=/usr/local/lib CMOCKA_MESSAGE_OUTPUT=stdout
run /usr/local/bin/test_i2c_hostdev
"""


def test_hostdev_rdwr_on_virtio_adapter(images, serve, report):
    """The I2C_RDWR path of the /dev/i2c-N back-end needs an adapter with
    I2C_FUNC_I2C: the guest's own virtio-i2c adapter is one, served by a host
    virtiobox on board/host-sim.conf. The aarch64 test_i2c_hostdev runs its
    test_rdwr_adapter there: repeated-start reads, a page write no SMBus call
    can express, a refused address failing the whole transaction (the
    adapter reports it as a short count, not an errno), and an address a
    guest kernel driver holds refused with EBUSY before any transfer."""
    if not UNIT.is_file():
        pytest.skip(f"{UNIT} is built by `scons test` (aarch64 unit tests)")
    server = serve(vbtest.board_text(packed=True))
    result = report(run_plain(RDWR_SCRIPT, vbtest.qemu_args(server.sock, "mmio", True),
                              timeout=60, files={
        "/usr/local/bin/test_i2c_hostdev": File(path=UNIT, mode=0o755),
        "/usr/local/lib/libcmocka.so.0": File(path=CMOCKA, mode=0o644),
    }))
    result.check()
    assert "[       OK ] test_rdwr_adapter" in result.console, result.console[-3000:]
