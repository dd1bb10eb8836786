"""``switchboard accounts`` and ``switchboard watch``: manage and watch a running server.

The commands use the server's HTTP API (``/api/accounts``) and its ``/workers`` WebSocket
(``connect`` to add an account, ``watchAll`` to watch), with the same token auth as every
other client. ``--url`` defaults to ``$SWITCHBOARD_URL`` or ``http://127.0.0.1:8080``; the
token comes from ``--token`` or ``$SWITCHBOARD_TOKEN`` (prefer the environment: a command line
is visible to other users in ``ps``).

Output is a coloured table when stdout is a terminal and plain columns otherwise (for pipes and
scripts; ``--json`` gives the server's documents as they are). Every failure is one line,
``switchboard: error: …``, and exit status 1: :class:`~switchboard.cli.admin_http.AdminError`
carries it to :func:`~switchboard.cli.command.main` (:mod:`~switchboard.cli.admin_http` turns
every failure to reach the server into one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from switchboard.cli.admin_http import AdminError, api_request, open_session, reason, run_session
from switchboard.cli.admin_output import (
    ACCOUNT_COLUMNS,
    account_detail,
    account_rows,
    format_push,
    plain_table,
)

__all__ = ["DEFAULT_URL", "AdminError", "add_admin_commands", "watched_after"]

DEFAULT_URL: Final = "http://127.0.0.1:8080"
"""The server ``--url`` points at unless ``$SWITCHBOARD_URL`` says otherwise."""

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
        help="add an account (as a worker: it persists), or change what it watches",
        description=(
            "Add an IMAP account, or change the mailboxes an existing one watches. The password "
            "is read from --password-file, else from $SWITCHBOARD_PASSWORD, else asked for on "
            "the terminal; never from the command line. --watch adds a mailbox to the account's "
            "watched set and --unwatch removes one; a new account (or one watching nothing) "
            "watches INBOX unless --watch names others. A mailbox that does not exist changes "
            "nothing: the mailboxes already watched stay watched. The TLS mode (--starttls, "
            "--plain) is an account's from its first add: to change it, remove and add again."
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
        default=[],
        metavar="MAILBOX",
        help="add this mailbox to the watched ones (repeatable; a new account: default INBOX)",
    )
    add.add_argument(
        "--unwatch",
        action="append",
        default=[],
        metavar="MAILBOX",
        help="stop watching this mailbox (repeatable)",
    )
    add.set_defaults(func=_add)

    remove = actions.add_parser("remove", parents=[common], help="stop and forget an account")
    remove.add_argument("account", help="the account (its login name)")
    remove.set_defaults(func=_remove)

    watch = subparsers.add_parser(
        "watch",
        parents=[common],
        help="print new-mail events as they arrive (like tail -f)",
        description=(
            "Subscribe to every account's new mail (watchAll) and print each event. When the "
            "server restarts, watch reconnects and resumes after the last event it printed, so "
            "the mail announced right after the restart is printed too."
        ),
    )
    watch.add_argument(
        "--summary", action="store_true", help="also print each message's sender and subject"
    )
    watch.add_argument("--count", type=int, help="exit after this many events")
    watch.add_argument(
        "--since",
        type=_event_id,
        metavar="EVENT_ID",
        help="first print the logged events after this id (0: all the server keeps)",
    )
    watch.set_defaults(func=_watch)

    accounts.set_defaults(func=lambda _args: _usage(accounts))


def _event_id(text: str) -> int:
    if not text.isdigit() or len(text) > _MAX_EVENT_ID_DIGITS:
        raise argparse.ArgumentTypeError(f"an event id is a whole number >= 0, not {text!r}")
    return int(text)


_MAX_EVENT_ID_DIGITS: Final = 15  # event ids stay below 2**53 (JSON numbers)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


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
    accounts = api_request(args, "GET", "/api/accounts")
    if args.json:
        print(json.dumps(accounts, indent=2))
        return 0
    if not accounts:
        print("no accounts")
        return 0
    _print_table(account_rows(accounts, time.time()))
    return 0


def _show(args: argparse.Namespace) -> int:
    account = api_request(args, "GET", "/api/accounts/" + quote(args.account, safe=""))
    if args.json:
        print(json.dumps(account, indent=2))
        return 0
    pairs = account_detail(account, time.time())
    width = max(len(label) for label, _ in pairs)
    for label, value in pairs:
        print(f"{label.ljust(width)}  {value}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    api_request(args, "DELETE", "/api/accounts/" + quote(args.account, safe=""))
    print(f"removed {args.account}")
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        try:
            lines = args.password_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise AdminError(f"cannot read {args.password_file}: {reason(exc)}") from None
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
    path = "/api/accounts/" + quote(args.user, safe="")
    existing = api_request(args, "GET", path, missing_ok=True)
    tls = "starttls" if args.starttls else "plain" if args.plain else "implicit"
    current: list[str] = []
    if existing is not None:
        _check_tls(args, existing, tls)
        # "watches": the workers' set; a server without it lists the mailboxes watched.
        default = [m["name"] for m in existing.get("mailboxes", [])]
        current = [str(m) for m in existing.get("watches", default)]
    wanted = watched_after(current, args.watch, args.unwatch)
    if not wanted:
        raise AdminError(
            f"that would leave {args.user} watching nothing: "
            f"`switchboard accounts remove {args.user}` stops and forgets it"
        )
    request: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "auth": {"type": "plain", "username": args.user, "password": _password(args)},
    }
    if args.starttls:
        request.update(ssl=False, starttls=True)
    elif args.plain:
        request["ssl"] = False
    result: dict[str, Any] = {"list": current}

    async def add() -> None:
        async with open_session(args) as client:
            await client.call("connect", request)
            if wanted != current:
                result.update(
                    await client.call("watchMailboxes", {"account": args.user, "list": wanted})
                )

    run_session(args, add, explain=lambda exc: _connect_failure(args, tls, exc))
    verb = "added" if existing is None else "updated"
    watching = ", ".join(map(str, result.get("list") or [])) or "nothing"
    print(f"{verb} {args.user} ({args.host}:{args.port}), watching {watching}")
    for name in args.unwatch:
        if name not in current:
            print(f"note: {name} was not watched", file=sys.stderr)
    failed = result.get("failed") or []
    if failed:
        raise AdminError(
            f"cannot watch {', '.join(map(str, failed))} (no such mailbox?); the mailboxes "
            "watched before are still watched"
        )
    return 0


def watched_after(current: list[str], add: list[str], remove: list[str]) -> list[str]:
    """The watch set ``accounts add`` asks for: ``current`` plus ``add`` minus ``remove``.

    An account that watches nothing yet watches INBOX unless ``add`` names mailboxes. Pure.
    """
    if not current and not add and not remove:
        add = ["INBOX"]
    dropped = set(remove)
    return [m for m in dict.fromkeys([*current, *add]) if m not in dropped]


_TLS_WORDS: Final = {
    "implicit": "implicit TLS",
    "starttls": "STARTTLS (--starttls)",
    "plain": "no TLS (--plain)",
}


def _check_tls(args: argparse.Namespace, existing: Mapping[str, Any], tls: str) -> None:
    """Refuse a TLS flag an existing account would not get (``connect`` keeps its mode)."""
    have = existing.get("tls")
    if (args.starttls or args.plain) and have is not None and have != tls:
        flag = "--starttls" if args.starttls else "--plain"
        raise AdminError(
            f"{args.user} already exists with {_TLS_WORDS.get(have, have)}, and {flag} is not "
            f"applied to an existing account: `switchboard accounts remove {args.user}`, then "
            f"add it again with {flag}"
        )


def _connect_failure(args: argparse.Namespace, tls: str, exc: Any) -> str | None:
    """The one line for a failed ``connect``: its reason and, for TLS mistakes, what to try."""
    from switchboard.server.hints import advice, diagnose, without_advice

    if exc.type != "connectionFailed" or not exc.description:
        return None
    reason = without_advice(exc.description).rstrip(".")
    problem = diagnose(reason, tls)
    if problem is None:
        return f"connectionFailed: {reason}"
    hint = advice(problem, host=args.host, port=args.port, tls=tls, cli=True)
    return f"connectionFailed: {reason}. Try: {hint}"


def _watch(args: argparse.Namespace) -> int:
    # Where the log ends now: after a reconnect, watch resumes from here (or from the last
    # event printed), so nothing announced while it was away is missed. The request also makes
    # sure --url is a Switchboard server before a WebSocket is tried.
    health = api_request(args, "GET", "/health")
    since = args.since
    if since is None and isinstance(health, dict) and isinstance(health.get("lastEventId"), int):
        since = health["lastEventId"]

    async def watch() -> None:
        seen = 0
        async with open_session(args, reconnect=True, since=since) as client:
            request: dict[str, Any] = {"summary": True} if args.summary else {}
            if since is not None:
                request["since"] = since
            await client.call("watchAll", request)
            print(f"watching {args.url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
            async for push in client.events():
                if push.name != "newMessage":
                    continue
                summary = None
                if args.summary:
                    summary = push.args.get("summary") or await _summary(client, push.args)
                print(format_push(push.args, time.time(), summary), flush=True)
                seen += 1
                if args.count is not None and seen >= args.count:
                    return
        raise AdminError(f"the connection to {args.url} closed")

    _show_reconnects()
    run_session(args, watch)
    return 0


def _show_reconnects() -> None:
    """Let the client library's reconnect notes through to stderr (one line each)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("switchboard: %(message)s"))
    client_logger = logging.getLogger("switchboard.aio")
    client_logger.addHandler(handler)
    client_logger.setLevel(logging.INFO)
    client_logger.propagate = False


async def _summary(client: Any, push: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Sender and subject from ``getMessages``, for an event logged without a summary."""
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


