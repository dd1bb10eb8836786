"""What every ready-made worker shares: notification text, account maps, secrets, config errors.

A worker's service logic (push, SMS, webhook, relay, attachment saver) takes a
:class:`~switchboard.workers.mail.NewMail` — the one shape of a new message, built by the runner
— and delivers it, returning only once delivered (or dead-lettered) and raising otherwise, so
that the runner acknowledges exactly what was processed.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from switchboard.errors import SwitchboardError
from switchboard.workers.mail import NewMail

__all__ = [
    "MAX_ACCOUNT_MAP_BYTES",
    "MAX_SECRET_FILE_BYTES",
    "ConfigError",
    "load_account_map",
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


def notification_text(mail: NewMail, dash: str = "–") -> str:
    """``"From – Subject"``: the sender's name (or address), a dash, the subject."""
    sender = mail.sender[0] if mail.sender else None
    who = (sender.name or sender.email) if sender else "(unknown sender)"
    return f"{who} {dash} {mail.subject or '(no subject)'}"


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
