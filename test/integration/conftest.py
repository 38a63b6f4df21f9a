"""Fixtures of the i2c integration tests: the guest images, the native
virtiobox binary, and servers that are stopped with SIGTERM at the end of
each test, which must then exit 0 with no unexpected error in their log."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import vbtest  # noqa: E402
from harness import ensure_images  # noqa: E402


@pytest.fixture(scope="session")
def images():
    """The project kernel and the guest image (built on first use)."""
    return ensure_images("kernel", "guest")


@pytest.fixture(scope="session")
def virtiobox_bin():
    if not vbtest.VIRTIOBOX.is_file():
        pytest.fail(f"{vbtest.VIRTIOBOX} missing: build it with `scons`")
    return vbtest.VIRTIOBOX


@pytest.fixture
def report(request):
    """report(result, what) prints the run's verdict and time, returns it."""

    def record(result, what: str = ""):
        label = request.node.nodeid + (f" [{what}]" if what else "")
        print(f"{label}: {result.verdict} in {result.seconds:.1f} s"
              + (f" (log: {result.log_path})" if result.log_path else ""))
        return result

    return record


@pytest.fixture
def serve(tmp_path, virtiobox_bin):
    """serve(board_text) -> a running vbtest.Server on a board written to
    tmp_path, sockets in tmp_path/run. At teardown each server must still
    be alive, exit 0 on SIGTERM and have logged nothing unexpected."""
    servers: list[vbtest.Server] = []

    def start(text: str, name: str = "board",
              socket_name: str = vbtest.SOCKET_NAME, args: tuple[str, ...] = ()) -> vbtest.Server:
        board = tmp_path / f"{name}.conf"
        board.write_text(text)
        server = vbtest.Server(board, tmp_path / "run", name=f"virtiobox-{name}",
                               socket_name=socket_name, args=args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        stopped_by_test = server.returncode is not None
        alive = stopped_by_test or server.alive()
        status = server.stop()
        log = server.log()
        assert alive, f"virtiobox died during the test:\n{log}"
        assert status == 0, f"virtiobox exited {status} on SIGTERM:\n{log}"
        assert "stopped" in log, log
        bad = server.unexpected_lines()
        assert not bad, "unexpected log lines:\n" + "\n".join(bad)
