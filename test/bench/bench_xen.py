#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Xen benchmark: emulated Xen 4.20 (QEMU TCG), the static aarch64
virtiobox in dom0 serving one domU's two virtio-i2c devices over grants
(grant_usage=1), each a simulated 24C02 at 0x50.

1. Grant map, unmap and copy calls per request and per batch (counted by
   virtiobox, not timed). The domU runs test/bench/guest/i2c_loop.c
   (SMBus "read byte data": Linux's virtio_i2c driver queues two requests,
   register address then data byte, and kicks once, so one transfer is one
   batch of two requests) N_A times on device a and N_B times on device b.
   Both devices see the same probe and ring set-up, so the difference of
   their teardown counters ("grant memory released after X map and Y unmap
   calls ..., Z copy calls") over N_B - N_A transfers is the data path's
   cost alone. Small batches are copied (one grant copy call for what the
   device reads, one for what it writes back) rather than mapped.
2. One transport register read as the guest sees it
   (test/bench/guest/reg_loop.c): through sysfs ("status" makes the kernel
   read the Status register, "device" is answered from memory; the
   difference is the register read) and directly, a 32-bit load of Status
   (0x70) and of the first config-space word (0x100) from the transport
   window mapped through /dev/mem. Under Xen each is a trap and an IOREQ
   round trip to virtiobox in dom0. Baseline, in the same run: the same
   program in a plain QEMU guest whose virtio-i2c is served by virtiobox
   over vhost-user; there QEMU's virtio-mmio answers both itself (QEMU's
   vhost-user-i2c has no config space; where a vhost-user device has one,
   e.g. vhost-user-gpio, QEMU answers from the copy GET_CONFIG fetched at
   start-up), so the vhost-user path's config read never reaches the
   back-end.

Prints tables and asserts nothing about speed; times are guest wall-clock
under TCG emulation: compare rows of one run, not machines."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test"))
sys.path.insert(0, str(REPO / "test" / "integration"))
sys.path.insert(0, str(REPO / "test" / "system"))

import vbtest  # noqa: E402
from harness import DomU, File, ensure_images, run_plain, run_xen  # noqa: E402
from test_xen import BINARY, DOM0_LIB, DOMU_LIB, virtio_i2c  # noqa: E402

N_A, N_B = 100, 400  # i2c transfers on device a and on device b
N_REG = 1000
REG_ATTRS = ("device", "status", "mmio-status", "mmio-config")
INDIRECT_DESC = 28  # VIRTIO_RING_F_INDIRECT_DESC, a bit of sysfs "features"

LOOP_RE = re.compile(r"I2C-LOOP bus=(\S+) n=(\d+) ns_total=(\d+)")
REG_RE = re.compile(r"REG-LOOP attr=([\w-]+) n=(\d+) ns_total=(\d+) p50_ns=(\d+) p99_ns=(\d+)")
GNT_RE = re.compile(r"guest1/([ab]): domain \d+: grant memory released after (\d+) map and "
                    r"(\d+) unmap calls \((\d+) pages, (\d+) maps refused\), (\d+) copy calls")
I2C_RE = re.compile(r"guest1/([ab]): (\d+) requests in (\d+) transactions")
IOREQ_RE = re.compile(r"guest1 \(domain \d+\): (\d+) register reads, (\d+) writes")

DEVICE = '{ type = "i2c"; name = "%s"; bus = "sim"; chips = ( { type = "24c02"; address = 0x50; } ); }'
BOARD = ('name = "xen-bench";\nguests = ( { domain = "guest1"; transport = "xen-mmio";\n'
         f'  devices = ( {DEVICE % "a"}, {DEVICE % "b"} ); }} );\n')

DOM0 = DOM0_LIB + rf"""
cat >/tmp/board.cfg <<'BOARD'
{BOARD}BOARD
vb_start /tmp/board.cfg
domu_config guest1 --virtio "{virtio_i2c(1)}" --virtio "{virtio_i2c(1)}" >/dev/null
domu_create guest1 -p
vb_wait_served guest1 2
run xl unpause guest1
domu_expect_pass guest1 480
# The domU powers off after its verdict; its devices are torn down then.
rm -f "$VB_RUN/guest1.domid"
xl destroy guest1 2>/dev/null || true
wait_for 15 sh -c "grep -q 'register reads' $VB_RUN/virtiobox.log"
bg_alive virtiobox || fail "virtiobox died"
bg_stop virtiobox
"""

