"""Format the server's account and push documents as the text the admin commands print.

Pure functions (no I/O, time passed in), shared by the plain-text and the rich (TTY) output so
the two show the same columns. Plain text is for pipes and scripts: fixed columns separated by
two spaces, one line per row, no colour.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = [
    "ACCOUNT_COLUMNS",
    "account_detail",
    "account_rows",
    "events",
    "failures",
    "format_push",
    "plain_table",
    "relative_time",
    "sender_text",
    "ws_url",
]

ACCOUNT_COLUMNS: Final = (
    "ACCOUNT",
    "SERVER",
    "STATE",
    "MAILBOXES",
    "LAST EVENT",
    "EVENTS",
    "ERROR",
)
"""The columns of ``switchboard accounts list``."""

MAX_ERROR_CHARS: Final = 60
"""An error text longer than this is cut in the table (``accounts show`` prints it whole)."""


def relative_time(then: float | None, now: float) -> str:
    """``"12 s ago"``, ``"3 min ago"``, ``"2 h ago"``, a date beyond a day, ``"never"`` for None."""
    if then is None:
        return "never"
    seconds = max(0.0, now - then)
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h ago"
    return datetime.datetime.fromtimestamp(then).strftime("%Y-%m-%d %H:%M")


def failures(counters: Mapping[str, int]) -> int:
    """The account's failed connection attempts (backoff, auth failures, errors), all watchers."""
    return sum(v for k, v in counters.items() if k.startswith("failures_"))


def events(account: Mapping[str, Any]) -> int:
    """The account's events in the server's log (its ``events``; older servers: this run's)."""
    count = account.get("events")
    if isinstance(count, int):
        return count
    return int(account.get("counters", {}).get("events", 0))


def _mailboxes(account: Mapping[str, Any]) -> str:
    names = [m.get("displayName") or m["name"] for m in account.get("mailboxes", [])]
    return ", ".join(names) if names else "-"


def _cut(text: str | None, limit: int) -> str:
    if not text:
        return ""
    text = " ".join(text.split())  # one line, whatever the server said
    return text if len(text) <= limit else text[: limit - 1] + "…"


def account_rows(accounts: Sequence[Mapping[str, Any]], now: float) -> list[list[str]]:
    """One row of :data:`ACCOUNT_COLUMNS` per account document of ``/api/accounts``."""
    return [
        [
            a["account"],
            f"{a['host']}:{a['port']}",
            a["state"],
            _mailboxes(a),
            relative_time(a.get("lastEventAt"), now),
            str(events(a)),
            _cut(a.get("lastError"), MAX_ERROR_CHARS),
        ]
        for a in accounts
    ]


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces; trailing blanks stripped."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [list(headers), *rows]
    ]
    return "\n".join(lines)


def account_detail(account: Mapping[str, Any], now: float) -> list[tuple[str, str]]:
    """``accounts show``: (label, value) pairs, then one pair per mailbox and per counter."""
    pairs = [
        ("account", account["account"]),
        ("server", f"{account['host']}:{account['port']}"),
        ("tls", str(account.get("tls") or "-")),
        ("state", account["state"]),
        ("events", str(events(account))),
        ("last event", relative_time(account.get("lastEventAt"), now)),
        ("last error", account.get("lastError") or "-"),
    ]
    for box in account.get("mailboxes", []):
        state = box["state"] + (f" ({box['lastError']})" if box.get("lastError") else "")
        pairs.append((f"mailbox {box.get('displayName') or box['name']}", state))
    for name, value in sorted(account.get("counters", {}).items()):
        pairs.append((f"counter {name}", str(value)))
    return pairs


def format_push(args: Mapping[str, Any], now: float, summary: Mapping[str, Any] | None) -> str:
    """One line for a ``newMessage`` push: local time, account, message id, sender and subject.

    ``summary`` is the push's own ``summary`` (``from`` is ``"Name <addr>"``) or a
    ``getMessages`` object (``from`` is a list of addresses), or None.
    """
    clock = datetime.datetime.fromtimestamp(now).strftime("%H:%M:%S")
    parts = [clock, str(args.get("account", "?")), str(args.get("messageId", "?"))]
    if summary is not None:
        subject = summary.get("subjectDecoded") or summary.get("subject") or "(no subject)"
        sender = sender_text(summary.get("from"))
        parts.append(f"from {sender}: {subject}" if sender else str(subject))
    return "  ".join(parts)


def sender_text(value: Any) -> str:
    """``Name <addr>`` (or just the address) from a summary's or a message's ``from``."""
    if isinstance(value, str):
        return value
    if not isinstance(value, Sequence) or not value or not isinstance(value[0], Mapping):
        return ""
    first = value[0]
    email = str(first.get("email") or "")
    name = first.get("decodedName") or first.get("name")
    return f"{name} <{email}>" if name and email else email or str(name or "")


def ws_url(base_url: str, path: str = "/workers") -> str:
    """The WebSocket URL for ``path`` on the server at ``base_url`` (http→ws, https→wss)."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :] + path
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :] + path
    return base + path  # already ws:// or wss://
