"""Conversion between the model's types and the JSON the stores keep: events, accounts, credentials.

Shared by :mod:`~switchboard.store.memory` and :mod:`~switchboard.store.sqlite` so the two stores
cannot drift. Encoding checks types strictly (a ``bool`` is not a UID, a lone surrogate is not
text) and decoding trusts nothing it reads back: both raise :class:`CodecError` rather than
store or return something malformed. Pure functions, no I/O.

Event JSON carries a ``"type"`` key (``newMessage``, ``uidValidityChanged``, ``mailboxGone``);
the other keys are the dataclass fields. Credentials JSON carries ``"kind"`` (``password`` or
``oauth2``) and the whole auth object, tokens included, and is what gets sealed.
"""

from __future__ import annotations

from typing import Any

from switchboard.model.accounts import AccountConfig, Auth, OAuth2Auth, PasswordAuth, TlsMode
from switchboard.model.events import (
    EngineEvent,
    MailboxGone,
    MessageSummary,
    NewMessage,
    UidValidityChanged,
)
from switchboard.store import storejson
from switchboard.store.errors import CodecError

__all__ = [
    "account_from_settings",
    "account_settings",
    "dump_auth",
    "dump_event",
    "load_auth",
    "load_event",
]


_NEW_MESSAGE = "newMessage"
_UIDVALIDITY_CHANGED = "uidValidityChanged"
_MAILBOX_GONE = "mailboxGone"


# -- events ------------------------------------------------------------------------------------


def dump_event(event: EngineEvent) -> str:
    """Encode an engine event as compact JSON text.

    Raises:
        CodecError: the event is not one of the engine's event types or holds a value of the
            wrong type, or text that is not valid Unicode (a lone surrogate).
    """
    if isinstance(event, NewMessage):
        obj: dict[str, Any] = {
            "type": _NEW_MESSAGE,
            "account_id": _str(event.account_id),
            "mailbox": _str(event.mailbox),
            "uidvalidity": _int(event.uidvalidity),
            "uid": _int(event.uid),
        }
        if event.summary is not None:
            s = event.summary
            if not isinstance(s, MessageSummary):
                raise CodecError(f"summary must be a MessageSummary, not {type(s).__name__}")
            obj["summary"] = {
                "subject": _opt_str(s.subject),
                "from_": _opt_str(s.from_),
                "date": _opt_str(s.date),
                "size": _opt_int(s.size),
            }
    elif isinstance(event, UidValidityChanged):
        obj = {
            "type": _UIDVALIDITY_CHANGED,
            "account_id": _str(event.account_id),
            "mailbox": _str(event.mailbox),
            "old_uidvalidity": _int(event.old_uidvalidity),
            "new_uidvalidity": _int(event.new_uidvalidity),
        }
    elif isinstance(event, MailboxGone):
        obj = {
            "type": _MAILBOX_GONE,
            "account_id": _str(event.account_id),
            "mailbox": _str(event.mailbox),
            "reason": _str(event.reason),
        }
    else:
        raise CodecError(f"not an engine event: {type(event).__name__}")
    return _dumps(obj)


def load_event(text: str) -> EngineEvent:
    """Decode JSON text made by :func:`dump_event`.

    Raises:
        CodecError: the text is not such JSON.
    """
    obj = _loads_object(text)
    kind = obj.get("type")
    try:
        if kind == _NEW_MESSAGE:
            raw_summary = obj.get("summary")
            summary = None
            if raw_summary is not None:
                if not isinstance(raw_summary, dict):
                    raise CodecError("summary must be an object")
                summary = MessageSummary(
                    subject=_opt_str(raw_summary.get("subject")),
                    from_=_opt_str(raw_summary.get("from_")),
                    date=_opt_str(raw_summary.get("date")),
                    size=_opt_int(raw_summary.get("size")),
                )
            return NewMessage(
                account_id=_str(obj["account_id"]),
                mailbox=_str(obj["mailbox"]),
                uidvalidity=_int(obj["uidvalidity"]),
                uid=_int(obj["uid"]),
                summary=summary,
            )
        if kind == _UIDVALIDITY_CHANGED:
            return UidValidityChanged(
                account_id=_str(obj["account_id"]),
                mailbox=_str(obj["mailbox"]),
                old_uidvalidity=_int(obj["old_uidvalidity"]),
                new_uidvalidity=_int(obj["new_uidvalidity"]),
            )
        if kind == _MAILBOX_GONE:
            return MailboxGone(
                account_id=_str(obj["account_id"]),
                mailbox=_str(obj["mailbox"]),
                reason=_str(obj["reason"]),
            )
    except KeyError as exc:
        raise CodecError(f"stored {kind} event lacks {exc.args[0]!r}") from None
    raise CodecError(f"unknown stored event type {kind!r}")


# -- accounts and credentials ------------------------------------------------------------------