DOMU = DOMU_LIB + rf"""
a=$(adapter_at 2000000) || fail "no i2c adapter on virtio@2000000: $(i2cdetect -l)"
b=$(adapter_at 2000200) || fail "no i2c adapter on virtio@2000200: $(i2cdetect -l)"
echo "BENCH-ADAPTERS a=i2c-$a b=i2c-$b"
run /test/i2c_loop "$a" 0x50 {N_A}
run /test/i2c_loop "$b" 0x50 {N_B}
dev=$(ls -d /sys/bus/platform/devices/2000000.virtio/virtio[0-9]*) || fail "no virtio device at 2000000"
echo "BENCH-FEATURES $(cat $dev/features)"
run /test/reg_loop "$dev" {N_REG}
"""

QEMU_GUEST = rf"""
dev=""
for d in /sys/bus/virtio/devices/*; do [ "$(cat $d/device)" = 0x0022 ] && dev=$d; done
[ -n "$dev" ] || fail "no virtio-i2c device"
run /test/reg_loop "$dev" {N_REG}
"""


def build_guest_program(name: str, out: Path) -> Path:
    src = Path(__file__).with_name("guest") / f"{name}.c"
    subprocess.run(["aarch64-linux-gnu-gcc", "-static", "-O2", "-std=c11", "-Wall", "-Wextra",
                    "-Werror", "-D_GNU_SOURCE", "-o", str(out), str(src)], check=True)
    return out


def reg_rows(console: str, where: str) -> dict[str, tuple[int, int, int]]:
    rows = {m.group(1): tuple(int(v) for v in m.groups()[1:]) for m in REG_RE.finditer(console)}
    if set(rows) != set(REG_ATTRS):
        raise SystemExit(f"bench_xen: no reg_loop results from {where}:\n{console[-4000:]}")
    return rows


def run_domu(loop: Path, reg: Path) -> dict:
    if not BINARY.is_file():
        raise SystemExit(f"bench_xen: {BINARY} missing (scons CROSS_COMPILE=aarch64-linux-gnu-)")
    files = {"/test/i2c_loop": File(path=loop, mode=0o755), "/test/reg_loop": File(path=reg, mode=0o755)}
    result = run_xen(DOM0, timeout=600, virtiobox=BINARY, domus={"guest1": DomU(DOMU, files=files)})
    result.check()
    console = re.sub(r"^\[guest1\] ", "", result.console, flags=re.M)
    adapters = re.search(r"BENCH-ADAPTERS a=i2c-(\d+) b=i2c-(\d+)", console)
    features = re.search(r"BENCH-FEATURES ([01]+)", console)
    loops = {m.group(1): int(m.group(2)) for m in LOOP_RE.finditer(console)}
    gnt = {m.group(1): tuple(int(v) for v in m.groups()[1:]) for m in GNT_RE.finditer(console)}
    i2c = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in I2C_RE.finditer(console)}
    ioreq = IOREQ_RE.search(console)
    if (set(i2c) != {"a", "b"} or not adapters or not features or loops.get(adapters.group(1)) != N_A
            or loops.get(adapters.group(2)) != N_B or set(gnt) != {"a", "b"} or not ioreq):
        raise SystemExit(f"bench_xen: missing results in the console:\n{console[-6000:]}")
    bits = features.group(1)
    return {"gnt": gnt, "i2c": i2c, "reg": reg_rows(console, "the domU"),
            "ioreq": (int(ioreq.group(1)), int(ioreq.group(2))),
            "indirect": len(bits) > INDIRECT_DESC and bits[INDIRECT_DESC] == "1"}


def run_qemu(reg: Path, tmp: Path) -> dict:
    board = tmp / "board.conf"
    board.write_text(vbtest.board_text(packed=False))
    server = vbtest.Server(board, tmp / "run", name="virtiobox-bench-xen")
    try:
        result = run_plain(QEMU_GUEST, vbtest.qemu_args(server.sock, "mmio", False), timeout=300,
                           files={"/test/reg_loop": File(path=reg, mode=0o755)})
    finally:
        server.stop()
    result.check()
    return reg_rows(result.console, "the QEMU guest")


