"""The ``switchboard`` command: its parser, assembled from one module per command, and ``main``.

``serve`` (:mod:`.serve`), ``demo`` (:mod:`.demo`), ``accounts`` and ``watch`` (:mod:`.admin`),
``tokens`` (:mod:`.tokens`). Each module registers its parser and imports the heavy parts of its
command (the server's runtime, the demo and pymap, the client) only when the command runs.
Errors are one clear line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from switchboard import __version__
from switchboard.cli.admin import add_admin_commands
from switchboard.cli.demo import add_demo_command
from switchboard.cli.serve import add_serve_command
from switchboard.cli.tokens import add_tokens_command
from switchboard.errors import SwitchboardError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``switchboard`` console script; returns the exit status."""
    parser = build_parser()
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


def build_parser() -> argparse.ArgumentParser:
    """The ``switchboard`` parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description="Watch IMAP mailboxes with IDLE and push new-mail events over WebSocket.",
    )
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    add_serve_command(commands)
    add_demo_command(commands)
    add_admin_commands(commands)
    add_tokens_command(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
