"""Runs one QEMU process with a hard timeout, streaming its serial console
into a log file, and turns the console into a verdict."""

from __future__ import annotations

import os
import re
import select
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[2]
LOG_DIR = REPO / "test-logs"

# The last line a guest's /init prints. A domU's line comes back through dom0
# prefixed "[name] ", so it never counts as the run's verdict.
VERDICT = re.compile(r"^VIRTIOBOX-RESULT: (PASS|FAIL)(?: (.*))?$", re.M)
DOMU_VERDICT = re.compile(r"^\[([^\]\s]+)\] VIRTIOBOX-RESULT: (PASS|FAIL)(?: (.*))?$", re.M)
# How long QEMU may take to power off after the verdict line.
POWEROFF_GRACE = 20.0


@dataclass
class Result:
    """What one emulated run gave.

    verdict   "PASS" or "FAIL"
    reason    why it failed ("" on PASS): the script's own reason, or a
              timeout, a panic, QEMU exiting without a verdict...
    console   the whole serial console (\\r removed)
    log_path  the console log under test-logs/ (kept on failure, or when
              asked to keep logs; None when deleted after a pass)
    seconds   wall time of the QEMU run
    domus     {domU name: (verdict, reason)} for each domU verdict dom0 printed
    timed_out True if the hard timeout killed QEMU
    command   the QEMU command line
    """

    verdict: str
    reason: str
    console: str
    log_path: Path | None
    seconds: float
    domus: dict[str, tuple[str, str]] = field(default_factory=dict)
    timed_out: bool = False
    command: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict == "PASS"

    @property
    def console_text(self) -> str:
        return self.console

    def summary(self, tail: int = 30) -> str:
        text = f"{self.verdict}"
        if self.reason:
            text += f": {self.reason}"
        text += f" ({self.seconds:.1f} s)"
        if self.log_path:
            text += f"\nfull console log: {self.log_path}"
        if not self.passed and tail:
            lines = self.console.splitlines()[-tail:]
            text += "\nlast console lines:\n  " + "\n  ".join(lines)
        return text

    def check(self) -> "Result":
        """Raises AssertionError (with reason, log path and console tail)
        unless the run passed; returns self for chaining."""
        if not self.passed:
            raise AssertionError(self.summary())
        return self


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def new_log_path(name: str) -> Path:
    LOG_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]
    return LOG_DIR / f"{safe}-{stamp}-{os.getpid()}.log"


def run(cmd: Sequence[str], timeout: float, name: str, keep_log: bool = False) -> Result:
    """Runs `cmd` (a QEMU command line) in its own process group with
    stdin closed; the console goes to test-logs/<name>-<time>-<pid>.log as
    it comes. After `timeout` seconds, or POWEROFF_GRACE seconds after the
    verdict line, the whole process group is killed; nothing is left
    behind even if the caller is interrupted."""
    keep_log = keep_log or bool(os.environ.get("VIRTIOBOX_KEEP_LOGS"))
    log_path = new_log_path(name)
    chunks: list[bytes] = []
    start = time.monotonic()
    deadline = start + timeout
    timed_out = False
    verdict_seen_at = None
    with open(log_path, "wb") as log:
        log.write(("# " + shlex.join(cmd) + "\n").encode())
        log.flush()
        proc = subprocess.Popen(
            list(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            fd = proc.stdout.fileno()
            tail = b""
            while True:
                now = time.monotonic()
                limit = deadline if verdict_seen_at is None else min(deadline, verdict_seen_at + POWEROFF_GRACE)
                if now >= limit:
                    timed_out = verdict_seen_at is None
                    break
                ready, _, _ = select.select([fd], [], [], min(1.0, limit - now))
                if not ready:
                    continue
                data = os.read(fd, 65536)
                if not data:
                    break
                chunks.append(data)
                log.write(data)
                log.flush()
                tail = (tail + data)[-4096:]
                if verdict_seen_at is None and VERDICT.search(tail.decode("utf-8", "replace").replace("\r", "")):
                    verdict_seen_at = time.monotonic()
        finally:
            _kill_group(proc)
            proc.stdout.close()
    seconds = time.monotonic() - start
    console = b"".join(chunks).decode("utf-8", "replace").replace("\r", "")
    verdict, reason = judge(console, timed_out, timeout, proc.returncode)
    domus = {m.group(1): (m.group(2), m.group(3) or "") for m in DOMU_VERDICT.finditer(console)}
    result = Result(verdict, reason, console, log_path, seconds, domus, timed_out, list(cmd))
    if result.passed and not keep_log:
        log_path.unlink()
        result.log_path = None
    return result


def judge(console: str, timed_out: bool, timeout: float, status: int | None) -> tuple[str, str]:
    """The verdict of a console: its last verdict line, else the most
    telling failure found in it."""
    found = list(VERDICT.finditer(console))
    if found:
        last = found[-1]
        return last.group(1), (last.group(2) or "").strip() if last.group(1) == "FAIL" else ""
    for pattern, what in (
        (r"^.*Kernel panic - not syncing.*$", "kernel panic"),
        (r"^.*Panic on CPU \d+.*$", "Xen panic"),
        (r"^.*Dom0 crashed.*$", "dom0 crashed"),
    ):
        m = re.search(pattern, console, re.M)
        if m:
            return "FAIL", f"{what}: {m.group(0).strip()}"
    if timed_out:
        return "FAIL", f"timed out after {timeout:.0f} s without a verdict line"
    errors = [line for line in re.findall(r"^qemu-system-\S+: .*$", console, re.M)
              if "warning:" not in line and "terminating on signal" not in line]
    if errors:
        return "FAIL", f"QEMU error: {errors[-1].strip()}"
    return "FAIL", f"QEMU exited (status {status}) without a verdict line"
