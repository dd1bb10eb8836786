"""The JSON documents of the HTTP API: ``/api/accounts`` and ``/api/accounts/<id>``.

Pure functions from the engine's status snapshots to JSON-ready dicts, so the shapes can be
tested without a server. Keys are camelCase like the wire protocol. Nothing secret goes out:
an account's password or tokens are scrubbed from error texts even if a server echoed them
into a message (the engine's texts should not contain them; this is the second line).
"""

from __future__ import annotations

from typing import Any

from switchboard.engine.state import AccountStatus, MailboxStatus
from switchboard.mail.utf7 import decode_mailbox
from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth, TlsMode
from switchboard.model.store import EventTotals
from switchboard.protocol.redaction import REDACTED

__all__ = [
    "REMOTE_STATE",
    "TLS_NAMES",
    "account_document",
    "health_entry",
    "mailbox_document",
    "remote_account_document",
    "scrub",
    "secrets_of",
]

REMOTE_STATE = "remote"
"""The ``state`` of an account another cluster node watches (its live state is on that node)."""

TLS_NAMES = {TlsMode.IMPLICIT: "implicit", TlsMode.STARTTLS: "starttls", TlsMode.PLAIN: "plain"}
"""An account's ``tls`` in the documents: TLS from the first byte, STARTTLS, or none."""

# Secrets shorter than this are not scrubbed: replacing every "a" of a text would only garble it,
# and such a password is not one a server would echo recognisably anyway.
_MIN_SCRUB_CHARS = 4


def account_document(
    status: AccountStatus,
    config: AccountConfig | None,
    *,
    watches: tuple[str, ...] = (),
    history: EventTotals | None = None,
) -> dict[str, Any]:
    """One account as ``/api/accounts`` lists it.

    Args:
        status: the engine's snapshot of the account.
        config: the account's settings: its TLS mode, and its secrets to scrub from error texts.
        watches: the mailboxes the account's workers watch (what ``accounts add`` adds to).
        history: the account's events in the log (``events``, ``lastEventAt``,
            ``lastEventId`` survive a restart); ``None``: this run's counter only.
    """
    secrets = secrets_of(config)
    return {
        "account": status.account_id,
        "host": status.host,
        "port": status.port,
        "tls": None if config is None else TLS_NAMES[config.tls],
        "state": status.state.value,
        "lastError": scrub(status.last_error, secrets),
        "mailboxes": [mailbox_document(m, secrets) for m in status.mailboxes],
        "watches": list(watches),
        "counters": dict(sorted(status.counters.items())),
        **_history_keys(history, status.counters.get("events", 0), status.last_event_at),
        "retryAt": status.retry_at,
    }


def health_entry(status: AccountStatus, config: AccountConfig | None) -> dict[str, Any]:
    """One account as ``/health`` lists it: its state, last error and next attempt."""
    return {
        "account": status.account_id,
        "state": status.state.value,
        "lastError": scrub(status.last_error, secrets_of(config)),
        "retryAt": status.retry_at,
    }


def remote_account_document(
    config: AccountConfig,
    watches: tuple[str, ...],
    node: str | None,
    history: EventTotals | None = None,
) -> dict[str, Any]:
    """An account another cluster node watches, as ``/api/accounts`` lists it on this node.

    Its live state and counters live on ``node`` (``None`` while no node holds its lease);
    the mailboxes are the stored watches, in the ``remote`` state too.
    """
    return {
        "account": config.account_id,
        "host": config.host,
        "port": config.port,
        "tls": TLS_NAMES[config.tls],
        "state": REMOTE_STATE,
        "lastError": None,
        "mailboxes": [
            {
                "name": name,
                "displayName": decode_mailbox(name, strict=False),
                "state": REMOTE_STATE,
                "uidvalidity": None,
                "lastUid": None,
                "lastEventAt": None,
                "lastError": None,
            }
            for name in watches
        ],
        "watches": list(watches),
        "counters": {},
        **_history_keys(history, 0, None),
        "node": node,
    }


def _history_keys(
    history: EventTotals | None, counted: int, last_event_at: float | None
) -> dict[str, Any]:
    if history is None:
        return {"events": counted, "lastEventAt": last_event_at, "lastEventId": None}
    latest = history.last_event_at
    if last_event_at is not None:
        latest = max(latest, last_event_at)
    return {
        # The larger: the log's count, or this run's while the log is still being read.
        "events": max(history.count, counted),
        "lastEventAt": latest,
        "lastEventId": history.last_event_id,
    }


def mailbox_document(status: MailboxStatus, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """One watched mailbox: its raw IMAP name, its display name, state and checkpoint."""
    return {
        "name": status.name,
        "displayName": decode_mailbox(status.name, strict=False),
        "state": status.state.value,
        "uidvalidity": status.uidvalidity,
        "lastUid": status.last_uid,
        "lastEventAt": status.last_event_at,
        "lastError": scrub(status.last_error, secrets),
        "retryAt": status.retry_at,
    }


def scrub(text: str | None, secrets: tuple[str, ...]) -> str | None:
    """``text`` with every occurrence of each of ``secrets`` replaced by ``***``."""
    if text is None:
        return None
    for secret in secrets:
        if len(secret) >= _MIN_SCRUB_CHARS:
            text = text.replace(secret, REDACTED)
    return text


def secrets_of(config: AccountConfig | None) -> tuple[str, ...]:
    """The account's password or tokens: what :func:`scrub` removes from texts."""
    if config is None:
        return ()
    auth = config.auth
    if isinstance(auth, PasswordAuth):
        return (auth.password,)
    assert isinstance(auth, OAuth2Auth)
    candidates = (auth.access_token, auth.refresh_token, auth.client_secret)
    return tuple(s for s in candidates if s)
