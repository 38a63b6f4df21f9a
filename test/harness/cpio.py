"""A small writer for initramfs archives ("newc" cpio, gzip-compressed).

Linux unpacks concatenated archives as one initramfs, so the harness appends
such a small archive (the test script, virtiobox, extra files) to a cached
image instead of rebuilding the image for every run.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping, Union


@dataclass(frozen=True)
class File:
    """A file for the guest: `content` (text or bytes) or `path` (a host
    file), with an explicit mode (default: 0755 for host files that are
    executable and for *.sh, else 0644)."""

    content: Union[str, bytes, None] = None
    path: Union[str, Path, None] = None
    mode: Union[int, None] = None

    def data(self) -> bytes:
        if self.path is not None:
            return Path(self.path).read_bytes()
        if isinstance(self.content, str):
            return self.content.encode()
        return self.content or b""

    def file_mode(self, guest_path: str) -> int:
        if self.mode is not None:
            return self.mode
        if self.path is not None and os.access(self.path, os.X_OK):
            return 0o755
        return 0o755 if guest_path.endswith(".sh") else 0o644


# What callers may pass for a file: text, bytes, a host Path, or a File.
FileSpec = Union[str, bytes, Path, File]


def as_file(spec: FileSpec) -> File:
    if isinstance(spec, File):
        return spec
    if isinstance(spec, Path):
        return File(path=spec)
    return File(content=spec)


def _entry(out: io.BytesIO, ino: int, name: str, mode: int, data: bytes) -> None:
    encoded = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
    out.write(b"070701" + b"".join(b"%08X" % f for f in fields))
    out.write(encoded)
    out.write(b"\0" * (-(110 + len(encoded)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def build(files: Mapping[str, FileSpec]) -> bytes:
    """Returns a gzip'd newc archive holding `files` ({guest path: spec}),
    with entries for their parent directories (mode 0755)."""
    out = io.BytesIO()
    dirs: set[str] = set()
    for guest_path in files:
        for parent in PurePosixPath(guest_path.lstrip("/")).parents:
            if str(parent) != ".":
                dirs.add(str(parent))
    ino = 1
    for d in sorted(dirs):
        _entry(out, ino, d, 0o040755, b"")
        ino += 1
    for guest_path, spec in sorted(files.items()):
        f = as_file(spec)
        _entry(out, ino, guest_path.lstrip("/"), 0o100000 | f.file_mode(guest_path), f.data())
        ino += 1
    _entry(out, 0, "TRAILER!!!", 0, b"")
    return gzip.compress(out.getvalue(), compresslevel=6, mtime=0)
