"""An account's settings and credentials: where its IMAP server is and how to log in."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["AccountConfig", "Auth", "OAuth2Auth", "PasswordAuth", "TlsMode"]


class TlsMode(enum.Enum):
    """How the IMAP connection is secured."""

    IMPLICIT = "ssl"  # IMAPS, TLS from the first byte (the original's only mode; our default)
    STARTTLS = "starttls"  # plain connect, then STARTTLS before any credential is sent
    PLAIN = "plain"  # no TLS: refused unless the host is loopback or the account allows it


@dataclass(frozen=True, slots=True)
class PasswordAuth:
    """LOGIN (or AUTHENTICATE PLAIN) with a password."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class OAuth2Auth:
    """AUTHENTICATE XOAUTH2 with an access token, refreshed from a refresh token when given.

    ``expires_at`` is a Unix time; ``None`` means unknown (refresh only after a failure).
    """

    username: str
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    token_endpoint: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """Everything needed to reach one mail account.

    ``account_id`` is the name the wire protocol uses for the account (the login name given to
    ``connect``, as in the original). ``provider`` names a provider profile (IDLE refresh
    interval and the like); ``None`` picks the generic profile.
    """

    account_id: str
    host: str
    port: int
    auth: PasswordAuth | OAuth2Auth
    tls: TlsMode = TlsMode.IMPLICIT
    ca_file: str | None = None
    verify_tls: bool = True
    allow_plain: bool = False
    provider: str | None = None

    @property
    def username(self) -> str:
        """The login name."""
        return self.auth.username


Auth = PasswordAuth | OAuth2Auth
"""Either way of logging in."""
