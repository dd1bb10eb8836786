"""Ready-made workers built on the client library, and the runner they share.

:func:`run_worker` connects, watches, builds one :class:`NewMail` per new message (fetching only
what the push summary lacks), calls a handler, acknowledges and persists the position;
:func:`add_common_options` gives every worker the same command-line options. They are imported on
first use, so that ``python -m switchboard.workers.runner`` does not find its own module already
imported by this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from switchboard.workers.mail import NewMail
    from switchboard.workers.runner import (
        Handler,
        add_common_options,
        run_worker,
        worker_options,
    )

__all__ = ["Handler", "NewMail", "add_common_options", "run_worker", "worker_options"]

_HOMES = {"NewMail": "switchboard.workers.mail"}


def __getattr__(name: str) -> object:
    if name in __all__:
        module = _HOMES.get(name, "switchboard.workers.runner")
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
