"""``switchboard accounts`` and ``switchboard watch``: manage and watch a running server.

The commands use the server's HTTP API (``/api/accounts``) and its ``/workers`` WebSocket
(``connect`` to add an account, ``watchAll`` to watch), with the same token auth as every
other client. ``--url`` defaults to ``$SWITCHBOARD_URL`` or ``http://127.0.0.1:8080``; the
token comes from ``--token`` or ``$SWITCHBOARD_TOKEN`` (prefer the environment: a command line
is visible to other users in ``ps``).

Output is a coloured table when stdout is a terminal and plain columns otherwise (for pipes and
scripts; ``--json`` gives the server's documents as they are). Every failure is one line,
``switchboard: error: …``, and exit status 1: :class:`AdminError` carries it to ``cli.main``.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from websockets.exceptions import InvalidStatus, WebSocketException

from switchboard.admin_output import (
    ACCOUNT_COLUMNS,
    account_detail,
    account_rows,
    format_push,
    plain_table,
    ws_url,
)
from switchboard.errors import SwitchboardError

__all__ = ["DEFAULT_URL", "AdminError", "add_admin_commands"]

DEFAULT_URL: Final = "http://127.0.0.1:8080"
"""The server ``--url`` points at unless ``$SWITCHBOARD_URL`` says otherwise."""

DEFAULT_TIMEOUT_S: Final = 30.0
"""How long one HTTP request or one command may take (``connect`` logs in to IMAP first)."""

MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
"""The largest HTTP response body read from the server."""

_STATE_STYLES: Final = {
    "idle": "green",
    "syncing": "cyan",
    "connecting": "cyan",
    "authenticating": "cyan",
    "backoff": "yellow",
    "authFailed": "bold red",
    "error": "bold red",
    "stopped": "dim",
}


class AdminError(SwitchboardError):
    """Raised when a command against a running server fails; its text is the one-line message."""


def add_admin_commands(subparsers: Any) -> None:
    """Register ``accounts`` and ``watch`` on the ``switchboard`` command's subparsers.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=os.environ.get("SWITCHBOARD_URL", DEFAULT_URL),
        help="the server's base URL (default $SWITCHBOARD_URL or %(default)s)",
    )
    common.add_argument(
        "--token",
        default=os.environ.get("SWITCHBOARD_TOKEN"),
        help="auth token (default $SWITCHBOARD_TOKEN)",
    )

    accounts = subparsers.add_parser(
        "accounts", help="list, show, add or remove accounts on a running server"
    )
    actions = accounts.add_subparsers(title="actions", metavar="ACTION")

    list_ = actions.add_parser("list", parents=[common], help="every account with its state")
    list_.add_argument("--json", action="store_true", help="print the server's JSON")
    list_.set_defaults(func=_list)

    show = actions.add_parser("show", parents=[common], help="one account in detail")
    show.add_argument("account", help="the account (its login name)")
    show.add_argument("--json", action="store_true", help="print the server's JSON")
    show.set_defaults(func=_show)

    add = actions.add_parser(
        "add",
        parents=[common],
        help="add an account (as a worker: it persists) and watch its mailboxes",
        description=(
            "Add an IMAP account. The password is read from --password-file, else from "
            "$SWITCHBOARD_PASSWORD, else asked for on the terminal; never from the command line."
        ),
    )
    add.add_argument("--host", required=True, help="IMAP server host")
    add.add_argument("--port", type=int, default=993, help="IMAP port (default 993)")
    add.add_argument("--user", required=True, help="login name (becomes the account's name)")
    add.add_argument("--password-file", type=Path, help="file whose first line is the password")
    tls = add.add_mutually_exclusive_group()
    tls.add_argument("--starttls", action="store_true", help="plain connect, then STARTTLS")
    tls.add_argument("--plain", action="store_true", help="no TLS (loopback or allowed hosts)")
    add.add_argument(
        "--watch",
        action="append",
        metavar="MAILBOX",
        help="mailbox to watch (repeatable; default INBOX)",
    )
    add.set_defaults(func=_add)

    remove = actions.add_parser("remove", parents=[common], help="stop and forget an account")
    remove.add_argument("account", help="the account (its login name)")
    remove.set_defaults(func=_remove)

    watch = subparsers.add_parser(
        "watch",
        parents=[common],
        help="print new-mail events as they arrive (like tail -f)",
        description="Subscribe to every account's new mail (watchAll) and print each event.",
    )
    watch.add_argument(
        "--summary", action="store_true", help="also fetch each message's sender and subject"
    )
    watch.add_argument("--count", type=int, help="exit after this many events")
    watch.set_defaults(func=_watch)

    accounts.set_defaults(func=lambda _args: _usage(accounts))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# -- HTTP ------------------------------------------------------------------------------------


