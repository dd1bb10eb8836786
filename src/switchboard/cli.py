"""The ``switchboard`` command: ``serve`` (and, as they arrive, ``demo``, ``accounts``, ``watch``).

Errors are one clear line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from switchboard import __version__
from switchboard.admin_cli import add_admin_commands
from switchboard.demo.cli import add_demo_command
from switchboard.errors import SwitchboardError
from switchboard.extras import is_installed
from switchboard.server.flags import add_setting_flags, flag_overrides
from switchboard.tokens_cli import add_tokens_command

__all__ = ["main", "run_async"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``switchboard`` console script; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        result: int = args.func(args)
        return result
    except SwitchboardError as exc:
        print(f"switchboard: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description="Watch IMAP mailboxes with IDLE and push new-mail events over WebSocket.",
    )
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the server",
        description=(
            "Run the Switchboard server. Each setting below is also SWITCHBOARD_<NAME> in the "
            "environment (SWITCHBOARD_IMAP_CA_FILE) and a key of a TOML file (--config); the "
            "command line wins over the environment, which wins over the file. secret_key and "
            "oauth_providers are environment/file only."
        ),
    )
    serve.add_argument("--config", type=Path, help="TOML config file")
    add_setting_flags(serve)
    serve.set_defaults(func=_serve)

    add_demo_command(commands)
    add_admin_commands(commands)
    add_tokens_command(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from switchboard.server.app import SwitchboardServer
    from switchboard.server.config import load_settings

    settings = load_settings(
        config_file=args.config, environ=os.environ, overrides=flag_overrides(args)
    )
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    async def serve_until_signalled() -> None:
        server = SwitchboardServer(settings)
        await server.start()
        # One line, first on stdout: scripts and tests read the port from it.
        where = f"data in {settings.data_dir}"
        if server.node_id is not None:
            where = f"cluster node {server.node_id}, shared store"
        print(
            f"switchboard {__version__} listening on ws://{settings.host}:{server.port}/workers "
            f"and /clients ({where})",
            flush=True,
        )
        try:
            await _wait_for_signal()
        finally:
            await server.stop()

    run_async(serve_until_signalled)
    return 0


async def _wait_for_signal() -> None:
    """Return on SIGINT or SIGTERM (a clean stop: LOGOUT, state flushed)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run_async(main_coroutine: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main_coroutine`` on uvloop when installed (``imap.tls``: less memory per TLS link)."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if is_installed("uvloop"):  # the ``fast`` extra
        import uvloop

        loop_factory = uvloop.new_event_loop
    # Outside any ``except ImportError``: an error raised while running must not be chained to
    # the ImportError of a missing uvloop in its traceback.
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main_coroutine())


if __name__ == "__main__":
    sys.exit(main())
