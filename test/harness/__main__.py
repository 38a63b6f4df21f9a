"""`python3 -m harness ...` (with test/ on PYTHONPATH); see cli.py."""

import sys

from .cli import main

sys.exit(main())
