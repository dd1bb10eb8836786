"""The store codec: round trips (hypothesis) and refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth, TlsMode
from switchboard.model.events import (
    EngineEvent,
    MailboxGone,
    MessageSummary,
    NewMessage,
    UidValidityChanged,
)
from switchboard.store import CodecError
from switchboard.store.codec import (
    Auth,
    account_from_settings,
    account_settings,
    dump_auth,
    dump_event,
    load_auth,
    load_event,
)

text = st.text(max_size=30)
opt_text = st.none() | text
uint = st.integers(min_value=0, max_value=2**63 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False)

summaries = st.builds(MessageSummary, opt_text, opt_text, opt_text, st.none() | uint)
events: st.SearchStrategy[EngineEvent] = st.one_of(
    st.builds(NewMessage, text, text, uint, uint, st.none() | summaries),
    st.builds(UidValidityChanged, text, text, uint, uint),
    st.builds(MailboxGone, text, text, text),
)
auths: st.SearchStrategy[Auth] = st.one_of(
    st.builds(PasswordAuth, text, text),
    st.builds(
        OAuth2Auth, text, opt_text, opt_text, opt_text, opt_text, opt_text, st.none() | finite
    ),
)
accounts = st.builds(
    AccountConfig,
    text,
    text,
    st.integers(1, 65535),
    auths,
    st.sampled_from(TlsMode),
    opt_text,
    st.booleans(),
    st.booleans(),
    opt_text,
)


@given(events)
def test_event_round_trip(event: EngineEvent) -> None:
    assert load_event(dump_event(event)) == event


@given(accounts)
def test_account_round_trip(config: AccountConfig) -> None:
    auth = load_auth(dump_auth(config.auth))
    assert account_from_settings(config.account_id, account_settings(config), auth) == config


def test_event_json_shape() -> None:
    assert dump_event(NewMessage("a", "INBOX", 7, 42)) == (
        '{"type":"newMessage","account_id":"a","mailbox":"INBOX","uidvalidity":7,"uid":42}'
    )


@pytest.mark.parametrize(
    "event",
    [
        NewMessage("a", "\udc80", 7, 1),
        NewMessage("a", "INBOX", True, 1),
        NewMessage("a", "INBOX", 7, 1, MessageSummary(size="big")),  # type: ignore[arg-type]
        NewMessage("a", "INBOX", 7, 1, "summary"),  # type: ignore[arg-type]
        MailboxGone("a", "INBOX", None),  # type: ignore[arg-type]
        "not an event",
    ],
)
def test_unencodable_events(event: EngineEvent) -> None:
    with pytest.raises(CodecError):
        dump_event(event)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"type": "nope"}',
        '{"type": "newMessage", "account_id": "a"}',
        '{"type": "newMessage", "account_id": "a", "mailbox": "m", "uidvalidity": 1, "uid": 1.5}',
        '{"type": "newMessage", "account_id": "a", "mailbox": "m", "uidvalidity": 1, "uid": 1,'
        ' "summary": [1]}',
    ],
)
def test_undecodable_events(text: str) -> None:
    with pytest.raises(CodecError):
        load_event(text)


def test_unknown_keys_are_ignored() -> None:
    # Forward compatibility: a newer writer may add keys an older reader does not know.
    text = '{"type": "mailboxGone", "account_id": "a", "mailbox": "m", "reason": "x", "new": 1}'
    assert load_event(text) == MailboxGone("a", "m", "x")


def test_bad_credentials_are_refused_without_echoing_secrets() -> None:
    with pytest.raises(CodecError):
        dump_auth("password")  # type: ignore[arg-type]
    with pytest.raises(CodecError):
        dump_auth(OAuth2Auth("u", expires_at="soon"))  # type: ignore[arg-type]
    with pytest.raises(CodecError) as info:
        load_auth(b'{"kind": "magic", "password": "s3cret"}')
    assert "s3cret" not in str(info.value)
    with pytest.raises(CodecError):
        load_auth(b'{"kind": "password", "username": "u"}')


def test_bad_settings() -> None:
    config = AccountConfig("a", "h", 993, PasswordAuth("u", "p"))
    settings = account_settings(config)
    with pytest.raises(CodecError):
        account_from_settings("a", {**settings, "tls": "carrier-pigeon"}, config.auth)
    with pytest.raises(CodecError):
        account_from_settings("a", {k: v for k, v in settings.items() if k != "port"}, config.auth)
    with pytest.raises(CodecError):
        account_settings(AccountConfig("a", "h", 993, config.auth, tls="ssl"))  # type: ignore[arg-type]
