"""``switchboard demo``: register its options and run :mod:`switchboard.demo.run`.

The demo (and pymap, an optional dependency) is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from switchboard.extras import install_hint, require
from switchboard.runloop import run_async

__all__ = ["add_demo_command"]


def add_demo_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``demo`` on the ``switchboard`` command's subparsers and return its parser.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    from switchboard.demo.run import DEFAULT_INTERVAL_S, DEFAULT_PORT

    demo = subparsers.add_parser(
        "demo",
        help="run a self-contained demo (embedded IMAP server, server, listener worker)",
        description=(
            "Start an embedded IMAP server (pymap) with a demo account, the Switchboard server "
            "and a listener worker in one process, then deliver a sample message every few "
            "seconds and print each one the worker receives. Needs the 'demo' extra: "
            f"{install_hint('demo')}."
        ),
    )
    demo.add_argument(
        "--duration",
        type=_positive_float,
        metavar="SECONDS",
        help=(
            "run non-interactively for this long, then exit 0 only if at least one message "
            "travelled IMAP -> server -> worker (default: run until Ctrl-C)"
        ),
    )
    demo.add_argument(
        "--port",
        type=int,
        help=f"the Switchboard server's port (default {DEFAULT_PORT} if free, else any free port)",
    )
    demo.add_argument(
        "--interval",
        type=_positive_float,
        default=DEFAULT_INTERVAL_S,
        metavar="SECONDS",
        help=f"seconds between sample messages (default {DEFAULT_INTERVAL_S:g})",
    )
    demo.set_defaults(func=_demo)
    return demo  # type: ignore[no-any-return]


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be greater than 0, not {text}")
    return value


def _demo(args: argparse.Namespace) -> int:
    from switchboard.demo.run import DemoOptions, run_demo

    require("pymap", "the demo's embedded IMAP server")
    try:
        options = DemoOptions(duration_s=args.duration, port=args.port, interval_s=args.interval)
    except ValueError as exc:
        raise SystemExit(f"switchboard demo: error: {exc}") from None
    # The demo prints its own steps; only problems from the server and engine are shown.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    status = 0

    async def demo() -> None:
        nonlocal status
        status = await run_demo(options)

    # The same event loop as `switchboard serve` (uvloop when installed), so the demo shows the
    # stack a deployment runs.
    run_async(demo)
    return status
