"""Tests for server.jmap.callers: Basic credentials as clients encode them, and who reaches what."""

from __future__ import annotations

import base64

from switchboard.server.jmap.callers import JmapCaller, basic_credentials


def header(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_basic_is_utf8_then_latin1() -> None:
    assert basic_credentials(header("jörg@example.com:pässword".encode())) == (
        "jörg@example.com", "pässword",
    )
    # Python's requests (jmapc) encodes Latin-1.
    assert basic_credentials(header("jörg:pässword".encode("latin-1"))) == ("jörg", "pässword")
    # Only the first colon separates: a password may hold colons.
    assert basic_credentials(header(b"me:a:b:c")) == ("me", "a:b:c")
    assert basic_credentials("bAsIc " + base64.b64encode(b"me:").decode()) == ("me", "")


def test_malformed_basic_values_are_none() -> None:
    for value in ("Basic", "Basic !!!", header(b"no colon"), header(b":password"),
                  "Bearer abc", "Basic " + "a" * 3):  # fmt: skip
        assert basic_credentials(value) is None, value


def test_who_reaches_which_account() -> None:
    accounts = ["a@x", "b@x"]
    worker = JmapCaller("w", every_account=True)
    client = JmapCaller("c", account="a@x")
    gone = JmapCaller("c", account="z@x")
    loose = JmapCaller("l")
    exists = accounts.__contains__
    assert worker.account_ids(lambda: accounts, exists) == accounts
    assert client.account_ids(lambda: accounts, exists) == ["a@x"]
    assert gone.account_ids(lambda: accounts, exists) == []
    assert loose.account_ids(lambda: accounts, exists) == []
    assert worker.reaches("b@x") and client.reaches("a@x") and not client.reaches("b@x")
    assert not loose.reaches("a@x")
