"""Turn a ``connect`` request into the engine's :class:`AccountConfig` (the wire → engine step).

The request says where and who (host, port, TLS flags, credentials); the server's settings say
how IMAP is reached from here (an extra CA, certificate checks, plain text beyond loopback) and
which OAuth2 token endpoints it knows. A refresh token needs a provider: the one the request
names, else the one its username's domain implies (``gmail.com`` → ``google``), and it must be one
the settings configure (docs/protocol.md, "Commands"). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth, TlsMode
from switchboard.protocol.errors import InvalidArguments
from switchboard.protocol.methods import ConnectRequest, PlainAuth, TokenType, XOAuth2Auth
from switchboard.server.config import OAuthProvider, ServerSettings

__all__ = ["PROVIDER_BY_DOMAIN", "ImapPolicy", "account_config"]

PROVIDER_BY_DOMAIN: Final[Mapping[str, str]] = MappingProxyType(
    {"gmail.com": "google", "googlemail.com": "google"}
)
"""Usernames whose refresh tokens go to a provider when the request names none."""


@dataclass(frozen=True, slots=True)
class ImapPolicy:
    """How this server reaches IMAP servers, from its settings.

    Attributes:
        ca_file: an extra CA certificate to trust (``imap_ca_file``).
        verify_tls: whether certificates are checked (``imap_verify_tls``).
        allow_plain: whether plain-text IMAP may go beyond loopback (``imap_allow_plain``).
        oauth_providers: the token endpoints for refresh tokens, by provider name.
    """

    ca_file: str | None = None
    verify_tls: bool = True
    allow_plain: bool = False
    oauth_providers: Mapping[str, OAuthProvider] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def of(cls, settings: ServerSettings) -> ImapPolicy:
        """The policy ``settings`` call for."""
        return cls(
            ca_file=str(settings.imap_ca_file) if settings.imap_ca_file else None,
            verify_tls=settings.imap_verify_tls,
            allow_plain=settings.imap_allow_plain,
            oauth_providers=MappingProxyType(dict(settings.oauth_providers)),
        )


def account_config(request: ConnectRequest, policy: ImapPolicy) -> AccountConfig:
    """The account ``request`` names, as the engine takes it; its id is the login name.

    Raises:
        InvalidArguments: a refresh token for a provider the server has no endpoint for.
    """
    auth: PasswordAuth | OAuth2Auth
    if isinstance(request.auth, PlainAuth):
        auth = PasswordAuth(request.auth.username, request.auth.password)
    else:
        auth = _oauth(request.auth, policy)
    if request.starttls:
        tls = TlsMode.STARTTLS
    elif request.ssl is False:
        tls = TlsMode.PLAIN
    else:
        tls = TlsMode.IMPLICIT
    return AccountConfig(
        account_id=auth.username,
        host=request.host,
        port=request.port,
        auth=auth,
        tls=tls,
        ca_file=policy.ca_file,
        verify_tls=policy.verify_tls,
        allow_plain=policy.allow_plain,
    )


def _oauth(auth: XOAuth2Auth, policy: ImapPolicy) -> OAuth2Auth:
    if auth.token_type is TokenType.ACCESS:
        return OAuth2Auth(auth.username, access_token=auth.token)
    provider = _provider_for(auth, policy)
    return OAuth2Auth(
        auth.username,
        refresh_token=auth.token,
        token_endpoint=provider.token_url,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
    )


def _provider_for(auth: XOAuth2Auth, policy: ImapPolicy) -> OAuthProvider:
    name = auth.provider
    if name is None:
        domain = auth.username.rpartition("@")[2].lower()
        name = PROVIDER_BY_DOMAIN.get(domain)
    provider = policy.oauth_providers.get(name) if name is not None else None
    if provider is None:
        raise InvalidArguments(
            f"unknown OAuth2 provider {name!r}: the server has no token endpoint for it"
            if name
            else "a refresh token needs a provider the server knows"
        )
    return provider
