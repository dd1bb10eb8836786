"""RevocationWatch's policy: who is closed, who is left alone, and what a failing store does."""

from __future__ import annotations

import asyncio
import logging

import pytest

from switchboard.model.store import StoredToken, TokenScope
from switchboard.server.auth import ANONYMOUS, Principal
from switchboard.server.revocation import REVOKED_CLOSE_CODE, REVOKED_REASON, RevocationWatch
from switchboard.store import MemoryStore, SecretBox
from switchboard.store.errors import StoreError


class FakeSession:
    """What the watch sees of a session: its principal, and how it was closed."""

    def __init__(self, principal: Principal | None) -> None:
        self.principal = principal
        self.closed: tuple[int, str] | None = None
        self.closing = asyncio.Event()

    @property
    def is_open(self) -> bool:
        return self.closed is None

    def close(self, code: int, reason: str) -> None:
        assert self.closed is None, "closed twice"
        self.closed = (code, reason)
        self.closing.set()


def stored(token_id: str) -> Principal:
    return Principal(token_id, TokenScope.WORKER, token_id=token_id)


async def memory_store(*token_ids: str) -> MemoryStore:
    store = MemoryStore(SecretBox.generate())
    for i, token_id in enumerate(token_ids):
        record = StoredToken(token_id, token_id, TokenScope.WORKER, None, 1.0)
        await store.save_token(record, bytes([i + 1]) * 32)
    return store


async def test_only_the_sessions_of_a_revoked_token_are_closed() -> None:
    store = await memory_store("t1", "t2")
    revoked_a, revoked_b = FakeSession(stored("t1")), FakeSession(stored("t1"))
    other = FakeSession(stored("t2"))
    static = FakeSession(Principal("static", TokenScope.WORKER))
    anonymous, unchecked = FakeSession(ANONYMOUS), FakeSession(None)
    sessions = [revoked_a, revoked_b, other, static, anonymous, unchecked]
    watch = RevocationWatch(store, lambda: sessions)
    assert await watch.check_once() == 0
    await store.revoke_token("t1")
    assert await watch.check_once() == 2
    assert revoked_a.closed == revoked_b.closed == (REVOKED_CLOSE_CODE, REVOKED_REASON)
    assert [s.closed for s in (other, static, anonymous, unchecked)] == [None] * 4
    # Closed sessions are not closed again while they finish their closing handshake.
    assert await watch.check_once() == 0


class FlakyTokens:
    """Active token ids that fail while ``failing`` is set, as a store in an outage does."""

    def __init__(self, active: set[str]) -> None:
        self.active = active
        self.failing = False
        self.calls = 0

    async def active_token_ids(self) -> frozenset[str]:
        self.calls += 1
        if self.failing:
            raise StoreError("database error: connection refused")
        return frozenset(self.active)


async def test_a_failing_store_closes_nobody_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tokens = FlakyTokens({"t2"})  # t1 is revoked, but the store cannot say so yet
    session = FakeSession(stored("t1"))
    watch = RevocationWatch(tokens, lambda: [session])
    tokens.failing = True
    with caplog.at_level(logging.INFO, logger="switchboard.server"):
        for _ in range(3):
            assert await watch.check_once() == 0
        assert session.closed is None
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, caplog.text
        assert "cannot check for revoked tokens" in warnings[0].getMessage()
        # The store answers again: the revocation takes effect, and the recovery is said.
        tokens.failing = False
        assert await watch.check_once() == 1
    assert session.closed == (REVOKED_CLOSE_CODE, REVOKED_REASON)
    assert "checking for revoked tokens again" in caplog.text
    assert tokens.calls == 4


async def test_a_closed_store_closes_nobody() -> None:
    store = await memory_store("t1")
    await store.close()  # every call now raises StoreClosed
    session = FakeSession(stored("t1"))
    assert await RevocationWatch(store, lambda: [session]).check_once() == 0
    assert session.closed is None


async def test_a_query_that_hangs_is_given_up_and_closes_nobody() -> None:
    class Hanging:
        async def active_token_ids(self) -> frozenset[str]:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    session = FakeSession(stored("t1"))
    watch = RevocationWatch(Hanging(), lambda: [session], timeout_s=0.05)
    assert await watch.check_once() == 0
    assert session.closed is None


async def test_no_query_when_no_session_uses_a_stored_token() -> None:
    tokens = FlakyTokens(set())
    sessions = [FakeSession(ANONYMOUS), FakeSession(Principal("static", TokenScope.WORKER))]
    assert await RevocationWatch(tokens, lambda: sessions).check_once() == 0
    assert tokens.calls == 0


async def test_the_periodic_check_runs_until_stopped() -> None:
    store = await memory_store("t1")
    session = FakeSession(stored("t1"))
    watch = RevocationWatch(store, lambda: [session], interval_s=0.01)
    watch.start()
    try:
        await store.revoke_token("t1")
        async with asyncio.timeout(5):
            await session.closing.wait()
    finally:
        await watch.stop()
    await watch.stop()  # idempotent
    assert session.closed == (REVOKED_CLOSE_CODE, REVOKED_REASON)
