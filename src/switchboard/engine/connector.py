"""Open and authenticate IMAP connections for one account: admission, TLS, LOGIN or XOAUTH2.

Watchers, the command connection and ``Engine.verify`` all connect through an
:class:`AccountConnector`, so every new connection is paced by admission control, counted, and
authenticated the same way. Opening failures (refused, reset, TLS, timeout, bad greeting) become
:class:`~switchboard.engine.errors.ConnectionFailed` with a message that names the host and the
cause and never a credential; refused credentials the engine's
:class:`~switchboard.engine.errors.AuthenticationFailed`. For XOAUTH2 a refused access token is
refreshed once and retried.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import Callable

from switchboard.engine.admission import AdmissionControl
from switchboard.engine.errors import AuthenticationFailed, ConnectionFailed
from switchboard.engine.oauth2 import OAuth2Credentials
from switchboard.engine.settings import EngineSettings
from switchboard.imap import errors as imap
from switchboard.imap.connection import ImapConnection
from switchboard.imap.errors import (
    ConnectionLost,
    ImapProtocolError,
    ImapTimeout,
    InsecureConnection,
)
from switchboard.imap.tls import TlsMode
from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth
from switchboard.model.accounts import TlsMode as ConfigTlsMode

__all__ = ["AccountConnector", "SslContextFactory", "close_connection"]

SslContextFactory = Callable[[str | None, bool], ssl.SSLContext]
"""``(ca_file, verify) -> context``, e.g. ``imap.tls.default_ssl_context``."""


async def close_connection(conn: ImapConnection, *, logout_timeout_s: float | None) -> None:
    """Close ``conn``: LOGOUT first (bounded by ``logout_timeout_s``) unless it is ``None``.

    A broken or black-holed connection gets no LOGOUT: waiting for its answer only delays
    recovery.
    """
    if logout_timeout_s is not None:
        try:
            async with asyncio.timeout(logout_timeout_s):
                await conn.logout()
        except TimeoutError:
            pass  # the goodbye is a courtesy; close() below is what frees the socket
    await conn.close()


class AccountConnector:
    """Makes authenticated connections for one account.

    Args:
        config: the account (its credentials are read at each connect).
        settings: timeouts.
        admission: paces new connections.
        ssl_context_factory: builds (or looks up) the TLS context.
        credentials: the account's OAuth2 token holder; required for an ``OAuth2Auth`` account.
        counters: where connection counters are added (shared with the account's status).
    """

    def __init__(
        self,
        config: AccountConfig,
        settings: EngineSettings,
        admission: AdmissionControl,
        ssl_context_factory: SslContextFactory,
        *,
        credentials: OAuth2Credentials | None = None,
        counters: collections.Counter[str] | None = None,
    ) -> None:
        if isinstance(config.auth, OAuth2Auth) and credentials is None:
            raise ValueError("an OAuth2 account needs an OAuth2Credentials holder")
        self.config = config
        self.credentials = credentials
        self.counters: collections.Counter[str] = (
            counters if counters is not None else collections.Counter()
        )
        self._settings = settings
        self._admission = admission
        self._ssl_context_factory = ssl_context_factory

    async def open(self) -> ImapConnection:
        """Wait for admission, connect, set up TLS and read the greeting.

        Raises:
            ConnectionFailed: refused, reset, TLS failure, timeout, a non-IMAP greeting, or
                plain text to a remote host that the account does not allow.
        """
        config = self.config
        await self._admission.admit(config.host)
        self.counters["connects"] += 1
        tls = TlsMode[config.tls.name]
        context = None
        if config.tls is not ConfigTlsMode.PLAIN:
            context = self._ssl_context_factory(config.ca_file, config.verify_tls)
        try:
            return await ImapConnection.open(
                config.host,
                config.port,
                tls=tls,
                ssl_context=context,
                allow_plain=config.allow_plain,
                connect_timeout_s=self._settings.connect_timeout_s,
                command_timeout_s=self._settings.command_timeout_s,
            )
        except (ImapTimeout, ConnectionLost, ImapProtocolError, InsecureConnection, OSError) as exc:
            self.counters["connect_failures"] += 1
            raise ConnectionFailed(
                f"cannot reach {config.host}:{config.port}: {type(exc).__name__}: {exc}"
            ) from exc

    async def authenticate(self, conn: ImapConnection) -> None:
        """Log in on ``conn`` with the account's credentials.

        Password accounts use LOGIN, or AUTHENTICATE PLAIN when the server disables LOGIN.
        OAuth2 accounts use XOAUTH2 with a fresh access token; when the server refuses it, the
        token is refreshed once and tried again.

        Raises:
            AuthenticationFailed: the server refused the credentials (for OAuth2 also
                ``OAuth2Rejected``, a subclass: the refresh token was refused or is missing).
            OAuth2Unavailable: the token endpoint could not be used.
            ConnectionLost, ImapTimeout: the connection broke meanwhile.
        """
        auth = self.config.auth
        self.counters["login_attempts"] += 1
        try:
            if isinstance(auth, PasswordAuth):
                if "LOGINDISABLED" in conn.capabilities:
                    await conn.authenticate_plain(auth.username, auth.password)
                else:
                    await conn.login(auth.username, auth.password)
                return
            assert self.credentials is not None
            current = await self.credentials.current()
            assert current.access_token is not None
            try:
                await conn.authenticate_xoauth2(current.username, current.access_token)
            except imap.AuthenticationFailed:
                # Expired early or revoked: refresh once (RFC 6750 §3.1 invalid_token) and retry.
                fresh = await self.credentials.current(rejected_token=current.access_token)
                assert fresh.access_token is not None
                self.counters["login_attempts"] += 1
                await conn.authenticate_xoauth2(fresh.username, fresh.access_token)
        except imap.AuthenticationFailed as exc:
            self.counters["auth_failures"] += 1
            if isinstance(exc, AuthenticationFailed):
                raise
            raise AuthenticationFailed.from_imap(exc) from exc

    async def connect(self) -> ImapConnection:
        """:meth:`open` then :meth:`authenticate`; the connection is closed on failure.

        Raises:
            ConnectionFailed: see :meth:`open`; also a connection lost while authenticating.
            AuthenticationFailed: see :meth:`authenticate`.
            OAuth2Unavailable: see :meth:`authenticate`.
        """
        conn = await self.open()
        try:
            await self.authenticate(conn)
        except (ConnectionLost, ImapTimeout, ImapProtocolError) as exc:
            await conn.close()
            raise ConnectionFailed(
                f"{self.config.host}:{self.config.port} dropped the login: {type(exc).__name__}"
            ) from exc
        except BaseException:
            await conn.close()
            raise
        return conn
