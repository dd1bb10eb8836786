"""Ready-made workers built on the client library, and the runner they share.

:func:`run_worker` connects, watches, fetches, calls a handler, acknowledges and persists the
position; :func:`add_common_options` gives every worker the same command-line options.
"""

from switchboard.workers.runner import (
    WorkerEvent,
    add_common_options,
    run_worker,
    worker_options,
)

__all__ = ["WorkerEvent", "add_common_options", "run_worker", "worker_options"]
