"""What every ready-made worker shares: the new-mail input, its summary, account maps, secrets.

A worker's service logic (push, SMS, webhook, relay, attachment saver) takes a
:class:`NewMail` — the ``newMessage`` push plus the ``getMessages`` properties fetched for it — and
delivers it, returning only once delivered (or dead-lettered) and raising otherwise, so that the
runner acknowledges exactly what was processed. :func:`new_mail_from` turns the runner's event into
a :class:`NewMail`, whatever attribute spelling it uses, so the cores never depend on the runner.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from switchboard.errors import SwitchboardError
from switchboard.workers.listener import Address, parse_addresses

__all__ = [
    "MAX_ACCOUNT_MAP_BYTES",
    "MAX_SECRET_FILE_BYTES",
    "Address",
    "ConfigError",
    "NewMail",
    "Summary",
    "load_account_map",
    "new_mail_from",
    "notification_text",
    "read_secret",
    "targets_for",
    "truncate",
]

MAX_ACCOUNT_MAP_BYTES: Final = 1024 * 1024
"""Largest account map file read (a map of a few thousand accounts fits easily)."""

MAX_SECRET_FILE_BYTES: Final = 64 * 1024
"""Largest secret file read (keys and tokens are a few KiB at most)."""


class ConfigError(SwitchboardError, ValueError):
    """A worker's configuration is unusable: a missing secret, a malformed account map."""


@dataclass(frozen=True, slots=True)
class NewMail:
    """One new message as a worker's core sees it.

    Attributes:
        account: the account (login name) the push names, ``None`` on /clients.
        message_id: the ``N!V?uid`` id of the message.
        event_id: the server's event id (the dedup key), ``None`` from an old server.
        mailbox_id: the ``N!V`` id of its mailbox, ``""`` if the push had none.
        properties: the ``getMessages`` object fetched for it (empty if nothing was fetched).
    """

    account: str | None
    message_id: str
    event_id: int | None = None
    mailbox_id: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """A stable id for this delivery: the event id when known, else account and message."""
        if self.event_id is not None:
            return f"sb-{self.event_id}"
        return f"sb-{self.account or ''}-{self.message_id}"


def _attr(event: object, *names: str) -> Any:
    for name in names:
        if isinstance(event, Mapping) and name in event:
            return event[name]
        if hasattr(event, name):
            return getattr(event, name)
    return None


def new_mail_from(event: object) -> NewMail:
    """Read a runner event (or a push's args mapping) into a :class:`NewMail`.

    Accepts ``account``, ``message_id``/``messageId``, ``event_id``/``eventId``,
    ``mailbox_id``/``mailboxId`` and ``properties``/``message`` from attributes or mapping keys,
    and also an ``args`` mapping holding the push's arguments.

    Raises:
        ValueError: the event names no message id.
    """
    args = _attr(event, "args")
    sources: list[object] = [event] + ([args] if isinstance(args, Mapping) else [])
    found: dict[str, Any] = {}
    for key, names in {
        "account": ("account",),
        "message_id": ("message_id", "messageId"),
        "event_id": ("event_id", "eventId"),
        "mailbox_id": ("mailbox_id", "mailboxId"),
        "properties": ("properties", "message", "fetched"),
    }.items():
        for source in sources:
            value = _attr(source, *names)
            if value is not None:
                found[key] = value
                break
    message_id = found.get("message_id")
    if not isinstance(message_id, str):
        raise ValueError(f"event without a message id: {event!r}")
    account = found.get("account")
    event_id = found.get("event_id")
    mailbox_id = found.get("mailbox_id")
    properties = found.get("properties")
    return NewMail(
        account=account if isinstance(account, str) else None,
        message_id=message_id,
        event_id=event_id if isinstance(event_id, int) else None,
        mailbox_id=mailbox_id if isinstance(mailbox_id, str) else "",
        properties=properties if isinstance(properties, Mapping) else {},
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """The human-facing fields of a message, decoded where the server offers it."""

    sender: tuple[Address, ...]
    recipients: tuple[Address, ...]
    subject: str | None
    date: str | None
    size: int | None
    preview: str | None

    @classmethod
    def of(cls, mail: NewMail) -> Summary:
        """Summarise ``mail.properties`` (missing or ill-typed fields become ``None``/empty)."""
        props = mail.properties
        subject = props.get("subjectDecoded", props.get("subject"))
        date, size, preview = props.get("date"), props.get("size"), props.get("preview")
        return cls(
            sender=parse_addresses(props.get("from")),
            recipients=parse_addresses(props.get("to")),
            subject=subject if isinstance(subject, str) else None,
            date=date if isinstance(date, str) else None,
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            preview=preview if isinstance(preview, str) else None,
        )

    def to_json(self) -> dict[str, Any]:
        """The summary as the webhook's JSON object."""

        def addresses(values: tuple[Address, ...]) -> list[dict[str, str]]:
            return [{"name": a.name, "email": a.email} for a in values]

        return {
            "from": addresses(self.sender),
            "to": addresses(self.recipients),
            "subject": self.subject,
            "date": self.date,
            "size": self.size,
            "preview": self.preview,
        }


def truncate(text: str, max_chars: int, ellipsis: str = "…") -> str:
    """Cut ``text`` to at most ``max_chars`` characters, at a word boundary when one is near.

    Raises:
        ValueError: ``max_chars`` is smaller than the ellipsis.
    """
    if max_chars < len(ellipsis):
        raise ValueError(f"max_chars must be at least {len(ellipsis)}")
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - len(ellipsis)]
    space = cut.rfind(" ")
    # Prefer a word boundary, but not at the price of losing more than a fifth of the room.
    if space >= len(cut) * 4 // 5:
        cut = cut[:space]
    return cut.rstrip() + ellipsis


