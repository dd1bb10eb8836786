#!/usr/bin/env python3
"""Print the subject, sender and recipients of every new message in an account's INBOX.

The original switchboard-python example, ported to Python 3. It connects to a Switchboard
server's worker interface, connects the IMAP account, watches its INBOX, and prints each new
message as it arrives::

    SWITCHBOARD_IMAP_PASSWORD=secret python examples/original/listener.py \\
        --url ws://127.0.0.1:8080/workers --host imap.example.com --user bob@example.com
"""

from __future__ import annotations

import argparse
import email.message
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import switchboard

logger = logging.getLogger("listener")


class Listener(switchboard.Fetcher):
    """A Fetcher that connects one account on open and prints what each new message says."""

    def __init__(
        self,
        url: str,
        connspec: dict[str, Any],
        *,
        token: str | None = None,
        write: Callable[[str], object] = print,
    ) -> None:
        super().__init__(url, token=token)
        self.connspec = connspec
        self.write = write

    def opened(self) -> None:
        """Connect the account and watch its INBOX, in one frame as the original did."""
        account = self.connspec["auth"]["username"]

        def check(reply: tuple[list[Any], list[Any]]) -> None:
            _cmds, resps = reply
            for error in switchboard.errors_in(resps):
                logger.error("setup failed: %s", error[1])

        self.send_cmds(
            ("connect", self.connspec),
            ("watchMailboxes", {"account": account, "list": ["INBOX"]}),
            ("watchAll", {}),
        ).then(check)

    def received_new(self, msg: email.message.Message) -> None:
        """Print Subject, From and To; a header that is missing prints as ``(none)``."""
        for name in ("Subject", "From", "To"):
            self.write(f"{name}: {msg.get(name, '(none)')}")
        self.write("")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8080/workers",
                        help="Switchboard worker endpoint (a ?token=... query is sent as is)")
    parser.add_argument("--host", default="127.0.0.1", help="IMAP server host (implicit TLS)")
    parser.add_argument("--port", type=int, default=993, help="IMAP server port (default 993)")
    parser.add_argument("--user", required=True, help="IMAP login name")
    parser.add_argument("--password", default=os.environ.get("SWITCHBOARD_IMAP_PASSWORD"),
                        help="IMAP password (default: $SWITCHBOARD_IMAP_PASSWORD)")
    parser.add_argument("--token", default=os.environ.get("SWITCHBOARD_TOKEN"),
                        help="worker auth token, sent as a Bearer header "
                             "(default: $SWITCHBOARD_TOKEN)")
    args = parser.parse_args(argv)
    if args.password is None:
        parser.error("give --password or set SWITCHBOARD_IMAP_PASSWORD")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO)
    args = parse_args(argv)
    connspec = {"host": args.host, "port": args.port,
                "auth": {"type": "plain", "username": args.user, "password": args.password}}
    listener = Listener(args.url, connspec, token=args.token)
    listener.connect()
    try:
        listener.run_forever()
    except KeyboardInterrupt:
        listener.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
