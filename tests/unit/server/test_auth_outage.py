"""Authentication while the token store cannot be read (a database outage, issue 16).

The store is a real MemoryStore whose token reads fail on demand; the real outage, with
PostgreSQL stopped under three ``serve`` processes, is tests/integration/cluster/test_db_outage.py.
"""

from __future__ import annotations

import pytest
from websockets.datastructures import Headers
from websockets.http11 import Request

from switchboard.model.store import StoredToken, TokenScope
from switchboard.server.auth import ANONYMOUS, Authenticator
from switchboard.server.tokens import token_digest
from switchboard.store import MemoryStore, StoreError


class FlakyStore(MemoryStore):
    """A MemoryStore whose token reads fail while ``down`` is set."""

    down = False

    async def find_token(self, digest: bytes) -> StoredToken | None:
        if self.down:
            raise StoreError("database error: connection refused")
        return await super().find_token(digest)

    async def has_active_tokens(self) -> bool:
        if self.down:
            raise StoreError("database error: connection refused")
        return await super().has_active_tokens()


def request(token: str | None = None) -> Request:
    headers = Headers()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return Request("/workers", headers)


async def add_token(store: MemoryStore, name: str, secret: str) -> None:
    record = StoredToken(f"id-{name}", name, TokenScope.WORKER, None, 1.0)
    await store.save_token(record, token_digest(secret))


async def test_no_token_configured_needs_no_database() -> None:
    store = FlakyStore()
    auth = Authenticator((), store)
    assert await auth.authenticate(request()) == ANONYMOUS
    store.down = True
    assert await auth.authenticate(request()) == ANONYMOUS


async def test_a_token_seen_before_keeps_working_an_unknown_one_gets_503() -> None:
    store = FlakyStore()
    await add_token(store, "worker-a", "secret-a")
    await add_token(store, "worker-b", "secret-b")
    auth = Authenticator((), store)
    principal = await auth.authenticate(request("secret-a"))
    assert principal is not None and principal.name == "worker-a"
    assert await auth.authenticate(request("wrong")) is None
    store.down = True
    principal = await auth.authenticate(request("secret-a"))
    assert principal is not None and principal.name == "worker-a"
    assert await auth.authenticate(request()) is None  # tokens exist: no anonymous access
    with pytest.raises(StoreError):
        await auth.authenticate(request("secret-b"))  # never seen: cannot be checked now
    refused = await auth.check(None, request("secret-b"))  # type: ignore[arg-type]
    assert refused is not None and refused.status_code == 503
    assert b"cannot be read" in refused.body


async def test_a_token_revoked_before_the_outage_stays_refused() -> None:
    store = FlakyStore()
    await add_token(store, "worker-a", "secret-a")
    auth = Authenticator((), store)
    assert await auth.authenticate(request("secret-a")) is not None
    await store.revoke_token("worker-a")
    assert await auth.authenticate(request("secret-a")) is None
    store.down = True
    with pytest.raises(StoreError):
        await auth.authenticate(request("secret-a"))
