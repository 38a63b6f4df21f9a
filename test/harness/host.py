"""A host process for the duration of a test, e.g. a vhost-user back-end
that QEMU connects to: started in its own process group, output to a log
under test-logs/, and the whole group killed on stop()."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Mapping, Sequence

from .qemu import new_log_path


class HostProcess:
    """    with HostProcess(["build/host-debug/virtiobox", "--board", b], "virtiobox") as be:
            be.wait_for_path(sock)
            run_plain(script, ["-chardev", f"socket,id=c0,path={sock}", ...]).check()
        print(be.output())
    """

    def __init__(self, argv: Sequence[str], name: str = "host", env: Mapping[str, str] | None = None,
                 cwd: str | Path | None = None):
        self.argv = list(argv)
        self.log_path = new_log_path(f"{name}-host")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True, env={**os.environ, **(env or {})}, cwd=cwd,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_for_path(self, path: str | Path, timeout: float = 10.0) -> None:
        """Waits until `path` exists (e.g. the listening socket); raises
        RuntimeError if the process ends or `timeout` passes first."""
        end = time.monotonic() + timeout
        while not Path(path).exists():
            if not self.alive():
                raise RuntimeError(f"{self.argv[0]} exited ({self.proc.returncode}) before creating "
                                   f"{path}:\n{self.output()}")
            if time.monotonic() > end:
                raise RuntimeError(f"{path} did not appear within {timeout} s; log: {self.log_path}")
            time.sleep(0.05)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM to the process group, SIGKILL after `timeout`; returns
        the exit status (negative: killed by that signal)."""
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if not self._log.closed:
            self._log.close()
        return self.proc.returncode

    def __enter__(self) -> "HostProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
