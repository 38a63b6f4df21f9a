"""Command line of the harness: boot a scenario by hand.

    test/harness/boot.py plain -c 'i2cdetect -l'
    test/harness/boot.py xen -s dom0.sh --domu guest1=domu.sh --virtiobox build/aarch64-release/main/virtiobox
    test/harness/boot.py xen --interactive          # a dom0 shell (Ctrl-A X quits QEMU)
    test/harness/boot.py plain --print-command -c 'sh'   # the QEMU command, to run yourself
    test/harness/boot.py build [kernel|xen|xen-userland|guest|dom0|all]...

Arguments after `--` go to QEMU. Exit status 0 if the run passed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from . import images, qemu, scenarios
from .cpio import File

# The default script of --interactive / --print-command: a shell with job
# control and the test helpers (testlib.sh, and dom0lib.sh in dom0) defined.
SHELL = """printf '%s\\n' '. /lib/virtiobox/testlib.sh' \\
    '[ ! -f /lib/virtiobox/dom0lib.sh ] || . /lib/virtiobox/dom0lib.sh' >/run/virtiobox/shrc
echo "interactive shell with the test helpers (note: fail exits it); exit to power off"
ENV=/run/virtiobox/shrc setsid cttyhack sh
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="boot.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="scenario", required=True)
    b = sub.add_parser("build", help="build artefacts (test/images/build.sh)")
    b.add_argument("targets", nargs="*", default=["all"])
    for name in ("plain", "xen"):
        s = sub.add_parser(name, help=f"boot the {name} scenario")
        g = s.add_mutually_exclusive_group()
        g.add_argument("-s", "--script", type=Path, help="test script file (/test/run.sh)")
        g.add_argument("-c", "--command", help="test script text")
        s.add_argument("--file", action="append", default=[], metavar="GUEST=HOST",
                       help="copy host file HOST to guest path GUEST (repeatable)")
        s.add_argument("--timeout", type=float, default=60.0 if name == "plain" else 300.0)
        s.add_argument("--keep-log", action="store_true", help="keep the console log after a pass")
        s.add_argument("--interactive", action="store_true",
                       help="run QEMU on this terminal, no timeout (default script: a shell)")
        s.add_argument("--print-command", action="store_true",
                       help="write the run's initramfs under test-logs/ and print the QEMU command")
        if name == "plain":
            s.add_argument("--append", default="", help="extra kernel command line")
        else:
            s.add_argument("--domu", action="append", default=[], metavar="NAME=SCRIPT",
                           help="domU NAME's test script file (repeatable)")
            v = s.add_mutually_exclusive_group()
            v.add_argument("--virtiobox", type=Path, help="static aarch64 virtiobox to install")
            v.add_argument("--no-virtiobox", action="store_true")
            s.add_argument("--xen-append", default="")
            s.add_argument("--dom0-append", default="")
        s.add_argument("qemu_args", nargs="*", help="after --: extra QEMU arguments")
    return p


def _files(specs: list[str]) -> dict[str, File]:
    out = {}
    for spec in specs:
        guest, sep, host = spec.partition("=")
        if not sep or not Path(host).is_file():
            raise SystemExit(f"--file {spec}: want GUEST=HOST with an existing host file")
        out[guest] = File(path=Path(host))
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.scenario == "build":
        for key, path in images.ensure(*args.targets).items():
            print(f"{key}={path}")
        return 0
    if args.script:
        script = args.script.read_text()
    elif args.command is not None:
        script = args.command
    elif args.interactive or args.print_command:
        script = SHELL
    else:
        raise SystemExit("give a test script: -s FILE or -c 'commands'")
    files = _files(args.file)
    if args.interactive or args.print_command:
        workdir = qemu.LOG_DIR / f"manual-{args.scenario}-{time.strftime('%Y%m%d-%H%M%S')}"
        workdir.mkdir(parents=True)
        cmd = _prepare(args, script, files, workdir)
        if args.print_command:
            print(shlex.join(cmd))
            return 0
        print(f"# {shlex.join(cmd)}\n# Ctrl-A X quits QEMU", file=sys.stderr)
        os.execvp(cmd[0], cmd)
    if args.scenario == "plain":
        result = scenarios.run_plain(script, args.qemu_args, args.timeout, files=files,
                                     append=args.append, name="manual-plain", keep_log=args.keep_log)
    else:
        result = scenarios.run_xen(script, args.timeout, domus=_domus(args.domu), files=files,
                                   virtiobox=_virtiobox(args), qemu_args=args.qemu_args,
                                   xen_append=args.xen_append, dom0_append=args.dom0_append,
                                   name="manual-xen", keep_log=args.keep_log)
    sys.stdout.write(result.console)
    print(f"\n{result.summary(tail=0)}")
    for domu, (verdict, reason) in result.domus.items():
        print(f"domU {domu}: {verdict} {reason}".rstrip())
    return 0 if result.passed else 1


def _domus(specs: list[str]) -> dict[str, str]:
    out = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not Path(path).is_file():
            raise SystemExit(f"--domu {spec}: want NAME=SCRIPT with an existing script file")
        out[name] = Path(path).read_text()
    return out


def _virtiobox(args):
    if args.no_virtiobox:
        return False
    return args.virtiobox  # None: build/aarch64-release/main/virtiobox if it exists


def _prepare(args, script: str, files: dict, workdir: Path) -> list[str]:
    if args.scenario == "plain":
        return scenarios.prepare_plain(script, workdir, args.qemu_args, files=files, append=args.append)
    return scenarios.prepare_xen(script, workdir, domus=_domus(args.domu), files=files,
                                 virtiobox=_virtiobox(args), qemu_args=args.qemu_args,
                                 xen_append=args.xen_append, dom0_append=args.dom0_append)
