"""Shared set-up of the emulation tests: the harness on sys.path, the
images built once per session, and a table of run times at the end."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import ensure_images  # noqa: E402

_runs: list[tuple[str, str, float]] = []


@pytest.fixture(scope="session")
def images():
    """Every artefact, built on first use (a cold cache takes ~10 minutes on
    2 cores: kernel ~8, Xen ~1, images ~1); instant when cached."""
    start = time.monotonic()
    paths = ensure_images("all")
    took = time.monotonic() - start
    if took > 5:
        _runs.append(("image build (test/images/build.sh all)", "built", took))
    return paths


@pytest.fixture
def report(request):
    """report(result): records the run's verdict and time for the summary
    at the end, prints them, and returns the result."""

    def record(result, what: str = ""):
        label = request.node.nodeid + (f" [{what}]" if what else "")
        _runs.append((label, result.verdict, result.seconds))
        print(f"{label}: {result.verdict} in {result.seconds:.1f} s"
              + (f" (log: {result.log_path})" if result.log_path else ""))
        return result

    return record


def pytest_terminal_summary(terminalreporter):
    if not _runs:
        return
    terminalreporter.section("virtiobox emulation run times")
    for label, verdict, seconds in _runs:
        terminalreporter.write_line(f"{seconds:7.1f} s  {verdict:5}  {label}")
