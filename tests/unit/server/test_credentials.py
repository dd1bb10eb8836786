"""Tests for server.credentials: a login's failure explained, and the constant-time comparison."""

from __future__ import annotations

import logging

import pytest

from switchboard.engine.errors import ConnectionFailed
from switchboard.imap.errors import AuthenticationFailed
from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth, TlsMode
from switchboard.server.credentials import same_credentials, verify_login
from switchboard.server.hints import ADVICE_MARK
from tests.support.fake_engine import PASSWORD, FakeEngine


def config(password: str = PASSWORD, host: str = "imap.example.org") -> AccountConfig:
    return AccountConfig("me", host, 993, PasswordAuth("me", password), TlsMode.IMPLICIT)


async def test_a_login_that_works_returns_the_config() -> None:
    assert await verify_login(FakeEngine(), config()) == config()


async def test_a_tls_failure_gets_advice_and_a_log_line_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = FakeEngine(unreachable={"imap.example.org"})
    with caplog.at_level(logging.WARNING), pytest.raises(ConnectionFailed) as failed:
        await verify_login(engine, config())
    assert ADVICE_MARK in str(failed.value)
    assert "--imap-ca-file" in str(failed.value)
    assert "cannot connect to imap.example.org:993" in caplog.text
    assert PASSWORD not in caplog.text


async def test_refused_credentials_are_raised_as_they_are(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(AuthenticationFailed):
        await verify_login(FakeEngine(), config(password="wrong password"))
    assert "account me: cannot connect" in caplog.text
    assert "wrong password" not in caplog.text


def test_same_credentials() -> None:
    a = PasswordAuth("me", "pw")
    assert same_credentials(a, PasswordAuth("me", "pw"))
    assert not same_credentials(a, PasswordAuth("me", "pw2"))
    assert not same_credentials(a, PasswordAuth("you", "pw"))
    token = OAuth2Auth("me", access_token="at", refresh_token="rt")
    assert same_credentials(token, OAuth2Auth("me", access_token="at"))
    assert same_credentials(token, OAuth2Auth("me", refresh_token="rt"))
    assert not same_credentials(token, OAuth2Auth("me", access_token="other"))
    assert not same_credentials(a, OAuth2Auth("me", access_token="pw"))
