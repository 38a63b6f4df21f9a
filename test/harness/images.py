"""Finds (and if needed builds) the emulation artefacts through
test/images/build.sh, which keeps them in the cache keyed by their inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_SH = REPO / "test" / "images" / "build.sh"
TARGETS = ("kernel", "xen", "xen-debian", "xen-userland", "guest", "dom0", "xsm-policy")


class ImageBuildError(RuntimeError):
    pass


# Paths build.sh printed, and the targets it confirmed, in this process:
# build.sh runs at most once per target and process.
_paths: dict[str, Path] = {}
_ready: set[str] = set()


def ensure(*targets: str) -> dict[str, Path]:
    """Builds the given build.sh targets if needed (kernel, xen,
    xen-debian, xen-userland, guest, dom0, xsm-policy, all) and returns
    every path build.sh printed so far (kernel, i2c_stub, kernel_config,
    xen, xen_debian, xen_userland, guest, dom0, xsm_policy).
    A build's progress goes to stderr; a cold cache takes ~11 minutes."""
    wanted: list[str] = []
    for target in targets or ("all",):
        target = target.replace("_", "-")
        if target == "all":
            wanted.extend(TARGETS)
        elif target in TARGETS:
            wanted.append(target)
        else:
            raise ValueError(f"unknown image target {target!r} (one of {', '.join(TARGETS)}, all)")
    todo = [t for t in dict.fromkeys(wanted) if t not in _ready]
    if todo:
        proc = subprocess.run([str(BUILD_SH), *todo], stdout=subprocess.PIPE, stderr=sys.stderr,
                              text=True, check=False)
        if proc.returncode != 0:
            raise ImageBuildError(
                f"{BUILD_SH} {' '.join(todo)} failed (status {proc.returncode}); its messages are above")
        for line in proc.stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                _paths[key] = Path(value)
        _ready.update(todo)
    return dict(_paths)
