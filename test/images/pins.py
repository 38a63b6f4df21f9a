#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Pinned inputs of the emulation images.

Every file test/images/ downloads is one line of test/images/pins.txt:

  USERS SUITE SOURCE PACKAGE VERSION SHA256 PATH

USERS is a comma list of the artefacts built from the file (xen,
xen-userland, guest, dom0); SUITE the Debian suite whose index lists it
(bookworm, trixie); SOURCE its source package; PACKAGE the binary package
(the source name for source files); VERSION the exact Debian version; PATH
the file under the archive root (http://deb.debian.org/, e.g.
debian/pool/main/x/xen/...). '#' starts a comment.

Downloads are verified against SHA256 and kept in <cache>/sources/PATH, so
a warm machine never needs the archive. The lines of one (suite, source
package) -- e.g. the Xen hypervisor sources and the Xen userland built from
the same source -- are one group: when a file of a group is no longer
served, the whole group falls back to the version the suite's signed index
(the apt lists) names today, verified against that index, and says so.

  pins.py fetch ARTEFACT     download what ARTEFACT needs; print one
                             "LOCAL<TAB>LINE" per input, LINE being the pin
                             actually used (for cache keys)
  pins.py fetch --offline ARTEFACT
                             the same from the cache alone; status 3 when
                             some input is not cached
  pins.py check              ask the archive for every pinned file
  pins.py print USERS SUITE  read "PACKAGE VERSION" lines on stdin (an
                             unpacked closure) and print their pin lines
                             from the suite's index
  pins.py print-source USERS SUITE SOURCE
                             the pin lines of a source package's files
  pins.py merge              read pin lines, print one per path (users united)
  pins.py line USERS SUITE SOURCE PACKAGE VERSION PATH
                             download PATH once and print its pin line (for
                             a version the index no longer names)

Errors name the manifest file and line, the file and version, and what to do.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
# VIRTIOBOX_PINS: another manifest (tests of what a pin change rebuilds).
MANIFEST = Path(os.environ.get("VIRTIOBOX_PINS") or HERE / "pins.txt")
ARTEFACTS = ("xen", "xen-debian", "xen-userland", "guest", "dom0")
SUITES = ("bookworm", "trixie")
ARCHIVE = os.environ.get("VIRTIOBOX_ARCHIVE", "http://deb.debian.org/")
BUMP = "see docs/testing.md, 'Bumping a pin'"


class PinError(Exception):
    """A manifest, download or index problem, with a message for the user."""


class NotServed(PinError):
    """The archive answered 404 (or similar) for a pinned file."""


def log(msg: str) -> None:
    print(f"[images] {msg}", file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True)
class Pin:
    users: tuple[str, ...]
    suite: str
    source: str
    package: str
    version: str
    sha256: str
    path: str
    where: str = ""  # "file:line", for messages

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_deb(self) -> bool:
        return self.path.endswith(".deb")

    def line(self) -> str:
        return " ".join((",".join(self.users), self.suite, self.source, self.package,
                         self.version, self.sha256, self.path))

    def label(self) -> str:
        return f"{self.name} ({self.package} {self.version}, {self.suite})"


_HEX64 = re.compile(r"[0-9a-f]{64}")
_PATH = re.compile(r"debian(-security)?/pool/[A-Za-z0-9+._/~-]+")
_VERSION = re.compile(r"([0-9]+:)?[0-9][A-Za-z0-9.+~-]*")
_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


