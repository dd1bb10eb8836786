"""Tests for server.accountconfig: a ``connect`` request plus the server's policy -> config."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.model.accounts import OAuth2Auth, PasswordAuth, TlsMode
from switchboard.protocol.errors import InvalidArguments
from switchboard.protocol.methods import ConnectRequest, validate_connect
from switchboard.server.accountconfig import ImapPolicy, account_config
from switchboard.server.config import OAuthProvider, ServerSettings

GOOGLE = OAuthProvider("google", "https://oauth2.example/token", "cid", "csecret")


def request(auth: dict[str, object], **flags: object) -> ConnectRequest:
    return validate_connect({"host": "imap.example.org", "port": 993, "auth": auth, **flags})


PLAIN = {"type": "plain", "username": "me@example.org", "password": "pw"}


@pytest.mark.parametrize(("flags", "tls"), [
    ({}, TlsMode.IMPLICIT),
    ({"ssl": False}, TlsMode.PLAIN),
    ({"ssl": False, "starttls": True}, TlsMode.STARTTLS),
])  # fmt: skip
def test_the_tls_flags_choose_the_mode(flags: dict[str, object], tls: TlsMode) -> None:
    config = account_config(request(PLAIN, **flags), ImapPolicy())
    assert config.tls is tls
    assert (config.account_id, config.host) == ("me@example.org", "imap.example.org")
    assert config.port == 993
    assert config.auth == PasswordAuth("me@example.org", "pw")


def test_the_servers_policy_goes_with_every_account(tmp_path: Path) -> None:
    settings = ServerSettings(
        data_dir=tmp_path, imap_ca_file=tmp_path / "ca.pem", imap_verify_tls=False,
        imap_allow_plain=True,
    )  # fmt: skip
    config = account_config(request(PLAIN), ImapPolicy.of(settings))
    assert config.ca_file == str(tmp_path / "ca.pem")
    assert (config.verify_tls, config.allow_plain) == (False, True)


def test_an_access_token_is_used_as_it_is() -> None:
    auth = {"type": "xoauth2", "username": "me@example.org",
            "token": {"type": "access", "token": "ya29"}}  # fmt: skip
    config = account_config(request(auth), ImapPolicy())
    assert config.auth == OAuth2Auth("me@example.org", access_token="ya29")


def test_a_refresh_token_goes_to_the_provider_its_domain_implies() -> None:
    auth = {"type": "xoauth2", "username": "Me@GMail.com",
            "token": {"type": "refresh", "token": "1//r"}}  # fmt: skip
    config = account_config(request(auth), ImapPolicy(oauth_providers={"google": GOOGLE}))
    assert config.auth == OAuth2Auth(
        "Me@GMail.com", refresh_token="1//r", token_endpoint=GOOGLE.token_url,
        client_id="cid", client_secret="csecret",
    )  # fmt: skip


@pytest.mark.parametrize(("token", "message"), [
    ({"type": "refresh", "token": "r"}, "a refresh token needs a provider the server knows"),
    ({"type": "refresh", "token": "r", "provider": "google"}, "unknown OAuth2 provider 'google'"),
])  # fmt: skip
def test_a_refresh_token_without_a_known_provider_is_refused(
    token: dict[str, object], message: str
) -> None:
    auth = {"type": "xoauth2", "username": "me@example.org", "token": token}
    with pytest.raises(InvalidArguments, match=message):
        account_config(request(auth), ImapPolicy())
