"""Finds (and if needed builds) the emulation artefacts through
test/images/build.sh, which keeps them in the cache keyed by their inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_SH = REPO / "test" / "images" / "build.sh"

# name -> path, filled by ensure(); build.sh runs once per target and process.
_known: dict[str, Path] = {}


class ImageBuildError(RuntimeError):
    pass


def ensure(*targets: str) -> dict[str, Path]:
    """Builds the given build.sh targets if needed (kernel, xen,
    xen-userland, guest, dom0) and returns every path build.sh printed
    (kernel, i2c_stub, kernel_config, xen, xen_userland, guest, dom0).
    Progress of a build goes to stderr; the first build takes ~10 minutes."""
    todo = [t.replace("_", "-") for t in targets if t.replace("-", "_") not in _built_targets]
    if todo:
        proc = subprocess.run(
            [str(BUILD_SH), *todo], stdout=subprocess.PIPE, stderr=sys.stderr, text=True, check=False
        )
        if proc.returncode != 0:
            raise ImageBuildError(
                f"{BUILD_SH} {' '.join(todo)} failed (status {proc.returncode}); its messages are above"
            )
        for line in proc.stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                _known[key] = Path(value)
        _built_targets.update(t.replace("-", "_") for t in todo)
    return dict(_known)


_built_targets: set[str] = set()
