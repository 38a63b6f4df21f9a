# SPDX-License-Identifier: MIT
"""test/images/pins.py: the manifest reader, verified downloads and the
fallback to the signed index, against a local archive served over HTTP."""

from __future__ import annotations

import hashlib
import http.server
import io
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "images"))
import pins  # noqa: E402

SHA_A = "a" * 64
XEN_DIR = "debian/pool/main/x/xen"


def line(users="xen", suite="trixie", source="xen", package="xen", version="4.20.3-1",
         sha=SHA_A, path=f"{XEN_DIR}/xen_4.20.3.orig.tar.xz"):
    return f"{users} {suite} {source} {package} {version} {sha} {path}"


# --- parsing -------------------------------------------------------------------

def test_parse_reads_fields_and_skips_comments():
    got = pins.parse("# comment\n\n" + line() + "   # trailing\n", "m.txt")
    assert len(got) == 1
    p = got[0]
    assert (p.users, p.suite, p.source, p.package, p.version, p.sha256) == (
        ("xen",), "trixie", "xen", "xen", "4.20.3-1", SHA_A)
    assert p.where == "m.txt:3" and not p.is_deb and p.name == "xen_4.20.3.orig.tar.xz"


@pytest.mark.parametrize("bad, says", [
    (line() + " extra", "expected 7 fields"),
    (line(users="xen,kernal"), "unknown or repeated artefact"),
    (line(users="guest,guest"), "unknown or repeated artefact"),
    (line(suite="sid"), "unknown suite 'sid'"),
    (line(package="Xen"), "not a Debian package name"),
    (line(version="latest"), "not a Debian version"),
    (line(sha="abc"), "not 64 lower-case hex digits"),
    (line(sha="A" * 64), "not 64 lower-case hex digits"),
    (line(path="/etc/passwd"), "is not a file under debian/pool/"),
    (line(path="debian/pool/../../etc/passwd"), "is not a file under debian/pool/"),
    (line(path="http://example.org/x.deb"), "is not a file under debian/pool/"),
])
def test_malformed_line_names_file_line_and_field(bad, says):
    with pytest.raises(pins.PinError) as e:
        pins.parse("# header\n" + bad + "\n", "pins.txt")
    assert str(e.value).startswith("pins.txt:2: ") and says in str(e.value)


def test_duplicate_path_names_both_lines():
    with pytest.raises(pins.PinError, match=r"pins.txt:2: .* already pinned at pins.txt:1"):
        pins.parse(line() + "\n" + line(users="dom0") + "\n")


def test_unknown_artefact_and_unused_artefact_are_errors():
    got = pins.parse(line())
    with pytest.raises(pins.PinError, match="unknown artefact 'kernal'"):
        pins.for_artefact(got, "kernal")
    with pytest.raises(pins.PinError, match="no line of the pin manifest is used by 'guest'"):
        pins.for_artefact(got, "guest")


def test_missing_manifest_is_named(tmp_path):
    with pytest.raises(pins.PinError, match="cannot read the pin manifest .*nope.txt"):
        pins.load(tmp_path / "nope.txt")


def test_the_real_manifest_parses_and_pins_xen_together():
    got = pins.load()
    xen = [p for p in got if (p.suite, p.source) == ("trixie", "xen")]
    assert {p.version for p in xen} == {xen[0].version}, "Xen sources and tools differ"
    assert any(not p.is_deb for p in xen) and any(p.package == "xen-utils-4.20" for p in xen)
    for artefact in pins.ARTEFACTS:
        assert pins.for_artefact(got, artefact)


def test_merge_unites_users_of_one_path():
    out = pins.merge([line(users="dom0"), line(users="guest"),
                      line(users="xen", path=f"{XEN_DIR}/xen_4.20.3-1.debian.tar.xz")])
    assert [o.split()[0] for o in out] == ["guest,dom0", "xen"]


# --- downloads and fallback, against a local archive -----------------------------

class Archive:
    """Files under root served at http://127.0.0.1:<port>/."""

    def __init__(self, root: Path):
        self.root = root
        handler = lambda *a: http.server.SimpleHTTPRequestHandler(  # noqa: E731
            *a, directory=str(root))
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/"

    def put(self, path: str, data: bytes) -> str:
        f = self.root / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)
        return hashlib.sha256(data).hexdigest()


@pytest.fixture
def env(tmp_path, monkeypatch):
    arch = Archive(tmp_path / "archive")
    monkeypatch.setattr(pins, "ARCHIVE", arch.url)
    lists = tmp_path / "lists"
    lists.mkdir()
    monkeypatch.setenv("VB_APT_LISTS_TRIXIE", str(lists))
    cache = tmp_path / "cache"
    yield arch, lists, cache, pins.Store(cache)
    arch.httpd.shutdown()


def xen_group(arch, version="4.20.3-1", upstream="4.20.3"):
    """Pin lines for a xen orig tarball (xen) and xen-utils deb (xen-userland)."""
    orig = f"{XEN_DIR}/xen_{upstream}.orig.tar.xz"
    deb = f"{XEN_DIR}/xen-utils-4.20_{version}_arm64.deb"
    a = arch.put(orig, f"orig {version}".encode())
    b = arch.put(deb, f"utils {version}".encode())
    return [line(path=orig, sha=a, version=version),
            line(users="xen-userland", package="xen-utils-4.20", path=deb, sha=b,
                 version=version)]