def _reason(exc: BaseException | str) -> str:
    """A short, lower-case reason: ``connection refused``, ``timed out``, ``name unknown``…"""
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__  # URLError.reason may also be a plain string


def _request(args: argparse.Namespace, method: str, path: str) -> Any:
    """``method`` ``path`` on the server; the decoded JSON body.

    Raises:
        AdminError: unreachable, refused token, no such account, or any other failure.
    """
    base = args.url.rstrip("/")
    request = urllib.request.Request(base + path, method=method)  # noqa: S310 - http(s) only
    if not base.startswith(("http://", "https://")):
        raise AdminError(f"--url must start with http:// or https://, not {args.url!r}")
    if args.token:
        request.add_header("Authorization", f"Bearer {args.token}")
    try:
        with urllib.request.urlopen(request, timeout=DEFAULT_TIMEOUT_S) as response:  # noqa: S310
            body = response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        raise _http_error(exc, base) from None
    except urllib.error.URLError as exc:
        raise AdminError(f"cannot reach {base}: {_reason(exc.reason)}") from None
    except OSError as exc:
        raise AdminError(f"cannot reach {base}: {_reason(exc)}") from None
    try:
        return json.loads(body)
    except ValueError:
        raise AdminError(
            f"{base}{path} did not answer with JSON: is it a Switchboard server?"
        ) from None


def _http_error(exc: urllib.error.HTTPError, base: str) -> AdminError:
    if exc.code == 401:
        return AdminError(f"{base} refused the token (HTTP 401): set --token or SWITCHBOARD_TOKEN")
    try:
        description = json.loads(exc.read(MAX_RESPONSE_BYTES)).get("description")
    except (ValueError, AttributeError, OSError):
        description = None
    return AdminError(description or f"{base} answered HTTP {exc.code} {exc.reason}")


# -- output ----------------------------------------------------------------------------------


def _is_tty() -> bool:
    return sys.stdout.isatty()


def _print_table(rows: list[list[str]]) -> None:
    if not _is_tty():
        print(plain_table(ACCOUNT_COLUMNS, rows))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ACCOUNT_COLUMNS:
        table.add_column(column, justify="right" if column == "EVENTS" else "left")
    for row in rows:
        styled = list(row)
        styled[2] = f"[{_STATE_STYLES.get(row[2], '')}]{row[2]}[/]"
        styled[6] = f"[red]{_escape(row[6])}[/]" if row[6] else ""
        table.add_row(_escape(row[0]), row[1], styled[2], _escape(row[3]), row[4], row[5],
                      styled[6])  # fmt: skip
    Console().print(table)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


# -- commands --------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    accounts = _request(args, "GET", "/api/accounts")
    if args.json:
        print(json.dumps(accounts, indent=2))
        return 0
    if not accounts:
        print("no accounts")
        return 0
    _print_table(account_rows(accounts, time.time()))
    return 0


