"""virtiobox's emulation test harness (Python 3 standard library only).

    from harness import run_plain, run_xen, DomU, File, HostProcess
    run_plain("i2cdetect -l", timeout=60).check()

See docs/testing.md for the images, the scenarios and debugging by hand.
"""

from .cpio import File
from .host import HostProcess
from .images import ensure as ensure_images
from .qemu import Result
from .scenarios import DomU, run_plain, run_xen

__all__ = ["DomU", "File", "HostProcess", "Result", "ensure_images", "run_plain", "run_xen"]
