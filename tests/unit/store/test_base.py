"""The Store contract, run on every backend (see conftest.Backend)."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth, TlsMode
from switchboard.model.events import (
    Checkpoint,
    EngineEvent,
    MailboxGone,
    MessageSummary,
    NewMessage,
    UidValidityChanged,
)
from switchboard.model.store import EventTotals
from switchboard.store import (
    CheckpointMovedBackwards,
    CodecError,
    CorruptCredentials,
    EventIdOutOfRange,
    SecretBox,
    Store,
    StoreClosed,
    StoreError,
    UnknownAccount,
)

from .conftest import Backend

PASSWORD = "hunter2-Sup3rS3cret-pw"
REFRESH = "1//refresh-token-XYZZY-0123456789"

BOB = AccountConfig("bob@example.org", "imap.example.org", 993, PasswordAuth("bob", PASSWORD))
ALICE = AccountConfig(
    "alice@example.com",
    "imap.gmail.com",
    143,
    OAuth2Auth(
        "alice@example.com",
        access_token="ya29.access-token-abc",
        refresh_token=REFRESH,
        token_endpoint="https://oauth2.googleapis.com/token",
        client_id="client-1",
        client_secret="client-secret-QQQ",
        expires_at=1_700_003_600.5,
    ),
    tls=TlsMode.STARTTLS,
    ca_file="/etc/ssl/ca.pem",
    verify_tls=False,
    allow_plain=True,
    provider="gmail",
)


def msg(uid: int, account: str = "a", mailbox: str = "INBOX", uv: int = 7) -> NewMessage:
    return NewMessage(account, mailbox, uv, uid)


async def ids(store: Store, after: int = 0, **kw: object) -> list[int]:
    return [e.event_id for e in await store.events_after(after, limit=1000, **kw)]  # type: ignore[arg-type]


# -- checkpoints and record -------------------------------------------------------------------


async def test_checkpoint_round_trip(store: Store) -> None:
    assert await store.load_checkpoint("a", "INBOX") is None
    assert await store.record("a", "INBOX", Checkpoint(7, 0), []) == []
    assert await store.load_checkpoint("a", "INBOX") == Checkpoint(7, 0)
    await store.record("a", "INBOX", Checkpoint(7, 42), [])
    assert await store.load_checkpoint("a", "INBOX") == Checkpoint(7, 42)
    assert await store.load_checkpoint("a", "Sent") is None
    assert await store.load_checkpoint("b", "INBOX") is None


async def test_record_returns_stored_events_as_read_back(store: Store, backend: Backend) -> None:
    events: list[EngineEvent] = [
        msg(1),
        NewMessage("a", "INBOX", 7, 2, MessageSummary("Héllo", "x@y", "Mon, 1 Jan", 1234)),
        UidValidityChanged("a", "INBOX", 7, 8),
        MailboxGone("a", "Old", "deleted"),
    ]
    stored = await store.record("a", "INBOX", Checkpoint(8, 0), events)
    assert [s.event for s in stored] == events
    assert [s.event_id for s in stored] == [1, 2, 3, 4]
    assert all(s.created_at == backend.clock.now for s in stored)
    assert await store.events_after(0, limit=10) == list(stored)
    assert await store.last_event_id() == 4


@pytest.mark.parametrize(
    "bad",
    [
        NewMessage("a", "INBOX\ud800", 7, 3),  # lone surrogate: not storable text
        NewMessage("a", "INBOX", 7, "3"),  # type: ignore[arg-type]
        NewMessage("a", "INBOX", 7, 3, MessageSummary(size=float("nan"))),  # type: ignore[arg-type]
    ],
)
async def test_record_is_atomic_when_an_event_fails(store: Store, bad: NewMessage) -> None:
    await store.record("a", "INBOX", Checkpoint(7, 1), [msg(1)])
    with pytest.raises(CodecError):
        # The good event comes first: SQLite has inserted it when the bad one fails.
        await store.record("a", "INBOX", Checkpoint(7, 3), [msg(2), bad])
    assert await store.load_checkpoint("a", "INBOX") == Checkpoint(7, 1)
    assert await ids(store) == [1]
    assert await store.last_event_id() == 1
    stored = await store.record("a", "INBOX", Checkpoint(7, 2), [msg(2)])
    assert [s.event_id for s in stored] == [2]


async def test_checkpoint_moving_back_is_refused(store: Store) -> None:
    await store.record("a", "INBOX", Checkpoint(7, 10), [msg(10)])
    with pytest.raises(CheckpointMovedBackwards):
        await store.record("a", "INBOX", Checkpoint(7, 9), [msg(9)])
    assert await store.load_checkpoint("a", "INBOX") == Checkpoint(7, 10)
    assert await ids(store) == [1]
    # The same checkpoint again is fine (nothing new), and a new UIDVALIDITY may reset it.
    await store.record("a", "INBOX", Checkpoint(7, 10), [])
    await store.record("a", "INBOX", Checkpoint(8, 0), [UidValidityChanged("a", "INBOX", 7, 8)])
    assert await store.load_checkpoint("a", "INBOX") == Checkpoint(8, 0)


async def test_concurrent_records_get_unique_ordered_ids(store: Store) -> None:
    async def one(i: int) -> list[int]:
        events = [msg(u, mailbox=f"box{i}") for u in (1, 2, 3)]
        stored = await store.record("a", f"box{i}", Checkpoint(1, 3), events)
        return [s.event_id for s in stored]

    results = await asyncio.gather(*(one(i) for i in range(40)))
    for r in results:  # each call's events are contiguous and ascending
        assert r == list(range(r[0], r[0] + 3))
    all_ids = sorted(i for r in results for i in r)
    assert all_ids == list(range(1, 121))
    log = await store.events_after(0, limit=1000)
    assert [e.event_id for e in log] == all_ids
    for r in results:  # the log holds each call's events in the order given
        assert [e.event.uid for e in log if e.event_id in r] == [1, 2, 3]  # type: ignore[union-attr]


# -- one announcement per message (issue 16) -------------------------------------------------


async def uids(store: Store) -> list[tuple[str, str, int, int]]:
    log = await store.events_after(0, limit=1000)
    return [
        (e.event.account_id, e.event.mailbox, e.event.uidvalidity, e.event.uid)
        for e in log
        if isinstance(e.event, NewMessage)
    ]


async def test_a_message_the_checkpoint_covers_is_not_announced_again(store: Store) -> None:
    stored = await store.record("a", "INBOX", Checkpoint(7, 12), [msg(12)])
    assert [s.event_id for s in stored] == [1]
    # A watcher with a stale checkpoint announces 12 again: nothing is stored, nothing fails.
    assert await store.record("a", "INBOX", Checkpoint(7, 12), [msg(12)]) == []
    # Together with a new one, only the new one is stored; the checkpoint moves.
    stored = await store.record("a", "INBOX", Checkpoint(7, 13), [msg(12), msg(13)])
    assert [(s.event_id, s.event) for s in stored] == [(2, msg(13))]
    assert await store.load_checkpoint("a", "INBOX") == Checkpoint(7, 13)
    assert await uids(store) == [("a", "INBOX", 7, 12), ("a", "INBOX", 7, 13)]
    assert await store.last_event_id() == 2


async def test_a_message_in_the_log_is_not_announced_again_without_a_checkpoint(
    store: Store,
) -> None:
    await store.record("a", "INBOX", Checkpoint(7, 12), [msg(12)])
    # The checkpoint is gone (the account was deleted and connected again): the log still
    # knows message 12, so only 13 is stored.
    await store.delete_account("a")
    assert await store.load_checkpoint("a", "INBOX") is None
    stored = await store.record("a", "INBOX", Checkpoint(7, 13), [msg(12), msg(13)])
    assert [s.event for s in stored] == [msg(13)]
    assert await uids(store) == [("a", "INBOX", 7, 12), ("a", "INBOX", 7, 13)]


async def test_a_message_listed_twice_in_one_record_is_stored_once(store: Store) -> None:
    stored = await store.record("a", "INBOX", Checkpoint(7, 2), [msg(1), msg(2), msg(1)])
    assert [s.event for s in stored] == [msg(1), msg(2)]
    assert [s.event_id for s in stored] == [1, 2]


async def test_same_uid_elsewhere_is_another_message(store: Store) -> None:
    await store.record("a", "INBOX", Checkpoint(7, 5), [msg(5)])
    # Another UIDVALIDITY, mailbox or account: a different message each time.
    reset = UidValidityChanged("a", "INBOX", 7, 8)
    await store.record("a", "INBOX", Checkpoint(8, 5), [reset, msg(5, uv=8)])
    await store.record("a", "Sent", Checkpoint(7, 5), [msg(5, mailbox="Sent")])
    await store.record("b", "INBOX", Checkpoint(7, 5), [msg(5, account="b")])
    assert await uids(store) == [
        ("a", "INBOX", 7, 5),
        ("a", "INBOX", 8, 5),
        ("a", "Sent", 7, 5),
        ("b", "INBOX", 7, 5),
    ]
    # Other events are never skipped as repeats.
    gone = MailboxGone("a", "Sent", "deleted")
    await store.record("a", "Sent", Checkpoint(7, 5), [gone])
    await store.record("a", "Sent", Checkpoint(7, 5), [gone])
    assert await store.last_event_id() == 7


async def test_racing_records_of_one_message_store_it_once(store: Store) -> None:
    # Two watchers of one mailbox (the old and the new lease holder) saw the same new mail.
    for uid in range(1, 21):
        results = await asyncio.gather(
            *(store.record("a", "INBOX", Checkpoint(7, uid), [msg(uid)]) for _ in range(3))
        )
        assert sorted(len(r) for r in results) == [0, 0, 1], (uid, results)
    assert await uids(store) == [("a", "INBOX", 7, u) for u in range(1, 21)]
    assert await store.last_event_id() == 20


async def test_the_guarantee_survives_reopen_and_pruning_keeps_the_checkpoint_rule(
    backend: Backend,
) -> None:
    store = await backend.open()
    await store.record("a", "INBOX", Checkpoint(7, 3), [msg(1), msg(2), msg(3)])
    await store.close()
    store = await backend.open()
    try:
        assert await store.record("a", "INBOX", Checkpoint(7, 3), [msg(3)]) == []
        await store.prune_events(older_than=None, keep_last=1)
        # Pruned from the log, but the checkpoint still says message 1 was announced.
        assert await store.record("a", "INBOX", Checkpoint(7, 4), [msg(1), msg(4)]) != []
        assert await uids(store) == [("a", "INBOX", 7, 3), ("a", "INBOX", 7, 4)]
    finally:
        await store.close()


# -- the event log ----------------------------------------------------------------------------


async def test_events_after_filters_and_limits(store: Store) -> None:
    await store.record("a", "INBOX", Checkpoint(7, 2), [msg(1, "a"), msg(2, "a")])
    await store.record("b", "INBOX", Checkpoint(7, 1), [msg(1, "b")])
    await store.record("c", "INBOX", Checkpoint(7, 1), [msg(1, "c")])
    assert await ids(store) == [1, 2, 3, 4]
    assert await ids(store, 2) == [3, 4]
    assert await ids(store, account_ids=["a"]) == [1, 2]
    assert await ids(store, account_ids={"b", "c"}) == [3, 4]
    assert await ids(store, 1, account_ids=("a", "c")) == [2, 4]
    assert await ids(store, account_ids=[]) == []
    assert await ids(store, account_ids=["nobody"]) == []
    assert [e.event_id for e in await store.events_after(0, limit=3)] == [1, 2, 3]
    assert [e.event_id for e in await store.events_after(1, limit=1, account_ids=["a"])] == [2]
    with pytest.raises(ValueError):
        await store.events_after(0, limit=0)


async def test_event_totals_per_account_up_to_an_id(store: Store, backend: Backend) -> None:
    assert await store.event_totals(up_to=0) == {}
    t0 = backend.clock.now
    await store.record("a", "INBOX", Checkpoint(7, 2), [msg(1, "a"), msg(2, "a")])
    backend.clock.now = t0 + 10
    await store.record("b", "INBOX", Checkpoint(7, 1), [msg(1, "b")])
    backend.clock.now = t0 + 20
    await store.record("a", "Sent", Checkpoint(7, 1), [msg(1, "a", "Sent")])
    totals = await store.event_totals(up_to=await store.last_event_id())
    assert totals == {
        "a": EventTotals(count=3, last_event_id=4, last_event_at=t0 + 20),
        "b": EventTotals(count=1, last_event_id=3, last_event_at=t0 + 10),
    }
    # Up to id 2: what the log held when the server started, say.
    assert await store.event_totals(up_to=2) == {"a": EventTotals(2, 2, t0)}
    # Pruned events are no longer counted.
    await store.prune_events(older_than=None, keep_last=1)
    assert await store.event_totals(up_to=4) == {"a": EventTotals(1, 4, t0 + 20)}


@pytest.mark.parametrize("event_id", [2**63, -(2**63) - 1, 10**30, int("9" * 4000)])
async def test_event_ids_beyond_64_bits_are_a_store_error(store: Store, event_id: int) -> None:
    """Issue 12: SQLite raised OverflowError here, which closed the client's socket (1011)."""
    await store.record("a", "INBOX", Checkpoint(7, 1), [msg(1, "a")])
    with pytest.raises(EventIdOutOfRange) as info:
        await store.events_after(event_id, limit=10)
    assert isinstance(info.value, StoreError)
    assert len(str(info.value)) < 100  # a 4,000-digit id is not copied into the message
    with pytest.raises(EventIdOutOfRange):
        await store.group_ack("g", [1, event_id])
    with pytest.raises(EventIdOutOfRange):
        await store.group_ack("g", [1], settled_through=event_id)
    # The edges of the range itself are fine, and nothing was recorded by the refusals.
    assert await store.events_after(2**63 - 1, limit=10) == []
    assert [e.event_id for e in await store.events_after(-(2**63), limit=10)] == [1]
    assert (await store.group_position("g")).position == 1