def account_settings(config: AccountConfig) -> dict[str, Any]:
    """Return the account's non-secret settings (stored in clear), keyed by field name.

    ``account_id`` and ``auth`` are not included: the id is the key, the auth is sealed.

    Raises:
        CodecError: a setting has the wrong type.
    """
    if not isinstance(config.tls, TlsMode):
        raise CodecError(f"tls must be a TlsMode, not {type(config.tls).__name__}")
    return {
        "host": _str(config.host),
        "port": _int(config.port),
        "tls": config.tls.value,
        "ca_file": _opt_str(config.ca_file),
        "verify_tls": _bool(config.verify_tls),
        "allow_plain": _bool(config.allow_plain),
        "provider": _opt_str(config.provider),
    }


def account_from_settings(account_id: str, settings: dict[str, Any], auth: Auth) -> AccountConfig:
    """Rebuild an :class:`AccountConfig` from :func:`account_settings` output and its auth.

    Raises:
        CodecError: a setting is missing or has the wrong type.
    """
    try:
        tls = TlsMode(settings["tls"])
        return AccountConfig(
            account_id=_str(account_id),
            host=_str(settings["host"]),
            port=_int(settings["port"]),
            auth=auth,
            tls=tls,
            ca_file=_opt_str(settings["ca_file"]),
            verify_tls=_bool(settings["verify_tls"]),
            allow_plain=_bool(settings["allow_plain"]),
            provider=_opt_str(settings["provider"]),
        )
    except KeyError as exc:
        raise CodecError(f"stored account settings lack {exc.args[0]!r}") from None
    except ValueError as exc:  # an unknown TlsMode value
        raise CodecError(f"stored account settings are invalid: {exc}") from None


def dump_auth(auth: Auth) -> bytes:
    """Encode credentials (tokens included) as UTF-8 JSON, ready to be sealed.

    Raises:
        CodecError: ``auth`` is not a known credential type or holds a wrongly typed value.
    """
    if isinstance(auth, PasswordAuth):
        obj: dict[str, Any] = {
            "kind": "password",
            "username": _str(auth.username),
            "password": _str(auth.password),
        }
    elif isinstance(auth, OAuth2Auth):
        obj = {
            "kind": "oauth2",
            "username": _str(auth.username),
            "access_token": _opt_str(auth.access_token),
            "refresh_token": _opt_str(auth.refresh_token),
            "token_endpoint": _opt_str(auth.token_endpoint),
            "client_id": _opt_str(auth.client_id),
            "client_secret": _opt_str(auth.client_secret),
            "expires_at": _opt_float(auth.expires_at),
        }
    else:
        raise CodecError(f"unknown credential type {type(auth).__name__}")
    return _dumps(obj).encode("utf-8")


def load_auth(data: bytes) -> Auth:
    """Decode credentials made by :func:`dump_auth` (after opening the seal).

    Raises:
        CodecError: ``data`` is not such JSON.
    """
    obj = _loads_object(data)
    kind = obj.get("kind")
    try:
        if kind == "password":
            return PasswordAuth(username=_str(obj["username"]), password=_str(obj["password"]))
        if kind == "oauth2":
            return OAuth2Auth(
                username=_str(obj["username"]),
                access_token=_opt_str(obj.get("access_token")),
                refresh_token=_opt_str(obj.get("refresh_token")),
                token_endpoint=_opt_str(obj.get("token_endpoint")),
                client_id=_opt_str(obj.get("client_id")),
                client_secret=_opt_str(obj.get("client_secret")),
                expires_at=_opt_float(obj.get("expires_at")),
            )
    except KeyError as exc:
        raise CodecError(f"stored credentials lack {exc.args[0]!r}") from None
    # Say which kind, never any value: this text may be a secret.
    raise CodecError("stored credentials are of an unknown kind")


# -- helpers -----------------------------------------------------------------------------------


def _dumps(obj: dict[str, Any]) -> str:
    try:
        text = storejson.dumps(obj)
        # SQLite and the wire both need UTF-8; a lone surrogate (say, from a surrogateescape
        # decode) would only fail later, far from its cause.
        text.encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise CodecError(f"cannot encode for storage: {exc}") from None
    return text


def _loads_object(text: str | bytes) -> dict[str, Any]:
    try:
        obj = storejson.loads(text)
    except ValueError:
        raise CodecError("stored value is not valid JSON") from None
    if not isinstance(obj, dict):
        raise CodecError("stored value is not a JSON object")
    return obj


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise CodecError(f"expected a string, got {type(value).__name__}")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _int(value: object) -> int:
    # bool is an int subclass; True is no UID.
    if not isinstance(value, int) or isinstance(value, bool):
        raise CodecError(f"expected an integer, got {type(value).__name__}")
    return value


def _opt_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise CodecError(f"expected a boolean, got {type(value).__name__}")
    return value


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CodecError(f"expected a number, got {type(value).__name__}")
    return float(value)