def parse(text: str, name: str = "pins.txt") -> list[Pin]:
    """Every pin of a manifest; PinError naming file and line otherwise."""
    pins, seen = [], {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{name}:{n}"
        f = line.split()
        if len(f) != 7:
            raise PinError(f"{where}: expected 7 fields (USERS SUITE SOURCE PACKAGE VERSION "
                           f"SHA256 PATH), found {len(f)}")
        users = tuple(f[0].split(","))
        bad = [u for u in users if u not in ARTEFACTS]
        if bad or len(set(users)) != len(users):
            raise PinError(f"{where}: unknown or repeated artefact {','.join(bad) or f[0]!r} "
                           f"(known: {', '.join(ARTEFACTS)})")
        if f[1] not in SUITES:
            raise PinError(f"{where}: unknown suite {f[1]!r} (known: {', '.join(SUITES)})")
        for what, val in (("source", f[2]), ("package", f[3])):
            if not _NAME.fullmatch(val):
                raise PinError(f"{where}: {what} {val!r} is not a Debian package name")
        if not _VERSION.fullmatch(f[4]):
            raise PinError(f"{where}: version {f[4]!r} is not a Debian version")
        if not _HEX64.fullmatch(f[5]):
            raise PinError(f"{where}: sha256 {f[5]!r} is not 64 lower-case hex digits")
        if not _PATH.fullmatch(f[6]) or "/../" in f[6] or f[6].endswith("/"):
            raise PinError(f"{where}: path {f[6]!r} is not a file under debian/pool/ or "
                           "debian-security/pool/")
        if f[6] in seen:
            raise PinError(f"{where}: {f[6]} is already pinned at {seen[f[6]]}")
        seen[f[6]] = where
        pins.append(Pin(users, f[1], f[2], f[3], f[4], f[5], f[6], where))
    return pins


def load(path: Path = MANIFEST) -> list[Pin]:
    try:
        text = path.read_text()
    except OSError as e:
        raise PinError(f"cannot read the pin manifest {path}: {e.strerror}") from e
    return parse(text, path.name)


def for_artefact(pins: list[Pin], artefact: str) -> list[Pin]:
    if artefact not in ARTEFACTS:
        raise PinError(f"unknown artefact {artefact!r} (known: {', '.join(ARTEFACTS)})")
    mine = [p for p in pins if artefact in p.users]
    if not mine:
        raise PinError(f"no line of the pin manifest is used by {artefact!r}")
    return mine


def group_of(pin: Pin, pins: list[Pin]) -> list[Pin]:
    return [p for p in pins if (p.suite, p.source) == (pin.suite, pin.source)]


# --- the cache of downloaded inputs ------------------------------------------

class Store:
    """Verified downloads under <cache>/sources/<path>."""

    def __init__(self, cache: Path):
        self.root = cache / "sources"

    def local(self, pin: Pin) -> Path:
        return self.root / pin.path

    def has(self, pin: Pin) -> bool:
        """True when the cached file exists with the pinned sha256."""
        path = self.local(pin)
        return path.is_file() and sha256_of(path) == pin.sha256

    def fetch(self, pin: Pin) -> Path:
        """The verified local file, downloaded if needed. NotServed when the
        archive does not have it, PinError on a checksum mismatch."""
        path = self.local(pin)
        if self.has(pin):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        download(ARCHIVE + pin.path, tmp, pin)
        got = sha256_of(tmp)
        if got != pin.sha256:
            tmp.unlink()
            raise PinError(f"checksum mismatch for {pin.label()}: the archive sent sha256 {got}, "
                           f"pinned {pin.sha256} ({pin.where}); the archive changed a file in "
                           f"place or the pin is wrong: {BUMP}")
        tmp.replace(path)
        return path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, pin: Pin) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as out:
            for block in iter(lambda: r.read(1 << 20), b""):
                out.write(block)
    except urllib.error.HTTPError as e:
        raise NotServed(f"{pin.label()}: {url} answered {e.code}") from e
    except (urllib.error.URLError, OSError) as e:
        raise PinError(f"{pin.label()}: cannot download {url}: {e} (is deb.debian.org "
                       "reachable?)") from e


