#!/usr/bin/env python3
"""Boots a test scenario by hand: test/harness/boot.py --help (see cli.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.cli import main  # noqa: E402

sys.exit(main())
