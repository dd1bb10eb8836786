"""The Store contract for worker-group positions and auth tokens (issue 6), on every backend."""

from __future__ import annotations

import pytest

from switchboard.model.events import Checkpoint, NewMessage
from switchboard.model.store import GroupPosition, StoredToken, TokenScope
from switchboard.store import Store

from .conftest import Backend


async def add_events(store: Store, count: int, start_uid: int = 1) -> list[int]:
    events = [NewMessage("a", "INBOX", 7, uid) for uid in range(start_uid, start_uid + count)]
    stored = await store.record("a", "INBOX", Checkpoint(7, start_uid + count - 1), events)
    return [s.event_id for s in stored]


async def test_new_group_starts_at_the_end_of_the_log(store: Store) -> None:
    ids = await add_events(store, 3)
    assert await store.group_position("g") == GroupPosition(ids[-1], frozenset())
    await add_events(store, 2, start_uid=4)
    # The start was recorded at first sight: later events are the group's to deliver.
    assert (await store.group_position("g")).position == ids[-1]


async def test_acks_advance_over_contiguous_ids_only(store: Store) -> None:
    await store.group_position("g")  # starts at 0 on an empty log
    ids = await add_events(store, 4)
    after = await store.group_ack("g", [ids[1], ids[3]])
    assert after == GroupPosition(0, frozenset({ids[1], ids[3]}))
    after = await store.group_ack("g", [ids[0]])
    assert after == GroupPosition(ids[1], frozenset({ids[3]}))
    after = await store.group_ack("g", [ids[2], ids[0]])  # a stale ack is harmless
    assert after == GroupPosition(ids[3], frozenset())


async def test_settled_through_skips_ids_outside_the_scope(store: Store) -> None:
    await store.group_position("g")
    ids = await add_events(store, 5)
    after = await store.group_ack("g", [ids[4]], settled_through=ids[2])
    assert after == GroupPosition(ids[2], frozenset({ids[4]}))


async def test_group_position_survives_reopen(backend: Backend) -> None:
    store = await backend.open()
    await store.group_position("g")
    ids = await add_events(store, 3)
    await store.group_ack("g", [ids[0], ids[2]])
    await store.close()
    store = await backend.open()
    try:
        assert await store.group_position("g") == GroupPosition(ids[0], frozenset({ids[2]}))
        assert await store.list_groups() == {"g": GroupPosition(ids[0], frozenset({ids[2]}))}
        await store.delete_group("g")
        assert await store.list_groups() == {}
    finally:
        await store.close()


async def test_prune_keeps_what_a_group_has_not_settled(store: Store) -> None:
    await store.group_position("g")
    ids = await add_events(store, 5)
    await store.group_ack("g", ids[:2])
    removed = await store.prune_events(older_than=None, keep_last=1)
    assert removed == 2
    assert [e.event_id for e in await store.events_after(0, limit=10)] == ids[2:]
    await store.delete_group("g")
    assert await store.prune_events(older_than=None, keep_last=1) == 2


def token(token_id: str, name: str, **kw: object) -> StoredToken:
    values: dict[str, object] = {"scope": TokenScope.WORKER, "account": None, "created_at": 1.0}
    values.update(kw)
    return StoredToken(token_id, name, **values)  # type: ignore[arg-type]


async def test_tokens_are_found_by_digest_listed_and_revoked(
    store: Store, backend: Backend
) -> None:
    assert not await store.has_active_tokens()
    a = token("t1", "apns")
    b = token("t2", "web", scope=TokenScope.CLIENT, account="bob@example.org", created_at=2.0)
    await store.save_token(a, b"\x01" * 32)
    await store.save_token(b, b"\x02" * 32)
    assert await store.has_active_tokens()
    assert await store.find_token(b"\x02" * 32) == b
    assert await store.find_token(b"\x03" * 32) is None
    assert await store.list_tokens() == [a, b]
    revoked = await store.revoke_token("web")
    assert revoked is not None and revoked.revoked_at == backend.clock.now
    backend.clock.now += 10
    again = await store.revoke_token("t2")
    assert again is not None and again.revoked_at == revoked.revoked_at
    assert await store.revoke_token("nope") is None
    found = await store.find_token(b"\x02" * 32)
    assert found is not None and found.revoked_at is not None
    await store.revoke_token("t1")
    assert not await store.has_active_tokens()


async def test_active_token_ids_drop_a_revoked_token_at_once(store: Store) -> None:
    assert await store.active_token_ids() == frozenset()
    await store.save_token(token("t1", "apns"), b"\x01" * 32)
    await store.save_token(token("t2", "web", scope=TokenScope.CLIENT), b"\x02" * 32)
    assert await store.active_token_ids() == {"t1", "t2"}
    await store.revoke_token("web")
    assert await store.active_token_ids() == {"t1"}
    await store.revoke_token("t1")
    assert await store.active_token_ids() == frozenset()


async def test_a_revocation_by_another_store_handle_is_seen(backend: Backend) -> None:
    # Another process (SQLite: `switchboard tokens revoke` on the same file) or another node
    # (PostgreSQL) revokes; the server's open handle must see it on its next query.
    server_side = await backend.open()
    other = await backend.open()
    try:
        await server_side.save_token(token("t1", "apns"), b"\x01" * 32)
        assert await server_side.active_token_ids() == {"t1"}
        await other.revoke_token("apns")
        assert await server_side.active_token_ids() == frozenset()
    finally:
        await other.close()
        await server_side.close()


async def test_token_names_and_digests_are_unique(store: Store) -> None:
    await store.save_token(token("t1", "apns"), b"\x01" * 32)
    with pytest.raises(ValueError, match="exists"):
        await store.save_token(token("t2", "apns"), b"\x02" * 32)
    with pytest.raises(ValueError, match="exists"):
        await store.save_token(token("t3", "other"), b"\x01" * 32)