def is_served(path: str) -> bool:
    """HEAD request; PinError when the archive cannot be reached at all."""
    req = urllib.request.Request(ARCHIVE + path, method="HEAD")
    try:
        with urllib.request.urlopen(req, timeout=30):
            return True
    except urllib.error.HTTPError:
        return False
    except (urllib.error.URLError, OSError) as e:
        raise PinError(f"cannot reach {ARCHIVE}: {e}") from e


# --- the signed indexes (apt lists) ---------------------------------------------

def lists_dir(suite: str, cache: Path) -> Path:
    env = os.environ.get(f"VB_APT_LISTS_{suite.upper()}")
    if env:
        return Path(env)
    return Path("/var/lib/apt/lists") if suite == "bookworm" else cache / "apt" / suite / "lists"


@dataclasses.dataclass(frozen=True)
class Entry:
    package: str
    version: str
    source: str
    source_version: str
    sha256: str
    path: str


def _stanzas(text: str):
    for block in text.split("\n\n"):
        fields, last = {}, None
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and last:
                fields[last] += "\n" + line.strip()
            elif ":" in line:
                last, _, val = line.partition(":")
                fields[last] = val.strip()
        if "Package" in fields:
            yield fields


def _cat(path: Path) -> str:
    """A list file, whatever apt compressed it with."""
    return subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", str(path)], check=True,
                          stdout=subprocess.PIPE, text=True, errors="replace").stdout


class Index:
    """One suite's Packages (arm64) and Sources entries, from apt's lists,
    which apt verified against the suite's signed Release file."""

    def __init__(self, suite: str, cache: Path):
        self.suite = suite
        self.debs: dict[str, list[Entry]] = {}
        self.srcs: dict[str, list[tuple[Entry, list[tuple[str, str]]]]] = {}
        d = lists_dir(suite, cache)
        mine = re.compile(rf"_dists_{suite}(-updates|-security)?_main_")
        files = sorted(p for p in d.glob("*") if mine.search(p.name))
        if not files:
            raise PinError(f"no apt lists for {suite} in {d} (run setup.sh; for trixie, "
                           "test/images/build.sh fetches them)")
        for f in files:
            root = f.name.split("_dists_")[0].split("_", 1)[1]  # debian or debian-security
            if "_binary-arm64_Packages" in f.name:
                self._packages(_cat(f), root)
            elif "_source_Sources" in f.name:
                self._sources(_cat(f), root)

    def _packages(self, text: str, root: str) -> None:
        for s in _stanzas(text):
            src = s.get("Source", s["Package"])
            name, _, ver = src.partition(" ")
            e = Entry(s["Package"], s["Version"], name, ver.strip("()") or s["Version"],
                      s.get("SHA256", ""), f"{root}/{s.get('Filename', '')}")
            self.debs.setdefault(e.package, []).append(e)

    def _sources(self, text: str, root: str) -> None:
        for s in _stanzas(text):
            files = [(line.split()[0], line.split()[2])
                     for line in s.get("Checksums-Sha256", "").splitlines()[1:] if line.strip()]
            e = Entry(s["Package"], s["Version"], s["Package"], s["Version"], "",
                      f"{root}/{s.get('Directory', '')}")
            self.srcs.setdefault(e.package, []).append((e, files))

    def deb(self, package: str, version: str | None = None) -> Entry | None:
        """The entry of package at version, or its newest."""
        cands = self.debs.get(package, [])
        if version is not None:
            return next((e for e in cands if e.version == version), None)
        return newest(cands)

    def source(self, package: str, version: str | None = None):
        cands = self.srcs.get(package, [])
        if version is not None:
            return next((c for c in cands if c[0].version == version), None)
        best = newest([c[0] for c in cands])
        return next(c for c in cands if c[0] is best) if best else None

    def source_files(self, package: str, version: str | None = None) -> list[Entry]:
        """The source package's files other than the .dsc, as entries."""
        found = self.source(package, version)
        if not found:
            return []
        e, files = found
        return [Entry(package, e.version, package, e.version, sha, f"{e.path}/{name}")
                for sha, name in files if not name.endswith(".dsc")]


