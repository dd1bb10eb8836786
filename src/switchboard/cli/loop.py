"""The command line's name for :mod:`switchboard.runloop` (``run_async``, ``run_until_signalled``).

The runner moved below the layers that use it; this name stays for scripts that imported it
from here (the benchmark launchers). New code imports :mod:`switchboard.runloop`.
"""

from __future__ import annotations

from switchboard.runloop import STOP_SIGNALS, run_async, run_until_signalled

__all__ = ["STOP_SIGNALS", "run_async", "run_until_signalled"]
