"""The two ways to boot a test: a plain QEMU guest, and Xen with dom0 (and
domUs created by the dom0 script). Both boot a cached image plus a small
per-run initramfs holding the test script(s) and extra files."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence, Union

from . import cpio, images, qemu
from .cpio import FileSpec

REPO = images.REPO
DEFAULT_VIRTIOBOX = REPO / "build" / "aarch64-release" / "main" / "virtiobox"
GUEST_VIRTIOBOX = "/usr/local/bin/virtiobox"
QEMU = os.environ.get("VIRTIOBOX_QEMU", "qemu-system-aarch64")


@dataclass
class DomU:
    """A domU's test script and extra files ({guest path: spec}). The dom0
    script creates the domU (domu_config/domu_create, see dom0lib.sh); its
    /init then runs `script` and prints its verdict on the domU console."""

    script: str
    files: Mapping[str, FileSpec] = field(default_factory=dict)


def _caller_name() -> str:
    # pytest sets this to "path::test (call)"; it names the console log.
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    return re.sub(r"\s*\(.*\)$", "", current.split("::")[-1]) if current else "manual"


def _initrd(base: Path, extra: Mapping[str, FileSpec], workdir: Path) -> Path:
    """The cached image followed by the per-run archive, as one file."""
    path = workdir / "initrd.cpio.gz"
    with open(path, "wb") as out:
        out.write(base.read_bytes())
        out.write(cpio.build(extra))
    return path


def plain_command(kernel: Path, initrd: Path, qemu_args: Sequence[str] = (), append: str = "",
                  memory: str = "512M", smp: int = 1) -> list[str]:
    """The QEMU command line of a plain guest. Guest RAM is a shared memfd
    so that vhost-user back-ends can map it."""
    return [
        QEMU, "-M", "virt,gic-version=3,memory-backend=mem", "-cpu", "cortex-a57",
        "-m", memory, "-smp", str(smp), "-nographic", "-nic", "none", "-no-reboot",
        "-object", f"memory-backend-memfd,id=mem,size={memory},share=on",
        "-kernel", str(kernel), "-initrd", str(initrd),
        "-append", f"console=ttyAMA0 panic=-1 {append}".strip(),
        *qemu_args,
    ]


def prepare_plain(script: str, workdir: Path, qemu_args: Sequence[str] = (), *,
                  files: Mapping[str, FileSpec] | None = None, append: str = "",
                  memory: str = "512M", smp: int = 1) -> list[str]:
    """Writes the run's initramfs into `workdir` and returns the QEMU
    command line of a plain run (see run_plain)."""
    paths = images.ensure("kernel", "guest")
    extra = {"/test/run.sh": script, **(files or {})}
    initrd = _initrd(paths["guest"], extra, workdir)
    return plain_command(paths["kernel"], initrd, qemu_args, append, memory, smp)


def run_plain(script: str, qemu_args: Sequence[str] = (), timeout: float = 60.0, *,
              files: Mapping[str, FileSpec] | None = None, append: str = "",
              memory: str = "512M", smp: int = 1, name: str | None = None,
              keep_log: bool = False) -> qemu.Result:
    """Boots the project kernel with the guest image in plain QEMU and runs
    `script` (POSIX sh, busybox) as /test/run.sh, with testlib.sh's helpers
    (fail, run, expect_eq, wait_for, bg_start, gpio_sim_create...).

    qemu_args  extra QEMU arguments, e.g. ["-chardev",
               "socket,id=c0,path=SOCK", "-device",
               "vhost-user-i2c-device,chardev=c0"]; start the back-end first.
    files      extra guest files {guest path: text | bytes | Path | File}.
    append     extra kernel command line.
    timeout    hard limit in seconds; QEMU's process group is killed then.
    Returns a Result; result.check() raises unless it passed."""
    with tempfile.TemporaryDirectory(prefix="virtiobox-run-") as tmp:
        cmd = prepare_plain(script, Path(tmp), qemu_args, files=files, append=append,
                            memory=memory, smp=smp)
        return qemu.run(cmd, timeout, name or _caller_name(), keep_log)


def xen_command(xen: Path, kernel: Path, initrd: Path, qemu_args: Sequence[str] = (),
                xen_append: str = "", dom0_append: str = "", dom0_mem: str = "512M") -> list[str]:
    """The QEMU command line booting Xen, with dom0's kernel and initramfs
    loaded by guest-loader devices."""
    bootargs = f"console=hvc0 earlycon=xenboot panic=-1 {dom0_append}".strip().replace(",", ",,")
    return [
        QEMU, "-M", "virt,virtualization=on,gic-version=3", "-cpu", "cortex-a57",
        "-smp", "2", "-m", "2G", "-nographic", "-nic", "none", "-no-reboot",
        "-kernel", str(xen),
        "-append", f"dom0_mem={dom0_mem} console=dtuart dtuart=/pl011@9000000 loglvl=all "
                   f"guest_loglvl=all {xen_append}".strip(),
        "-device", f"guest-loader,addr=0x49000000,kernel={kernel},bootargs={bootargs}",
        "-device", f"guest-loader,addr=0x50000000,initrd={initrd}",
        *qemu_args,
    ]


def _virtiobox_file(virtiobox: Union[str, Path, bool, None]) -> Path | None:
    if virtiobox is False:
        return None
    if virtiobox is None or virtiobox is True:
        if DEFAULT_VIRTIOBOX.is_file():
            return DEFAULT_VIRTIOBOX
        if virtiobox is True:
            raise FileNotFoundError(
                f"{DEFAULT_VIRTIOBOX} missing: build it with `scons CROSS_COMPILE=aarch64-linux-gnu-`")
        return None
    path = Path(virtiobox)
    if not path.is_file():
        raise FileNotFoundError(f"virtiobox binary {path} does not exist")
    return path


def prepare_xen(script: str, workdir: Path, *,
                domus: Mapping[str, Union[str, DomU]] | None = None,
                files: Mapping[str, FileSpec] | None = None,
                virtiobox: Union[str, Path, bool, None] = None,
                qemu_args: Sequence[str] = (), xen_append: str = "", dom0_append: str = "",
                dom0_mem: str = "512M", xen: Union[str, Path, None] = None) -> list[str]:
    """Writes the run's dom0 initramfs into `workdir` and returns the QEMU
    command line of a Xen run (see run_xen)."""
    paths = images.ensure("kernel", "xen", "dom0")
    extra: dict[str, FileSpec] = {"/test/run.sh": script}
    for domu_name, spec in (domus or {}).items():
        domu = spec if isinstance(spec, DomU) else DomU(spec)
        archive = cpio.build({"/test/run.sh": domu.script, **domu.files})
        extra[f"/test/domu/{domu_name}.cpio.gz"] = cpio.File(content=archive, mode=0o644)
    binary = _virtiobox_file(virtiobox)
    if binary:
        extra[GUEST_VIRTIOBOX] = cpio.File(path=binary, mode=0o755)
    extra.update(files or {})
    initrd = _initrd(paths["dom0"], extra, workdir)
    return xen_command(Path(xen) if xen else paths["xen"], paths["kernel"], initrd, qemu_args,
                       xen_append, dom0_append, dom0_mem)


def run_xen(script: str, timeout: float = 300.0, *,
            domus: Mapping[str, Union[str, DomU]] | None = None,
            files: Mapping[str, FileSpec] | None = None,
            virtiobox: Union[str, Path, bool, None] = None,
            qemu_args: Sequence[str] = (), xen_append: str = "", dom0_append: str = "",
            dom0_mem: str = "512M", name: str | None = None,
            keep_log: bool = False, xen: Union[str, Path, None] = None) -> qemu.Result:
    """Boots Xen 4.20 (with IOREQ) and dom0 in QEMU; dom0's /init starts
    xenstored, xen-init-dom0 and xenconsoled, then runs `script` as
    /test/run.sh with testlib.sh and dom0lib.sh sourced (domu_config,
    domu_create, domu_wait, domu_expect_pass, i2c_stub_load, ...).

    domus      {name: script or DomU}: each becomes /test/domu/<name>.cpio.gz,
               which domu_config appends to the domU's initramfs.
    virtiobox  the static aarch64 binary to put at /usr/local/bin/virtiobox:
               None = build/aarch64-release/main/virtiobox if it exists, True =
               that one and it must exist, False = none, or a path.
    files      extra dom0 files {guest path: text | bytes | Path | File}.
    xen        the hypervisor to boot instead of the project's (with IOREQ),
               e.g. images["xen_debian"], Debian's own.
    timeout    hard limit in seconds; QEMU's process group is killed then.
    Returns a Result; result.domus has each domU's verdict."""
    with tempfile.TemporaryDirectory(prefix="virtiobox-run-") as tmp:
        cmd = prepare_xen(script, Path(tmp), domus=domus, files=files, virtiobox=virtiobox,
                          qemu_args=qemu_args, xen_append=xen_append, dom0_append=dom0_append,
                          dom0_mem=dom0_mem, xen=xen)
        return qemu.run(cmd, timeout, name or _caller_name(), keep_log)
