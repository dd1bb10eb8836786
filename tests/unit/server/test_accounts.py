"""Tests for server.accounts: account lifetime and watch sets, over a fake engine and MemoryStore.

The engine is :class:`tests.support.fake_engine.FakeEngine` (no IMAP: the registry's rules are
what is tested here; Dovecot covers the real conversations in tests/integration/server). The
placement is the single node's, or a scripted one that says another node watches an account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from switchboard.engine.engine import WatchResult
from switchboard.engine.errors import ConnectionFailed
from switchboard.imap.errors import AuthenticationFailed
from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth, TlsMode
from switchboard.model.store import EventSink, StoredAccount
from switchboard.protocol.errors import AccountConflict
from switchboard.server.accountbook import WORKERS, AccountBook
from switchboard.server.accounts import AccountRegistry
from switchboard.server.credentials import RotatedCredentials
from switchboard.server.placement import (
    AccountPlacement,
    AtStart,
    LocalPlacement,
    Placed,
    PlacementParts,
)
from switchboard.store.crypto import SecretBox
from switchboard.store.memory import MemoryStore
from tests.support.fake_engine import PASSWORD, FakeEngine

ALICE = "alice@example.org"


def config(
    username: str = ALICE, *, password: str = PASSWORD, host: str = "imap.example.org"
) -> AccountConfig:
    return AccountConfig(username, host, 993, PasswordAuth(username, password), TlsMode.IMPLICIT)


@dataclass(eq=False)
class Elsewhere:
    """A cluster as the registry sees it: another node watches every pinned account."""

    stored: dict[str, StoredAccount] = field(default_factory=dict)
    requests: list[tuple[str, tuple[str, ...], tuple[str, ...], bool]] = field(
        default_factory=list
    )
    changes: list[str] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    @property
    def node_id(self) -> str | None:
        return "n1"

    def engine_sink(self, hub: EventSink) -> EventSink:
        return hub

    def at_start(self, stored: StoredAccount) -> AtStart:
        return AtStart.KNOW if stored.pinned else AtStart.SKIP

    async def start(self, parts: PlacementParts) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def lookup(self, account_id: str) -> StoredAccount | None:
        return self.stored.get(account_id)

    async def place(self, account_id: str) -> Placed:
        return Placed.ELSEWHERE

    async def watch_elsewhere(
        self,
        account_id: str,
        names: tuple[str, ...],
        *,
        workers: tuple[str, ...],
        for_workers: bool,
    ) -> WatchResult:
        self.requests.append((account_id, names, workers, for_workers))
        kept = tuple(n for n in names if n not in self.failing)
        return WatchResult(kept, tuple(n for n in names if n in self.failing))

    async def changed(self, account_id: str) -> None:
        self.changes.append(account_id)

    async def holders(self) -> Mapping[str, str] | None:
        return {}

    def health(self) -> dict[str, object] | None:
        return None


@dataclass
class World:
    engine: FakeEngine
    store: MemoryStore
    book: AccountBook
    registry: AccountRegistry
    placement: AccountPlacement


def world(placement: AccountPlacement | None = None, store: MemoryStore | None = None) -> World:
    engine, store = FakeEngine(), store or MemoryStore()
    placement = placement or LocalPlacement()
    book = AccountBook()
    return World(engine, store, book, AccountRegistry(book, engine, store, placement), placement)


CLIENT, OTHER_CLIENT = object(), object()


# -- connect -------------------------------------------------------------------------------------


async def test_a_client_connects_after_a_real_login_and_holds_the_account() -> None:
    w = world()
    outcome = await w.registry.connect(config(), by_worker=False, holder=CLIENT)
    assert (outcome.account_id, outcome.created) == (ALICE, True)
    assert w.engine.has_account(ALICE) and w.engine.logins == 1
    assert not w.registry.is_pinned(ALICE)
    assert await w.store.load_accounts() == []  # only workers' accounts are stored
    again = await w.registry.connect(config(), by_worker=False, holder=OTHER_CLIENT)
    assert again.created is False
    assert w.engine.logins == 1  # the same credentials: no second login


async def test_wrong_credentials_create_nothing() -> None:
    w = world()
    with pytest.raises(AuthenticationFailed):
        await w.registry.connect(config(password="nope"), by_worker=True, holder=WORKERS)
    assert not w.registry.exists(ALICE) and not w.engine.has_account(ALICE)
    assert await w.store.load_accounts() == []


async def test_a_tls_failure_says_what_to_try() -> None:
    w = world()
    w.engine.unreachable.add("imap.example.org")
    advice = re.escape("Try: the certificate of imap.example.org")
    with pytest.raises(ConnectionFailed, match=advice):
        await w.registry.connect(config(), by_worker=False, holder=CLIENT)


async def test_the_same_username_on_another_server_is_a_conflict() -> None:
    w = world()
    await w.registry.connect(config(), by_worker=False, holder=CLIENT)
    conflict = re.escape("imap.example.org:993, not other.example.org:993")
    with pytest.raises(AccountConflict, match=conflict):
        await w.registry.connect(config(host="other.example.org"), by_worker=False, holder=CLIENT)


async def test_other_credentials_must_log_in_and_then_replace_the_stored_ones() -> None:
    w = world()
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    with pytest.raises(AuthenticationFailed):
        await w.registry.connect(config(password="guess"), by_worker=False, holder=CLIENT)
    assert w.registry.config(ALICE) == config()
    oauth = AccountConfig(
        ALICE, "imap.example.org", 993, OAuth2Auth(ALICE, access_token="t1"), TlsMode.IMPLICIT
    )
    await w.registry.connect(oauth, by_worker=True, holder=WORKERS)
    (stored,) = await w.store.load_accounts()
    assert stored.config.auth == OAuth2Auth(ALICE, access_token="t1")
    assert w.engine.accounts[ALICE].auth == oauth.auth


async def test_a_worker_pins_the_account_in_the_store_and_the_engine() -> None:
    w = world()
    outcome = await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    assert outcome.created and w.registry.is_pinned(ALICE)
    assert w.engine.has_account(ALICE)
    (stored,) = await w.store.load_accounts()
    assert (stored.pinned, stored.watches) == (True, ())


async def test_a_worker_pinning_a_clients_account_asks_the_server_nothing_more() -> None:
    w = world()
    await w.registry.connect(config(), by_worker=False, holder=CLIENT)
    await w.registry.set_watches(ALICE, CLIENT, ("INBOX",))
    calls = w.engine.watch_calls
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    assert w.registry.is_pinned(ALICE)
    assert (w.engine.watch_calls, w.engine.logins) == (calls, 1)
    assert w.engine.watched[ALICE] == ("INBOX",)


# -- watches --------------------------------------------------------------------------------------


async def test_a_typo_adds_nothing_and_removes_nothing() -> None:
    w = world()
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    result = await w.registry.set_watches(ALICE, WORKERS, ("INBOX",))
    assert result == WatchResult(("INBOX",), ())
    result = await w.registry.set_watches(ALICE, WORKERS, ("Sent", "Snet"))
    assert result.failed == ("Snet",)
    assert w.registry.watches(ALICE, WORKERS) == ("INBOX", "Sent")
    assert w.engine.watched[ALICE] == ("INBOX", "Sent")
    (stored,) = await w.store.load_accounts()
    assert stored.watches == ("INBOX", "Sent")


async def test_a_smaller_set_stops_what_no_one_watches_any_more() -> None:
    w = world()
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    await w.registry.connect(config(), by_worker=False, holder=CLIENT)
    await w.registry.set_watches(ALICE, WORKERS, ("INBOX", "Sent"))
    await w.registry.set_watches(ALICE, CLIENT, ("Sent",))
    await w.registry.set_watches(ALICE, WORKERS, ("INBOX",))
    assert w.engine.watched[ALICE] == ("INBOX", "Sent")  # the client still watches Sent
    await w.registry.release(CLIENT)
    assert w.engine.watched[ALICE] == ("INBOX",)
    assert w.registry.watches(ALICE, CLIENT) == ()


async def test_an_account_only_clients_held_stops_when_the_last_one_leaves() -> None:
    w = world()
    await w.registry.connect(config(), by_worker=False, holder=CLIENT)
    await w.registry.connect(config(), by_worker=False, holder=OTHER_CLIENT)
    await w.registry.release(CLIENT)
    assert w.engine.has_account(ALICE)
    await w.registry.release(OTHER_CLIENT)
    assert not w.engine.has_account(ALICE) and not w.registry.exists(ALICE)


async def test_a_pinned_account_outlives_its_clients() -> None:
    w = world()
    await w.registry.connect(config(), by_worker=False, holder=CLIENT)
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    await w.registry.release(CLIENT)
    assert w.engine.has_account(ALICE) and w.registry.exists(ALICE)


# -- restart and removal ------------------------------------------------------------------------


async def test_a_restart_restores_pinned_accounts_with_their_watches_without_a_login() -> None:
    box = SecretBox.generate()
    first = world(store=MemoryStore(box))
    await first.registry.connect(config(), by_worker=True, holder=WORKERS)
    await first.registry.set_watches(ALICE, WORKERS, ("INBOX",))
    await first.store.save_account(config("bob@example.org"), pinned=False)  # a crash's
    second = world(store=MemoryStore(box, data=first.store.data))
    assert await second.registry.restore() == 1
    assert second.engine.watched[ALICE] == ("INBOX",) and second.engine.logins == 0
    assert second.registry.watches(ALICE, WORKERS) == ("INBOX",)
    assert [s.config.account_id for s in await second.store.load_accounts()] == [ALICE]


async def test_an_operator_removes_an_account_for_good() -> None:
    w = world()
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    assert await w.registry.remove(ALICE) is True
    assert not w.engine.has_account(ALICE) and not w.registry.exists(ALICE)
    assert await w.store.load_accounts() == []
    assert await w.registry.remove(ALICE) is False


async def test_rotated_tokens_are_kept_and_stored_for_pinned_accounts() -> None:
    w = world(Elsewhere())
    rotations = RotatedCredentials(w.book, w.store, w.placement)
    await rotations(config(password="unknown account"))  # not managed: ignored
    assert not w.registry.exists(ALICE)
    w.engine.mailboxes.add("Archive")
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    rotated = config(password="rotated")
    await rotations(rotated)
    assert w.registry.config(ALICE) == rotated
    (stored,) = await w.store.load_accounts()
    assert stored.config == rotated
    assert isinstance(w.placement, Elsewhere) and w.placement.changes[-1] == ALICE


# -- another node watches the account -----------------------------------------------------------


async def test_an_account_a_worker_connected_elsewhere_is_looked_up() -> None:
    placement = Elsewhere()
    w = world(placement)
    placement.stored[ALICE] = StoredAccount(config(), True, ("INBOX",), 0.0)
    assert not w.registry.exists(ALICE)
    assert await w.registry.known(ALICE) is True
    assert w.registry.watches(ALICE, WORKERS) == ("INBOX",)
    assert not w.engine.has_account(ALICE)  # its holder's engine watches it


async def test_watches_for_an_account_watched_elsewhere_go_to_its_holder() -> None:
    placement = Elsewhere(failing={"Snet"})
    w = world(placement)
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    assert not w.engine.has_account(ALICE)  # placed elsewhere: never started here
    assert placement.changes == [ALICE]
    result = await w.registry.set_watches(ALICE, WORKERS, ("INBOX", "Snet"))
    assert result == WatchResult(("INBOX",), ("Snet",))
    assert w.registry.watches(ALICE, WORKERS) == ("INBOX",)
    client = await w.registry.set_watches(ALICE, CLIENT, ("Sent",))
    assert client.watching == ("Sent",)
    assert placement.requests == [
        (ALICE, ("INBOX", "Snet"), (), True),
        (ALICE, ("Sent",), ("INBOX",), False),
    ]


async def test_a_pin_placed_elsewhere_leaves_this_engine() -> None:
    w = world(Elsewhere())
    await w.registry.connect(config(), by_worker=False, holder=CLIENT)
    assert w.engine.has_account(ALICE)
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    assert not w.engine.has_account(ALICE)  # two engines must never watch one account
    assert w.registry.is_pinned(ALICE)


async def test_a_reload_follows_the_store() -> None:
    w = world(Elsewhere())
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    await w.store.save_watches(ALICE, ("Sent",))
    await w.registry.reload(ALICE)
    assert w.registry.watches(ALICE, WORKERS) == ("Sent",)
    await w.store.delete_account(ALICE)
    await w.registry.reload(ALICE)
    assert not w.registry.exists(ALICE) and w.registry.pinned_ids() == frozenset()


async def test_a_client_keeps_an_account_unpinned_elsewhere() -> None:
    w = world()
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    await w.registry.connect(config(), by_worker=False, holder=CLIENT)
    await w.store.delete_account(ALICE)
    await w.registry.reload(ALICE)
    assert w.registry.exists(ALICE) and not w.registry.is_pinned(ALICE)
    assert w.engine.has_account(ALICE)


async def test_the_holder_applies_the_workers_stored_watches() -> None:
    w = world()
    assert await w.registry.apply_worker_watches(ALICE) is None  # not held here
    await w.registry.connect(config(), by_worker=True, holder=WORKERS)
    await w.store.save_watches(ALICE, ("INBOX", "Gone"))
    await w.registry.reload(ALICE)
    assert await w.registry.apply_worker_watches(ALICE) == ("Gone",)
    assert w.engine.watched[ALICE] == ("INBOX",)
    (stored,) = await w.store.load_accounts()
    assert stored.watches == ("INBOX",)