async def test_prune_by_count(store: Store) -> None:
    assert await store.oldest_event_id() is None
    assert await store.prune_events(older_than=None, keep_last=3) == 0
    await store.record("a", "INBOX", Checkpoint(7, 5), [msg(u) for u in range(1, 6)])
    assert await store.prune_events(older_than=None, keep_last=None) == 0
    assert await store.prune_events(older_than=None, keep_last=3) == 2
    assert await ids(store) == [3, 4, 5]
    assert await store.oldest_event_id() == 3
    # keep_last=0 still keeps the newest, so the last id is never lost.
    assert await store.prune_events(older_than=None, keep_last=0) == 2
    assert await ids(store) == [5]
    with pytest.raises(ValueError):
        await store.prune_events(older_than=None, keep_last=-1)


async def test_prune_by_age(store: Store, backend: Backend) -> None:
    t0 = backend.clock.now
    await store.record("a", "INBOX", Checkpoint(7, 2), [msg(1), msg(2)])
    backend.clock.now = t0 + 100
    await store.record("a", "INBOX", Checkpoint(7, 4), [msg(3), msg(4)])
    backend.clock.now = t0 + 200
    await store.record("a", "INBOX", Checkpoint(7, 5), [msg(5)])
    assert await store.prune_events(older_than=t0 + 50, keep_last=None) == 2
    assert await ids(store) == [3, 4, 5]
    # Either rule removes: age keeps 3..5, count keeps 4..5.
    assert await store.prune_events(older_than=t0 + 50, keep_last=2) == 1
    assert await ids(store) == [4, 5]
    # Everything is old, yet the newest event stays.
    assert await store.prune_events(older_than=t0 + 1000, keep_last=None) == 1
    assert await ids(store) == [5]
    assert await store.oldest_event_id() == 5