def _show(args: argparse.Namespace) -> int:
    account = _request(args, "GET", "/api/accounts/" + quote(args.account, safe=""))
    if args.json:
        print(json.dumps(account, indent=2))
        return 0
    pairs = account_detail(account, time.time())
    width = max(len(label) for label, _ in pairs)
    for label, value in pairs:
        print(f"{label.ljust(width)}  {value}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    _request(args, "DELETE", "/api/accounts/" + quote(args.account, safe=""))
    print(f"removed {args.account}")
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        try:
            lines = args.password_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise AdminError(f"cannot read {args.password_file}: {_reason(exc)}") from None
        if not lines or not lines[0]:
            raise AdminError(f"{args.password_file} is empty")
        return str(lines[0])
    from_env = os.environ.get("SWITCHBOARD_PASSWORD")
    if from_env:
        return from_env
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"password for {args.user}@{args.host}: ")
    raise AdminError("no password: use --password-file or set SWITCHBOARD_PASSWORD")


def _add(args: argparse.Namespace) -> int:
    from switchboard.cli import run_async

    request: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "auth": {"type": "plain", "username": args.user, "password": _password(args)},
    }
    if args.starttls:
        request.update(ssl=False, starttls=True)
    elif args.plain:
        request["ssl"] = False
    mailboxes = args.watch or ["INBOX"]
    result: dict[str, Any] = {}

    async def add() -> None:
        async with _open(args) as client:
            await client.call("connect", request)
            result.update(
                await client.call("watchMailboxes", {"account": args.user, "list": mailboxes})
            )

    _run(args, run_async, add)
    failed = result.get("failed") or []
    watching = [m for m in mailboxes if m not in failed]
    print(
        f"added {args.user} ({args.host}:{args.port}), watching {', '.join(watching) or 'nothing'}"
    )
    if failed:
        raise AdminError(f"cannot watch {', '.join(map(str, failed))} (no such mailbox?)")
    return 0


def _watch(args: argparse.Namespace) -> int:
    from switchboard.cli import run_async

    async def watch() -> None:
        seen = 0
        async with _open(args) as client:
            await client.call("watchAll", {})
            print(f"watching {args.url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
            async for push in client.events():
                if push.name != "newMessage":
                    continue
                summary = await _summary(client, push.args) if args.summary else None
                print(format_push(push.args, time.time(), summary), flush=True)
                seen += 1
                if args.count is not None and seen >= args.count:
                    return
        raise AdminError(f"the connection to {args.url} closed")

    _run(args, run_async, watch)
    return 0


async def _summary(client: Any, push: Mapping[str, Any]) -> Mapping[str, Any] | None:
    from switchboard.client.errors import CommandError

    try:
        reply = await client.call(
            "getMessages",
            {"account": push.get("account"), "ids": [push.get("messageId")],
             "properties": ["subject", "from"]},
        )  # fmt: skip
    except CommandError:
        return None  # e.g. the message was expunged meanwhile: print the event without it
    found = reply.get("list") or []
    return found[0] if found else None


def _open(args: argparse.Namespace) -> Any:
    from switchboard import aio

    url = ws_url(args.url)
    return aio.connect(url, token=args.token, timeout_s=DEFAULT_TIMEOUT_S)


def _run(args: argparse.Namespace, run_async: Any, main: Any) -> None:
    """Run ``main`` on the event loop, turning connection failures into one-line errors."""
    from switchboard.client.errors import CommandError, ConnectionClosed, ResponseTimeout

    base = args.url.rstrip("/")
    try:
        run_async(main)
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status == 401:
            raise AdminError(
                f"{base} refused the token (HTTP 401): set --token or SWITCHBOARD_TOKEN"
            ) from None
        raise AdminError(f"{base} refused the WebSocket (HTTP {status})") from None
    except CommandError as exc:
        raise AdminError(
            f"{exc.type}: {exc.description}" if exc.description else str(exc)
        ) from None
    except (ConnectionClosed, ResponseTimeout) as exc:
        raise AdminError(f"{base}: {exc}") from None
    except (OSError, WebSocketException) as exc:
        raise AdminError(f"cannot reach {base}: {_reason(exc)}") from None
