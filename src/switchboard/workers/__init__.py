"""Ready-made workers built on the client library, and the runner they share.

:func:`run_worker` connects, watches, fetches, calls a handler, acknowledges and persists the
position; :func:`add_common_options` gives every worker the same command-line options. They are
imported on first use, so that ``python -m switchboard.workers.runner`` does not find its own
module already imported by this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from switchboard.workers.runner import (
        WorkerEvent,
        add_common_options,
        run_worker,
        worker_options,
    )

__all__ = ["WorkerEvent", "add_common_options", "run_worker", "worker_options"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("switchboard.workers.runner"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
