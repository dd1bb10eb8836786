"""Auth tokens: how they are made, hashed and recorded (issue 6; docs/reliability.md "Tokens").

A token is ``sbt_`` plus 32 random bytes in URL-safe base64 (no padding): 256 bits, so a plain
SHA-256 digest is enough to store it — there is nothing to brute-force, unlike a password. The
store keeps only the digest; :func:`create_token` returns the token once and it is never shown
again.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable

from switchboard.model.store import Store, StoredToken, TokenScope

__all__ = ["TOKEN_PREFIX", "create_token", "new_token", "token_digest"]

TOKEN_PREFIX = "sbt_"  # noqa: S105 (a prefix, not a secret)
_TOKEN_BYTES = 32


def new_token() -> str:
    """A fresh random token: ``sbt_`` + 43 URL-safe characters."""
    raw = base64.urlsafe_b64encode(secrets.token_bytes(_TOKEN_BYTES)).rstrip(b"=")
    return TOKEN_PREFIX + raw.decode("ascii")


def token_digest(token: str) -> bytes:
    """The SHA-256 digest the store keeps for ``token``."""
    return hashlib.sha256(token.encode("utf-8")).digest()


async def create_token(
    store: Store,
    scope: TokenScope,
    *,
    name: str | None = None,
    account: str | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[str, StoredToken]:
    """Make a token, record its digest, and return ``(token, record)``.

    ``name`` defaults to the token's id (``tok_`` + 8 hex digits); ``account`` binds a client
    token to one account.

    Raises:
        ValueError: ``account`` given for a worker token, or ``name`` already used.
        StoreClosed: the store was closed.
    """
    if account is not None and scope is not TokenScope.CLIENT:
        raise ValueError("only client tokens can be bound to an account")
    token_id = "tok_" + secrets.token_hex(4)
    record = StoredToken(token_id, name or token_id, scope, account, clock())
    token = new_token()
    await store.save_token(record, token_digest(token))
    return token, record