def main() -> int:
    ensure_images("all")
    with tempfile.TemporaryDirectory(prefix="vb-bench-xen-") as d:
        loop = build_guest_program("i2c_loop", Path(d) / "i2c_loop")
        reg = build_guest_program("reg_loop", Path(d) / "reg_loop")
        xen = run_domu(loop, reg)
        qemu_reg = run_qemu(reg, Path(d))

    gnt, i2c = xen["gnt"], xen["i2c"]
    # virtiobox's own counts (i2c model at stop): one SMBus byte read is one
    # transaction of two requests, queued by one kick: one batch.
    requests = i2c["b"][0] - i2c["a"][0]
    transfers = i2c["b"][1] - i2c["a"][1]
    print(f"Xen grants (grant_usage=1), virtio-i2c: device b's {N_B} SMBus byte reads minus "
          f"device a's {N_A}: {requests} requests in {transfers} transactions (one kick, one "
          "batch each); library calls counted by virtiobox")
    print(f"{'device':<28} {'map calls':>10} {'unmap calls':>12} {'pages':>8} {'refused':>8} "
          f"{'copy calls':>11}")
    for dev in ("a", "b"):
        maps, unmaps, pages, refused, copies = gnt[dev]
        print(f"{f'{dev}: {i2c[dev][0]} requests':<28} {maps:>10} {unmaps:>12} {pages:>8} "
              f"{refused:>8} {copies:>11}")
    dm, du, dp, _, dc = (gnt["b"][i] - gnt["a"][i] for i in range(5))
    print(f"{'per batch (b - a)':<28} {dm / transfers:>10.2f} {du / transfers:>12.2f} "
          f"{dp / transfers:>8.2f} {'':>8} {dc / transfers:>11.2f}")
    print(f"{'per request (b - a)':<28} {dm / requests:>10.2f} {du / requests:>12.2f} "
          f"{dp / requests:>8.2f} {'':>8} {dc / requests:>11.2f}")
    if xen["indirect"]:
        # Linux puts a chain of more than one buffer in an indirect table:
        # the batch's tables are read (one copy call) before the buffers
        # they name are known (one copy call in, one out).
        print("VIRTIO_RING_F_INDIRECT_DESC negotiated: per batch, one call reads the indirect "
              "tables, one the requests' readable buffers, one writes the writable ones back")
    reads, writes = xen["ioreq"]
    print(f"IOREQ server of guest1 over the whole run: {reads} register reads, {writes} writes "
          f"(probe, {N_A + N_B} transfers, {N_REG} sysfs Status reads, {N_REG} direct Status and {N_REG} config reads)")
    print()
    print(f"register read as the guest sees it, {N_REG} reads per cell, TCG: sysfs 'status' minus "
          "sysfs 'device' (one Status read by the kernel), and a direct 32-bit load of Status "
          "(0x70) and of config space (0x100) through /dev/mem")
    print(f"{'path':<44} {'sysfs us':>9} {'Status us':>10} {'p50':>7} {'p99':>8} "
          f"{'config us':>10} {'p50':>7} {'p99':>8} {'config x QEMU':>14}")
    base = qemu_reg["mmio-config"]
    for label, rows in (("QEMU virtio-mmio, vhost-user i2c (baseline)", qemu_reg),
                        ("Xen IOREQ -> virtiobox in dom0 (grants)", xen["reg"])):
        mean = {a: rows[a][1] / rows[a][0] / 1e3 for a in REG_ATTRS}
        st, cf = rows["mmio-status"], rows["mmio-config"]
        print(f"{label:<44} {mean['status'] - mean['device']:>9.1f} {mean['mmio-status']:>10.1f} "
              f"{st[2] / 1e3:>7.1f} {st[3] / 1e3:>8.1f} {mean['mmio-config']:>10.1f} "
              f"{cf[2] / 1e3:>7.1f} {cf[3] / 1e3:>8.1f} "
              f"{mean['mmio-config'] / (base[1] / base[0] / 1e3):>14.1f}", flush=True)
    print("us: mean per read (p50, p99: medians and 99th percentiles); config x QEMU: the mean "
          "config read over the baseline's. QEMU answers both registers itself; under Xen both "
          "are IOREQ round trips to virtiobox")
    return 0


if __name__ == "__main__":
    sys.exit(main())