def notification_text(summary: Summary) -> str:
    """``"From – Subject"``: the sender's name (or address), an en dash, the subject."""
    if summary.sender:
        first = summary.sender[0]
        sender = first.name or first.email
    else:
        sender = "(unknown sender)"
    subject = summary.subject if summary.subject else "(no subject)"
    return f"{sender} – {subject}"


def read_secret(
    value: str | None = None,
    *,
    env: str | None = None,
    file: str | os.PathLike[str] | None = None,
    what: str = "secret",
    required: bool = True,
) -> str | None:
    """Return a secret from a file, an environment variable, or a given value, in that order.

    A file's content is stripped of surrounding whitespace (a trailing newline is usual).

    Raises:
        ConfigError: ``required`` and no source gives a value, or the file is unreadable or
            larger than :data:`MAX_SECRET_FILE_BYTES`.
    """
    if file is not None:
        try:
            with open(file, "rb") as handle:
                data = handle.read(MAX_SECRET_FILE_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"cannot read the {what} file {file}: {exc.strerror}") from exc
        if len(data) > MAX_SECRET_FILE_BYTES:
            raise ConfigError(f"the {what} file {file} is over {MAX_SECRET_FILE_BYTES} bytes")
        return data.decode().strip()
    if env is not None and os.environ.get(env):
        return os.environ[env]
    if value:
        return value
    if required:
        hint = f" (set ${env} or give a file)" if env else ""
        raise ConfigError(f"no {what} given{hint}")
    return None


def load_account_map(path: str | os.PathLike[str]) -> dict[str, tuple[str, ...]]:
    """Read an account → targets map (device tokens, phone numbers) from JSON or TOML.

    The file maps each account login name to one target or a list of them; ``"*"`` names the
    targets for every account not listed. TOML is used for a ``.toml`` suffix, JSON otherwise::

        {"bob@example.com": ["a1b2…", "c3d4…"], "*": "e5f6…"}

    Raises:
        ConfigError: unreadable, too large, malformed, or a value that is not a string or a
            list of strings.
    """
    file = Path(path)
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_ACCOUNT_MAP_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the account map {file}: {exc.strerror}") from exc
    if len(data) > MAX_ACCOUNT_MAP_BYTES:
        raise ConfigError(f"the account map {file} is over {MAX_ACCOUNT_MAP_BYTES} bytes")
    try:
        raw = tomllib.loads(data.decode()) if file.suffix == ".toml" else json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the account map {file} is malformed: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"the account map {file} must be an object of account → targets")
    out: dict[str, tuple[str, ...]] = {}
    for account, targets in raw.items():
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise ConfigError(f"{file}: targets of {account!r} must be a string or strings")
        out[account] = tuple(targets)
    return out


def targets_for(account_map: Mapping[str, tuple[str, ...]], account: str | None) -> tuple[str, ...]:
    """The targets of ``account``, else the ``"*"`` entry's, else none."""
    if account is not None and account in account_map:
        return account_map[account]
    return account_map.get("*", ())
