"""Credentials: the checks of ``connect`` (a real login, the same secret?) and rotated tokens.

``connect`` answers only after a real login succeeded (docs/protocol.md, "Commands"), and joining
an account that already exists needs the credentials it has, compared in constant time, or new
ones that log in afresh. A login that fails on TLS gets advice on what to try (``server.hints``);
the log line says why it failed with the account's secrets scrubbed.

OAuth2 tokens the engine refreshes on its own are kept by :class:`RotatedCredentials`: the new
config replaces the account's, and a pinned account's is stored (so a restart, or another node,
uses the new refresh token).
"""

from __future__ import annotations

import hmac
import logging
from typing import Protocol

from switchboard.engine.errors import ConnectionFailed, EngineError
from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth
from switchboard.model.store import Store
from switchboard.server.accountbook import AccountBook
from switchboard.server.api import TLS_NAMES, scrub, secrets_of
from switchboard.server.hints import ADVICE_MARK, advice, diagnose
from switchboard.server.placement import AccountPlacement

__all__ = ["RotatedCredentials", "Verifier", "same_credentials", "verify_login"]

logger = logging.getLogger("switchboard.server")


class Verifier(Protocol):
    """What logs an account in once (the engine's ``verify``)."""

    async def verify(self, config: AccountConfig) -> AccountConfig:
        """Log in with ``config``; return it, with OAuth2 tokens refreshed if that was needed."""
        ...


async def verify_login(verifier: Verifier, config: AccountConfig) -> AccountConfig:
    """Log in once with ``config``; a failure is logged with its reason, TLS advice added.

    Raises:
        switchboard.engine.errors.ConnectionFailed: the server cannot be reached; its text
            ends with what to try when the cause is a usual TLS mistake.
        switchboard.engine.errors.AuthenticationFailed: the server refused the credentials.
        EngineError: any other failure of the login.
    """
    try:
        return await verifier.verify(config)
    except EngineError as exc:
        logger.warning(
            "account %s: cannot connect to %s:%d: %s", config.account_id, config.host,
            config.port, scrub(str(exc), secrets_of(config)),
        )  # fmt: skip
        tls = TLS_NAMES[config.tls]
        problem = diagnose(str(exc), tls) if isinstance(exc, ConnectionFailed) else None
        if problem is None:
            raise
        hint = advice(problem, host=config.host, port=config.port, tls=tls, cli=False)
        raise ConnectionFailed(f"{exc}.{ADVICE_MARK}{hint}") from exc


def same_credentials(a: PasswordAuth | OAuth2Auth, b: PasswordAuth | OAuth2Auth) -> bool:
    """Whether ``a`` and ``b`` carry the same secret (constant-time comparison).

    Passwords must match with the username; OAuth2 credentials match on either token.
    """
    if isinstance(a, PasswordAuth) and isinstance(b, PasswordAuth):
        return a.username == b.username and hmac.compare_digest(
            a.password.encode(), b.password.encode()
        )
    if isinstance(a, OAuth2Auth) and isinstance(b, OAuth2Auth):
        for mine, theirs in ((a.access_token, b.access_token), (a.refresh_token, b.refresh_token)):
            if mine and theirs and hmac.compare_digest(mine.encode(), theirs.encode()):
                return True
    return False


class RotatedCredentials:
    """Keeps the OAuth2 tokens the engine obtained (the engine's ``on_credentials_changed``).

    Built before the engine (which calls it) and the registry (which shares its book).

    Args:
        book: the accounts' state.
        store: where pinned accounts' credentials are kept.
        placement: told when a pinned account's credentials changed.
    """

    def __init__(self, book: AccountBook, store: Store, placement: AccountPlacement) -> None:
        self._book = book
        self._store = store
        self._placement = placement

    async def __call__(self, config: AccountConfig) -> None:
        """Record ``config``'s new tokens; store them when the account is pinned.

        Raises:
            StoreError: the new tokens cannot be stored.
        """
        book, account_id = self._book, config.account_id
        if account_id not in book.configs:
            return
        book.configs[account_id] = config
        if account_id in book.pinned:
            await self._store.save_account(config, pinned=True)
            await self._placement.changed(account_id)