def write_index(lists: Path, arch: Archive, version: str, upstream: str, utils_version=None):
    """Sources and Packages lists naming xen at version (files in arch)."""
    orig = f"xen_{upstream}.orig.tar.xz"
    osha = arch.put(f"{XEN_DIR}/{orig}", f"orig {version}".encode())
    utils_version = utils_version or version
    deb = f"{XEN_DIR}/xen-utils-4.20_{utils_version}_arm64.deb"
    dsha = arch.put(deb, f"utils {utils_version}".encode())
    (lists / "deb.debian.org_debian_dists_trixie_main_source_Sources").write_text(
        f"Package: xen\nVersion: {version}\nDirectory: pool/main/x/xen\n"
        f"Checksums-Sha256:\n {osha} 10 {orig}\n {'c' * 64} 5 xen_{version}.dsc\n\n")
    (lists / "deb.debian.org_debian_dists_trixie_main_binary-arm64_Packages").write_text(
        f"Package: xen-utils-4.20\nSource: xen ({utils_version})\nVersion: {utils_version}\n"
        f"Filename: {deb.split('/', 1)[1]}\nSHA256: {dsha}\n\n")


def test_fetch_verifies_and_caches(env):
    arch, _, cache, store = env
    got = pins.parse("\n".join(xen_group(arch)))
    used = pins.resolve(got, "xen", store, cache)
    assert [u[0] for u in used] == [got[0]]
    assert used[0][1].read_bytes() == b"orig 4.20.3-1"
    # Cached: the archive is not needed any more (offline resolve works).
    (arch.root / got[0].path).unlink()
    (arch.root / got[1].path).unlink()
    assert [u[0] for u in pins.resolve(got, "xen", store, cache, offline=True)] == [got[0]]


def test_offline_fetch_of_an_uncached_input_is_cold(env):
    arch, _, cache, store = env
    got = pins.parse("\n".join(xen_group(arch)))
    with pytest.raises(pins.Cold):
        pins.resolve(got, "xen", store, cache, offline=True)


def test_checksum_mismatch_is_a_clear_error_and_nothing_is_kept(env):
    arch, _, cache, store = env
    good = xen_group(arch)
    bad = good[0].replace(good[0].split()[5], "b" * 64)
    got = pins.parse(bad + "\n" + good[1])
    with pytest.raises(pins.PinError) as e:
        pins.resolve(got, "xen", store, cache)
    msg = str(e.value)
    assert "checksum mismatch for xen_4.20.3.orig.tar.xz (xen 4.20.3-1, trixie)" in msg
    assert "pinned " + "b" * 64 in msg and "pins.txt:1" in msg and "Bumping a pin" in msg
    assert not store.local(got[0]).exists()


def test_a_cached_file_that_changed_is_downloaded_again(env):
    arch, _, cache, store = env
    got = pins.parse("\n".join(xen_group(arch)))
    pins.resolve(got, "xen", store, cache)
    store.local(got[0]).write_bytes(b"corrupt")
    pins.resolve(got, "xen", store, cache)
    assert store.local(got[0]).read_bytes() == b"orig 4.20.3-1"


def test_gone_pin_falls_back_to_the_index_as_a_group(env, capsys):
    arch, lists, cache, store = env
    got = pins.parse("\n".join(xen_group(arch)))
    (arch.root / got[1].path).unlink()  # only the userland deb is gone
    write_index(lists, arch, "4.20.4-1", "4.20.4")
    used = pins.resolve(got, "xen", store, cache)
    # The hypervisor sources fall back too, though still served.
    assert used[0][0].version == "4.20.4-1" and used[0][0].path.endswith("xen_4.20.4.orig.tar.xz")
    assert used[0][1].read_bytes() == b"orig 4.20.4-1"
    userland = pins.resolve(got, "xen-userland", store, cache)
    assert userland[0][0].version == "4.20.4-1"
    err = capsys.readouterr().err
    assert "[images] xen: pinned 4.20.3-1 not served; using 4.20.4-1 from the trixie index" in err


def test_fallback_refuses_mixed_versions(env):
    arch, lists, cache, store = env
    got = pins.parse("\n".join(xen_group(arch)))
    (arch.root / got[0].path).unlink()
    write_index(lists, arch, "4.20.4-1", "4.20.4", utils_version="4.20.5-1")
    with pytest.raises(pins.PinError, match="several versions .*4.20.4-1, 4.20.5-1"):
        pins.resolve(got, "xen", store, cache)


def test_fallback_without_an_index_entry_says_what_to_do(env):
    arch, lists, cache, store = env
    got = pins.parse("\n".join(xen_group(arch)))
    (arch.root / got[0].path).unlink()
    (lists / "deb.debian.org_debian_dists_trixie_main_source_Sources").write_text("")
    (lists / "deb.debian.org_debian_dists_trixie_main_binary-arm64_Packages").write_text("")
    with pytest.raises(pins.PinError, match="answered 404; the trixie index has no .*Bumping"):
        pins.resolve(got, "xen", store, cache)


def test_check_reports_each_file(env):
    arch, lists, cache, store = env
    got = pins.parse("\n".join(xen_group(arch)))
    write_index(lists, arch, "4.20.3-1", "4.20.3")
    out = io.StringIO()
    assert pins.check(got, store, cache, out) == 0
    assert [l.split()[0] for l in out.getvalue().splitlines()] == ["ok", "ok"]
    # Gone, with a served fallback: reported, but a build can still proceed.
    (arch.root / got[1].path).unlink()
    write_index(lists, arch, "4.20.4-1", "4.20.4")
    out = io.StringIO()
    assert pins.check(got, store, cache, out) == 0
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("missing") and got[1].path in lines[1]
    assert lines[2].startswith("fallback  xen (trixie): 2 files at 4.20.4-1")
    # A cached file whose content differs from its pin.
    store.root.joinpath(got[0].path).parent.mkdir(parents=True, exist_ok=True)
    store.local(got[0]).write_bytes(b"other")
    out = io.StringIO()
    assert pins.check(got, store, cache, out) >= 1
    assert out.getvalue().splitlines()[0].startswith("checksum mismatch (cached file)")