async def test_ids_continue_across_pruning_and_reopen(backend: Backend) -> None:
    store = await backend.open()
    await store.record("a", "INBOX", Checkpoint(7, 3), [msg(1), msg(2), msg(3)])
    await store.prune_events(older_than=backend.clock.now + 1, keep_last=None)
    assert await ids(store) == [3]
    await store.close()
    store = await backend.open()
    assert await store.last_event_id() == 3
    stored = await store.record("a", "INBOX", Checkpoint(7, 4), [msg(4)])
    assert [s.event_id for s in stored] == [4]
    await store.prune_events(older_than=None, keep_last=0)
    await store.close()
    store = await backend.open()
    assert await store.oldest_event_id() == 4
    stored = await store.record("a", "INBOX", Checkpoint(7, 5), [msg(5)])
    assert [s.event_id for s in stored] == [5]
    await store.close()


# -- accounts ---------------------------------------------------------------------------------


async def test_accounts_round_trip(store: Store, backend: Backend) -> None:
    assert await store.load_accounts() == []
    assert await store.get_account("bob@example.org") is None
    await store.save_account(BOB, pinned=True)
    backend.clock.now += 10
    await store.save_account(ALICE, pinned=False)
    accounts = await store.load_accounts()
    assert [a.config for a in accounts] == [ALICE, BOB]  # ordered by account_id
    assert [a.pinned for a in accounts] == [False, True]
    assert [a.created_at for a in accounts] == [backend.clock.now, backend.clock.now - 10]
    got = await store.get_account("alice@example.com")
    assert got is not None and got.config == ALICE and got.watches == ()
    assert got.config.auth == ALICE.auth  # tokens included


