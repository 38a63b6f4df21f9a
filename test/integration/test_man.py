"""The man pages cover the program: every subcommand and option the
--help outputs print is an entry of virtiobox(8), every key the board
loader knows (its key tables in config/*.c) is an entry of
virtiobox-board(5), and both pages render without warnings."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

import vbtest

MAN = vbtest.REPO / "docs" / "man"
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def terms(page: str) -> list[str]:
    """The entry lines (the line after each .TP), as plain text."""
    lines = (MAN / page).read_text().splitlines()
    out = []
    for i, line in enumerate(lines[:-1]):
        if line.strip() == ".TP":
            term = re.sub(r"\\f[BIRP]", "", lines[i + 1]).replace("\\-", "-")
            out.append(re.sub(r'^\.[A-Z]+ ?', "", term).replace('"', ""))
    return out


def help_text(*args) -> str:
    r = subprocess.run([str(vbtest.VIRTIOBOX), *args, "--help"], stdout=subprocess.PIPE,
                       text=True, check=True)
    return r.stdout


def subcommands() -> list[str]:
    """The words after "virtiobox " in the usage lines that are not options."""
    return re.findall(r"^(?:usage: |       )virtiobox ([a-z][\w-]*)", help_text(), re.M)


def test_every_option_and_subcommand_is_in_virtiobox_8(virtiobox_bin):
    entries = terms("virtiobox.8")
    entry_options = {o for t in entries for o in OPTION.findall(t)}
    entry_words = {t.split()[0] for t in entries if t}
    subs = subcommands()
    assert {"check", "info", "i2c"} <= set(subs), subs
    missing = [s for s in subs if s not in entry_words]
    options = set(OPTION.findall(help_text()))
    for sub in subs:
        if sub not in ("check", "info"):
            options |= set(OPTION.findall(help_text(sub)))
    assert {"--board", "--runtime-dir", "--socket-path", "-s", "--device-list", "-l",
            "--print-board", "--version", "-V"} <= options, options
    missing += sorted(options - entry_options)
    assert not missing, f"not documented in docs/man/virtiobox.8: {missing}"


def loader_keys() -> set[str]:
    keys = set()
    for src in (vbtest.REPO / "config").glob("*.c"):
        for body in re.findall(r"char \*const \w*keys\[\] = \{(.*?)\};", src.read_text(), re.S):
            keys |= set(re.findall(r'"(\w+)"', body))
    return keys


def test_every_board_key_is_in_virtiobox_board_5():
    keys = loader_keys()
    assert {"guests", "transport", "domid", "socket", "bus", "addresses", "chips",
            "init"} <= keys, keys
    entries = {t.split()[0] for t in terms("virtiobox-board.5") if t}
    missing = sorted(keys - entries)
    assert not missing, f"not documented in docs/man/virtiobox-board.5: {missing}"


@pytest.mark.parametrize("page", ["virtiobox.8", "virtiobox-board.5"])
def test_page_renders_without_warnings(page):
    if not shutil.which("man"):
        pytest.skip("man is not installed")
    r = subprocess.run(["man", "--warnings", "-l", str(MAN / page)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env={"MANWIDTH": "80", "PATH":
                                                               "/usr/bin:/bin"})
    assert r.returncode == 0 and not r.stderr, r.stderr
    assert page.split(".")[0].upper() in r.stdout
