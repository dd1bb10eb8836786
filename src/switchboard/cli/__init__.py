"""The ``switchboard`` command line, one module per command.

- :mod:`~switchboard.cli.command`: the entry point (``main``) and the parser it assembles.
- :mod:`~switchboard.cli.serve`: ``serve``.
- :mod:`~switchboard.cli.demo`: ``demo``'s options (the demo itself is :mod:`switchboard.demo`).
- :mod:`~switchboard.cli.admin`: ``accounts`` and ``watch``, with :mod:`.admin_http` (reaching a
  running server) and :mod:`.admin_output` (what they print).
- :mod:`~switchboard.cli.tokens`: ``tokens``.
- :mod:`~switchboard.cli.loop`: the old name of :mod:`switchboard.runloop`, the event loop every
  long-running command uses and its stop on SIGINT/SIGTERM (``run_async``,
  ``run_until_signalled``), which the demo and the workers' command lines share.

Nothing in the package imports this one but ``switchboard.__main__``. The names below are
imported on first use, so that importing :mod:`switchboard.cli.loop` loads no command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from switchboard.cli.command import main
    from switchboard.runloop import run_async, run_until_signalled

__all__ = ["main", "run_async", "run_until_signalled"]

_HOME = {
    "main": "switchboard.cli.command",
    "run_async": "switchboard.runloop",
    "run_until_signalled": "switchboard.runloop",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