async def test_update_keeps_created_at_and_watches(store: Store, backend: Backend) -> None:
    await store.save_account(BOB, pinned=False)
    created = backend.clock.now
    await store.save_watches(BOB.account_id, ["INBOX", "Work", "INBOX", "&AOk-t&AOk-"])
    backend.clock.now += 60
    new_bob = AccountConfig(BOB.account_id, "imap2.example.org", 993, PasswordAuth("bob", "new"))
    await store.save_account(new_bob, pinned=True)
    got = await store.get_account(BOB.account_id)
    assert got is not None
    assert got.config == new_bob and got.pinned
    assert got.created_at == created
    assert got.watches == ("INBOX", "Work", "&AOk-t&AOk-")
    await store.save_watches(BOB.account_id, ["Work"])
    assert (await store.load_accounts())[0].watches == ("Work",)


async def test_save_watches_of_unknown_account(store: Store) -> None:
    with pytest.raises(UnknownAccount):
        await store.save_watches("ghost", ["INBOX"])


async def test_delete_account_removes_checkpoints_and_watches(store: Store) -> None:
    await store.save_account(BOB, pinned=True)
    await store.save_account(ALICE, pinned=True)
    await store.save_watches(BOB.account_id, ["INBOX"])
    await store.record(BOB.account_id, "INBOX", Checkpoint(7, 1), [msg(1, BOB.account_id)])
    await store.record(ALICE.account_id, "INBOX", Checkpoint(7, 1), [])
    await store.delete_account(BOB.account_id)
    await store.delete_account("never-existed")
    assert await store.get_account(BOB.account_id) is None
    assert await store.load_checkpoint(BOB.account_id, "INBOX") is None
    assert await store.load_checkpoint(ALICE.account_id, "INBOX") == Checkpoint(7, 1)
    assert [a.config for a in await store.load_accounts()] == [ALICE]
    assert await ids(store) == [1]  # the log is history: it keeps the account's events
    # A new account by the same id starts with no watches.
    await store.save_account(BOB, pinned=True)
    got = await store.get_account(BOB.account_id)
    assert got is not None and got.watches == ()


