"""Shared plumbing of the original example scripts (apnsworker, twilioworker, lamsonworker).

The original switchboard-python examples each took a handful of options of their own
(docs/workers.md, "The original example scripts") and nothing else. Their re-implementations keep
those options with the same names and defaults, and add only what the new runner needs to be
reliable: a state file to resume from, the server's auth token, and a dead-letter file. The original
``--token`` of twilioworker.py is Twilio's auth token, so the Switchboard token is
``--switchboard-token-file`` or ``$SWITCHBOARD_TOKEN`` here, never ``--token``.

This module is not a script; the three scripts import it from their own directory.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from switchboard.runloop import run_until_signalled
from switchboard.workers.base import notification_text, read_secret
from switchboard.workers.delivery import DeadLetterFile
from switchboard.workers.mail import NewMail
from switchboard.workers.runner import DEFAULT_URL, Handler, run_worker

logger = logging.getLogger("switchboard.examples")

Close = Callable[[], Awaitable[None]]
Build = Callable[[], tuple[Handler, Sequence[str], Close | None]]


def original_text(mail: NewMail) -> str:
    """``"<from name or email> - <subject>"``, as the originals built it.

    The originals raised on a message without a sender (``from`` is ``null``); here it reads
    ``(unknown sender)``, and a missing subject ``(no subject)``.
    """
    return notification_text(mail, "-")


def add_runner_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--url`` (the original option) and the runner's few additions."""
    parser.add_argument("--url", default=os.environ.get("SWITCHBOARD_URL", DEFAULT_URL),
                        help=f"the server's /workers URL (default {DEFAULT_URL}; the "
                             "original's default was a development VM's address)")
    group = parser.add_argument_group("additions to the original options")
    group.add_argument("--state-file", type=Path,
                       help="persist the last processed event id here and resume from it")
    group.add_argument("--switchboard-token-file", type=Path,
                       help="file holding the Switchboard server's auth token (or set "
                            "SWITCHBOARD_TOKEN)")
    group.add_argument("--dead-letter", type=Path,
                       help="JSON-lines file for deliveries that failed after the retries "
                            "(then acknowledged); without it they stay unacknowledged")
    group.add_argument("--log-level", default="INFO", help="logging level (default INFO)")


def dead_letter(args: argparse.Namespace) -> DeadLetterFile | None:
    """The ``--dead-letter`` file, if one was given."""
    return DeadLetterFile(args.dead_letter) if args.dead_letter else None


async def _serve(build: Build, options: Mapping[str, Any]) -> None:
    """Build the handler inside the loop (SDK sessions bind to it); run until SIGINT/SIGTERM."""
    handler, properties, close = build()
    try:
        # One event at a time, in order, as the originals handled them.
        await run_until_signalled(
            run_worker(handler, properties=tuple(properties), concurrency=1, **options),
            on_signal=lambda: logger.info("stopping"),
        )
    finally:
        if close is not None:
            await close()


def run(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    build: Build,
    *,
    accounts: Sequence[Mapping[str, Any]] = (),
    log_level: str | None = None,
) -> int:
    """Run the handler ``build`` makes on the runner; a configuration error is a usage error.

    Args:
        parser: the script's parser (its ``error`` exits with status 2).
        args: the parsed options of :func:`add_runner_options` and the script's own.
        build: makes the handler, the ``getMessages`` properties it reads, and its closer.
        accounts: ``connect`` argument objects; none means ``watchAll`` only.
        log_level: overrides ``--log-level`` (lamsonworker's ``--debug``).

    Returns:
        0 once stopped by SIGINT or SIGTERM.
    """
    logging.basicConfig(level=(log_level or args.log_level).upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        token = read_secret(env="SWITCHBOARD_TOKEN", file=args.switchboard_token_file,
                            what="Switchboard token", required=False)
        options = {"url": args.url, "token": token, "state_file": args.state_file,
                   "accounts": list(accounts)}
        asyncio.run(_serve(build, options))
    except (ValueError, OSError) as exc:  # ConfigError is a ValueError; refused at start
        parser.error(str(exc))
    return 0