def newest(entries):
    best = None
    for e in entries:
        if best is None or subprocess.run(["dpkg", "--compare-versions", e.version, "gt",
                                           best.version]).returncode == 0:
            best = e
    return best


# --- resolving pins: the pinned files, or the group's fallback ------------------

_SRC_KIND = re.compile(r"\.(orig(-[A-Za-z0-9-]+)?\.tar\.\w+|debian\.tar\.\w+|diff\.gz|tar\.\w+)$")


def src_kind(path: str) -> str:
    """What a source file is: orig.tar.xz, debian.tar.xz, ..."""
    m = _SRC_KIND.search(path)
    return m.group(1) if m else path.rsplit("/", 1)[-1]


def fallback(group: list[Pin], index: Index, why: str) -> list[Pin]:
    """The group re-pinned to what the index names today, all from one
    source version (no hypervisor of one version with tools of another)."""
    src, suite = group[0].source, group[0].suite
    out, versions = [], set()
    src_files = {src_kind(e.path): e for e in index.source_files(src)}
    for p in group:
        if p.is_deb:
            e = index.deb(p.package)
            if not e:
                raise PinError(f"{why}; the {suite} index has no {p.package} to fall back to: {BUMP}")
            versions.add(e.source_version)
        else:
            e = src_files.get(src_kind(p.path))
            if not e:
                raise PinError(f"{why}; the {suite} index has no {src} {src_kind(p.path)} "
                               f"to fall back to: {BUMP}")
            versions.add(e.version)
        out.append(dataclasses.replace(p, version=e.version, sha256=e.sha256, path=e.path,
                                       where=f"{suite} index"))
    if len(versions) != 1:
        raise PinError(f"{why}; the {suite} index has {src} at several versions "
                       f"({', '.join(sorted(versions))}), cannot fall back consistently: {BUMP}")
    log(f"{src}: pinned {group[0].version} not served; using {versions.pop()} "
        f"from the {suite} index")
    return out


def resolve(pins: list[Pin], artefact: str, store: Store, cache: Path,
            offline: bool = False) -> list[tuple[Pin, Path]]:
    """(pin used, local file) for each input of artefact, in manifest order."""
    mine = for_artefact(pins, artefact)
    used: dict[Pin, Pin] = {}
    for p in mine:
        if p in used:
            continue
        group = group_of(p, pins)
        if all(store.has(g) for g in group):
            used.update((g, g) for g in group)
            continue
        if offline:
            raise Cold(f"{p.label()} is not in {store.root}")
        try:
            for g in group:
                if not store.has(g):
                    log(f"downloading {g.label()}")
                store.fetch(g)
            used.update((g, g) for g in group)
        except NotServed as e:
            new = fallback(group, Index(p.suite, cache), str(e))
            for g in new:
                store.fetch(g)
            used.update(zip(group, new))
    return [(used[p], store.local(used[p])) for p in mine]


class Cold(PinError):
    """An input is not cached (fetch --offline)."""