async def test_credentials_are_not_stored_in_clear(store: Store, backend: Backend) -> None:
    await store.save_account(BOB, pinned=True)
    await store.save_account(ALICE, pinned=True)
    raw = backend.raw_bytes()
    assert b"imap.example.org" in raw  # the clear settings are there: we read the right bytes
    for secret in (PASSWORD, REFRESH, "ya29.access-token-abc", "client-secret-QQQ"):
        assert secret.encode() not in raw


async def test_wrong_key_raises_corrupt_credentials(backend: Backend) -> None:
    store = await backend.open()
    await store.save_account(BOB, pinned=True)
    await store.record("a", "INBOX", Checkpoint(7, 1), [msg(1)])
    await store.close()
    store = await backend.open(SecretBox.generate())
    with pytest.raises(CorruptCredentials) as info:
        await store.load_accounts()
    assert "the secret key does not match the one the credentials were encrypted with" in str(
        info.value
    )
    assert PASSWORD not in str(info.value)
    with pytest.raises(CorruptCredentials):
        await store.get_account(BOB.account_id)
    # Only credentials need the key: checkpoints and events still read.
    assert await store.load_checkpoint("a", "INBOX") == Checkpoint(7, 1)
    assert await ids(store) == [1]
    await store.close()


async def test_reopened_store_keeps_everything(backend: Backend) -> None:
    store = await backend.open()
    await store.save_account(BOB, pinned=True)
    await store.save_account(ALICE, pinned=False)
    await store.save_watches(BOB.account_id, ["INBOX", "Sent"])
    stored = await store.record(BOB.account_id, "INBOX", Checkpoint(9, 2), [msg(1), msg(2)])
    before = await store.load_accounts()
    await store.close()

    store = await backend.open()
    assert await store.load_accounts() == before
    assert (await store.get_account(BOB.account_id)).watches == ("INBOX", "Sent")  # type: ignore[union-attr]
    assert await store.load_checkpoint(BOB.account_id, "INBOX") == Checkpoint(9, 2)
    assert await store.events_after(0, limit=10) == list(stored)
    assert await store.last_event_id() == 2
    await store.close()


async def test_closed_store_refuses_calls(backend: Backend) -> None:
    store = await backend.open()
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreClosed):
        await store.load_checkpoint("a", "INBOX")
    with pytest.raises(StoreClosed):
        await store.record("a", "INBOX", Checkpoint(1, 1), [])
    with pytest.raises(StoreClosed):
        await store.load_accounts()
    with pytest.raises(StoreClosed):
        await store.last_event_id()
