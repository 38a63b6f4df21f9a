"""Plain QEMU scenario: the project kernel and guest image boot, the
per-run script and files arrive, verdicts and timeouts come back right."""

from __future__ import annotations

import os
from pathlib import Path

from harness import File, run_plain

SCRIPT = """
expect_eq "$(cat /etc/greeting)" "hello guest" "per-run file"
run test -x /usr/local/bin/tool.sh
expect_eq "$(/usr/local/bin/tool.sh)" "tool ran" "per-run executable"
run i2cdetect -l
run gpiodetect
run socat -V
run grep -q configfs /proc/filesystems
"""


def test_guest_boots_and_runs_script(images, report):
    result = report(run_plain(SCRIPT, timeout=60, files={
        "/etc/greeting": "hello guest",
        "/usr/local/bin/tool.sh": File(content="#!/bin/sh\necho tool ran\n", mode=0o755),
    }))
    result.check()
    assert "VIRTIOBOX-INIT: guest up" in result.console
    assert result.console.count("VIRTIOBOX-RESULT:") == 1
    assert result.log_path is None  # deleted after a pass


def test_failure_carries_reason_and_keeps_log(images, report):
    result = report(run_plain('echo before; fail "deliberate failure 42"; echo never', timeout=60), "expected FAIL")
    assert result.verdict == "FAIL"
    assert result.reason == "deliberate failure 42"
    assert "never" not in result.console
    assert result.log_path and result.log_path.is_file()
    assert str(result.log_path) in result.summary()
    result.log_path.unlink()


def test_nonzero_exit_is_failure(images, report):
    result = report(run_plain("false", timeout=60), "expected FAIL")
    assert result.verdict == "FAIL"
    assert result.reason == "test script exited with status 1"
    result.log_path.unlink()


def test_timeout_kills_qemu(images, report):
    result = report(run_plain("echo sleeping; sleep 600", timeout=8), "expected timeout")
    assert result.verdict == "FAIL" and result.timed_out
    assert "timed out after 8 s" in result.reason
    assert result.seconds < 20
    initrd = result.command[result.command.index("-initrd") + 1]
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, initrd)]
    assert not left, f"QEMU processes left behind: {left}"
    result.log_path.unlink()


def _cmdline_has(proc: Path, text: str) -> bool:
    try:
        return text.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False