def check(pins: list[Pin], store: Store, cache: Path, out=sys.stdout) -> int:
    """One line per pinned file: ok / missing / checksum mismatch. Returns
    the number of files a build could not get (missing ones whose group
    falls back to served files do not count)."""
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        served = dict(zip(pins, pool.map(lambda p: is_served(p.path), pins)))
    indexes: dict[str, Index] = {}

    def index(suite: str) -> Index:
        if suite not in indexes:
            indexes[suite] = Index(suite, cache)
        return indexes[suite]

    bad, missing_groups = 0, {}
    for p in pins:
        status = "ok"
        if not served[p]:
            status = "missing"
        elif store.local(p).is_file():
            if not store.has(p):
                status = "checksum mismatch (cached file)"
        else:
            e = index(p.suite).deb(p.package, p.version) if p.is_deb else next(
                (f for f in index(p.suite).source_files(p.source, p.version) if f.path == p.path),
                None)
            if e and e.sha256 and e.sha256 != p.sha256:
                status = f"checksum mismatch (the {p.suite} index says {e.sha256})"
        print(f"{status:<9} {p.path}  [{p.package} {p.version}, {p.suite}]", file=out)
        if status == "missing":
            missing_groups.setdefault((p.suite, p.source), p)
        elif status != "ok":
            bad += 1
    for (suite, source), p in missing_groups.items():
        group = group_of(p, pins)
        try:
            new = fallback(group, index(suite), f"{p.label()} is not served")
            gone = [n for n in new if not is_served(n.path)]
            if gone:
                raise PinError(f"the fallback {gone[0].label()} is not served either")
            print(f"fallback  {source} ({suite}): {len(new)} files at {new[0].version} "
                  "from the index are served", file=out)
        except PinError as e:
            print(f"error     {source} ({suite}): {e}", file=out)
            bad += len(group)
    return bad


def print_lines(users: str, suite: str, lines: list[str], cache: Path, out=sys.stdout) -> None:
    index = Index(suite, cache)
    for raw in lines:
        f = raw.split()
        if not f:
            continue
        e = index.deb(f[0], f[1] if len(f) > 1 else None)
        if not e:
            raise PinError(f"{' '.join(f)}: not in the {suite} index")
        print(Pin(tuple(users.split(",")), suite, e.source, e.package, e.version, e.sha256,
                  e.path).line(), file=out)


def merge(lines: list[str]) -> list[str]:
    """Pin lines with one line per path, users united, first order kept."""
    pins: dict[str, Pin] = {}
    for line in lines:
        for p in parse(line, "stdin"):  # one at a time: paths repeat here
            old = pins.get(p.path)
            users = set(p.users) | set(old.users if old else ())
            pins[p.path] = dataclasses.replace(p, users=tuple(a for a in ARTEFACTS if a in users))
    return [p.line() for p in pins.values()]


def main(argv: list[str]) -> int:
    cache = Path(os.environ.get("VIRTIOBOX_CACHE") or Path.home() / ".cache" / "virtiobox")
    store = Store(cache)
    try:
        cmd, args = (argv[0], argv[1:]) if argv else ("", [])
        if cmd == "fetch" and args:
            offline = args[0] == "--offline"
            try:
                got = resolve(load(), args[-1], store, cache, offline=offline)
            except Cold:
                return 3
            for pin, path in got:
                print(f"{path}\t{pin.line()}")
            return 0
        if cmd == "check" and not args:
            pins = load()
            bad = check(pins, store, cache)
            print(f"check-sources: {len(pins)} pinned files, {bad} a build cannot get")
            if bad:
                log(f"some pinned inputs cannot be downloaded: {BUMP}")
            return 1 if bad else 0
        if cmd == "print" and len(args) == 2:
            print_lines(args[0], args[1], sys.stdin.read().splitlines(), cache)
            return 0
        if cmd == "print-source" and len(args) == 3:
            for e in Index(args[1], cache).source_files(args[2]):
                print(Pin(tuple(args[0].split(",")), args[1], e.source, e.package, e.version,
                          e.sha256, e.path).line())
            return 0
        if cmd == "merge" and not args:
            for line in merge(sys.stdin.read().splitlines()):
                print(line)
            return 0
        if cmd == "line" and len(args) == 6:
            tmp = Pin(tuple(args[0].split(",")), *args[1:5], "0" * 64, args[5])
            parse(tmp.line())  # validates the fields
            dest = store.root / ".line.partial"
            dest.parent.mkdir(parents=True, exist_ok=True)
            download(ARCHIVE + tmp.path, dest, tmp)
            print(dataclasses.replace(tmp, sha256=sha256_of(dest)).line())
            dest.unlink()
            return 0
        print(__doc__, file=sys.stderr)
        return 2
    except PinError as e:
        log(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
