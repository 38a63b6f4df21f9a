#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs one family of virtiobox tests for SCons and prints a summary.

  run_tests.py unit  STAMP [--qemu QEMU] BINARY...   cmocka unit tests
  run_tests.py fuzz  STAMP --seconds N FUZZER...     libFuzzer harnesses
  run_tests.py bench STAMP BINARY...                 benchmarks (no verdict on speed)
  run_tests.py pytest STAMP [--args "..."]           integration and system tests
  run_tests.py format STAMP                          clang-format check of every C file
  run_tests.py sources STAMP                         pinned image inputs still served (if cold)

Every test runs even when an earlier one failed; the exit status is 1 when
any failed. On success STAMP is written, so SCons knows the run happened.
"""

import argparse
import glob
import os
import re
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_unit(args):
    passed = failed = 0
    broken = []
    for binary in args.binaries:
        cmd = ([args.qemu] if args.qemu else []) + [binary]
        env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT='stdout')
        proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env, text=True,
                              timeout=300)
        sys.stdout.write(proc.stdout)
        ok = len(re.findall(r'^\[       OK \]', proc.stdout, re.M))
        bad = len(re.findall(r'^\[  (?:FAILED|ERROR) \] (?!\d)', proc.stdout, re.M))
        if proc.returncode != 0 and bad == 0:
            bad = 1  # crashed or sanitizer abort before cmocka could report
        passed += ok
        failed += bad
        if proc.returncode != 0:
            broken.append(os.path.basename(binary))
    where = 'qemu-user' if args.qemu else 'host'
    if not args.qemu:
        # The Python unit tests (test/unit/test_*.py: the image tooling).
        proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                               os.path.join(ROOT, 'test', 'unit')], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        sys.stdout.write(proc.stdout)
        m = re.search(r'(\d+) passed', proc.stdout)
        passed += int(m.group(1)) if m else 0
        bad = re.search(r'(\d+) (?:failed|error)', proc.stdout)
        failed += int(bad.group(1)) if bad else (proc.returncode != 0)
        if proc.returncode != 0:
            broken.append('test/unit/*.py')
    print('unit tests (%s, %d programs): %d passed, %d failed'
          % (where, len(args.binaries), passed, failed))
    if broken:
        print('failing programs: ' + ', '.join(broken))
    return 1 if broken else 0


def run_fuzz(args):
    failed = []
    for fuzzer in args.binaries:
        name = os.path.basename(fuzzer)
        corpus = os.path.join(os.path.dirname(fuzzer), 'corpus', name)
        os.makedirs(corpus, exist_ok=True)
        seeds = os.path.join(ROOT, 'test', 'fuzz', 'corpus', name)
        cmd = [fuzzer, '-max_total_time=%s' % args.seconds,
               '-rss_limit_mb=2048', '-timeout=10', '-print_final_stats=1',
               corpus] + ([seeds] if os.path.isdir(seeds) else [])
        print('fuzz: %s for %ss' % (name, args.seconds), flush=True)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              errors='replace')
        tail = proc.stdout.splitlines()[-12:]
        print('\n'.join('  ' + line for line in tail))
        if proc.returncode != 0:
            failed.append(name)
    print('fuzz: %d passed, %d failed' % (len(args.binaries) - len(failed),
                                          len(failed)))
    return 1 if failed else 0


def run_bench(args):
    """The C benchmarks given, then every test/bench/bench_*.py (end to end
    through QEMU and a guest)."""
    scripts = sorted(glob.glob(os.path.join(ROOT, 'test', 'bench', 'bench_*.py')))
    status = 0
    for bench in args.binaries + scripts:
        print('== %s' % os.path.basename(bench), flush=True)
        cmd = [sys.executable, bench] if bench.endswith('.py') else [bench]
        status |= subprocess.run(cmd, cwd=ROOT).returncode != 0
    return 1 if status else 0


def run_format(args):
    """Every tracked C file must already be formatted by .clang-format."""
    files = subprocess.run(['git', 'ls-files', '*.c', '*.h'], cwd=ROOT, check=True,
                           stdout=subprocess.PIPE, text=True).stdout.split()
    bad = [f for f in files
           if subprocess.run(['clang-format', '--dry-run', '--Werror', f], cwd=ROOT,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL).returncode != 0]
    for f in bad:
        print('format: %s differs from .clang-format (run clang-format -i %s)' % (f, f))
    print('format: %d passed, %d failed' % (len(files) - len(bad), len(bad)))
    return 1 if bad else 0


def run_sources(args):
    """On a cold image cache, ask the archive for every pinned input before
    anything else, so a vanished download fails in seconds."""
    cmd = [os.path.join(ROOT, 'test', 'images', 'build.sh'), '--check-sources', '--if-cold']
    return subprocess.run(cmd, cwd=ROOT).returncode


def run_pytest(args):
    dirs = [d for d in ('test/integration', 'test/system')
            if os.path.isdir(os.path.join(ROOT, d))]
    cmd = [sys.executable, '-m', 'pytest', '-v', '-rfEs'] + dirs + \
        shlex.split(args.args or '')
    start = time.monotonic()
    status = subprocess.run(cmd, cwd=ROOT).returncode
    print('integration and system tests took %.0f s'
          % (time.monotonic() - start))
    return status


def main():
    p = argparse.ArgumentParser()
    p.add_argument('family', choices=('unit', 'fuzz', 'bench', 'pytest', 'format', 'sources'))
    p.add_argument('stamp')
    p.add_argument('--qemu')
    p.add_argument('--seconds', default='5')
    p.add_argument('--args', default='')
    p.add_argument('binaries', nargs='*')
    args = p.parse_intermixed_args()  # options may follow the stamp
    status = {'unit': run_unit, 'fuzz': run_fuzz, 'bench': run_bench,
              'pytest': run_pytest, 'format': run_format,
              'sources': run_sources}[args.family](args)
    if status == 0:
        with open(args.stamp, 'w') as f:
            f.write('ok\n')
    return status


if __name__ == '__main__':
    sys.exit(main())
