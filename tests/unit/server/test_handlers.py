"""Tests for server.handlers: each method's reply and effects, over an in-memory world.

A command goes through the real session core (admitted, then its outcome applied) and the real
handlers, account registry and groups, over :class:`~switchboard.store.memory.MemoryStore` and
an engine without IMAP (:class:`tests.support.fake_engine.FakeEngine`). ``Member`` below is the
smallest shell that can carry a core: no socket, no outbox. The conversations over real
WebSockets and Dovecot are in tests/integration/server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from switchboard.model.events import Checkpoint, NewMessage
from switchboard.model.store import TokenScope
from switchboard.protocol.messages import Command, Response
from switchboard.protocol.methods import Interface
from switchboard.server.accountbook import AccountBook
from switchboard.server.accountconfig import ImapPolicy
from switchboard.server.accounts import AccountRegistry
from switchboard.server.auth import Principal
from switchboard.server.groups import GroupRegistry
from switchboard.server.handlers import Handlers
from switchboard.server.placement import LocalPlacement
from switchboard.server.sessioncore import (
    ClientWatches,
    ReplayFrom,
    SessionCore,
    SessionState,
    ShellEffect,
    Subscribed,
    WantsSummary,
)
from switchboard.store.memory import MemoryStore
from tests.support.fake_engine import PASSWORD, FakeEngine

ME = "me@example.org"


def connect_args(username: str = ME, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    auth = {"type": "plain", "username": username, "password": password}
    return {"host": "imap.example.org", "port": 993, "auth": auth, **extra}


class Member:
    """A session without a socket: a core, and the group pushes it was handed."""

    def __init__(self, handlers: Handlers, interface: Interface, principal: Principal | None):
        self.core = SessionCore(interface, principal)
        self._handlers = handlers
        self.group_frames: list[bytes] = []
        self.shell: tuple[ShellEffect, ...] = ()

    interface = property(lambda self: self.core.interface)
    principal = property(lambda self: self.core.principal)
    group = property(lambda self: self.core.group)
    is_worker = property(lambda self: self.core.is_worker)
    wants_summary = property(lambda self: self.core.wants_summary)
    is_open = property(lambda self: self.core.state is not SessionState.CLOSED)

    def deliver_group(self, frame: bytes) -> None:
        self.group_frames.append(frame)

    async def send(self, method: str, args: Any = None, tag: int = 1) -> Response:
        """One command as a session runs it; the shell's effects are kept in ``shell``."""
        admitted = self.core.admit(Command(method, {} if args is None else args, tag))
        if isinstance(admitted, Response):
            self.shell = ()
            return admitted
        outcome = await self._handlers.execute(self, admitted)
        self.shell = self.core.apply(outcome)
        return outcome.response


@dataclass
class World:
    engine: FakeEngine
    store: MemoryStore
    accounts: AccountRegistry
    groups: GroupRegistry
    handlers: Handlers

    def member(self, interface: Interface, principal: Principal | None = None) -> Member:
        return Member(self.handlers, interface, principal)


@pytest.fixture
async def world() -> Any:
    engine, store, placement = FakeEngine(), MemoryStore(), LocalPlacement()
    accounts = AccountRegistry(AccountBook(), engine, store, placement)
    groups = GroupRegistry(store, max_in_flight=10)
    handlers = Handlers(
        accounts=accounts,
        reader=engine.reader,
        groups=groups,
        log=store,
        imap_policy=ImapPolicy(),
        group_visibility_timeout_s=60.0,
    )
    yield World(engine, store, accounts, groups, handlers)
    await groups.stop()


def error_type(response: Response) -> str:
    assert response.name == "error" and isinstance(response.args, dict), response
    return str(response.args["type"])


def description(response: Response) -> str:
    assert isinstance(response.args, dict)
    return str(response.args.get("description"))


# -- connect ---------------------------------------------------------------------------------------


async def test_a_client_connect_binds_the_session(world: World) -> None:
    client = world.member(Interface.CLIENTS)
    response = await client.send("connect", connect_args(), tag=3)
    assert response == Response("connected", {}, 3, True)
    assert (client.core.state, client.core.account_id) == (SessionState.READY, ME)
    assert world.engine.has_account(ME)
    again = await client.send("connect", connect_args())
    assert error_type(again) == "alreadyConnected"


async def test_a_worker_connect_pins_and_binds_nothing(world: World) -> None:
    worker = world.member(Interface.WORKERS)
    assert (await worker.send("connect", connect_args())).name == "connected"
    assert worker.core.account_id is None
    assert world.accounts.is_pinned(ME)


async def test_connect_failures_are_wire_errors(world: World) -> None:
    client = world.member(Interface.CLIENTS)
    refused = await client.send("connect", connect_args(password="guess"))
    assert error_type(refused) == "authenticationFailed"
    assert description(refused) == "the IMAP server rejected the credentials"
    assert refused.args["arguments"]["auth"]["password"] == "***"  # type: ignore[index]
    world.engine.unreachable.add("imap.example.org")
    unreachable = await client.send("connect", connect_args())
    assert error_type(unreachable) == "connectionFailed"
    assert "Try: the certificate of imap.example.org" in description(unreachable)
    assert client.core.state is SessionState.AWAITING_CONNECT  # a failure changes nothing


async def test_a_token_bound_to_one_account_connects_only_that_one(world: World) -> None:
    principal = Principal("phone", TokenScope.CLIENT, account="other@example.org")
    client = world.member(Interface.CLIENTS, principal)
    response = await client.send("connect", connect_args())
    assert error_type(response) == "notAuthorized"
    assert world.engine.logins == 0


async def test_a_refresh_token_needs_a_provider_the_server_knows(world: World) -> None:
    token = {"type": "refresh", "token": "r", "provider": "nowhere"}
    args = {
        "host": "imap.example.org",
        "port": 993,
        "auth": {"type": "xoauth2", "username": ME, "token": token},
    }
    response = await world.member(Interface.WORKERS).send("connect", args)
    assert error_type(response) == "invalidArguments"
    assert "unknown OAuth2 provider 'nowhere'" in description(response)


# -- the /workers account checks -------------------------------------------------------------------


async def test_an_unmanaged_account_is_refused_before_its_arguments(world: World) -> None:
    worker = world.member(Interface.WORKERS)
    bad = await worker.send("getMessages", {"account": ME, "ids": 5})
    assert error_type(bad) == "inactiveAccount"
    unknown = await worker.send("frobnicate", {"account": ME})
    assert error_type(unknown) == "inactiveAccount"
    await worker.send("connect", connect_args())
    assert error_type(await worker.send("getMessages", {"account": ME, "ids": 5})) == (
        "invalidArguments"
    )
    assert error_type(await worker.send("frobnicate", {"account": ME})) == "unknownMethod"


async def test_the_read_commands_reach_the_accounts_imap_connection(world: World) -> None:
    worker = world.member(Interface.WORKERS)
    await worker.send("connect", connect_args())
    response = await worker.send("getMailboxes", {"account": ME})
    # The fake engine has no IMAP server: the failure to reach it is answered as such.
    assert error_type(response) == "connectionFailed"
    assert description(response) == "the fake engine has no IMAP server"


# -- watching ------------------------------------------------------------------------------------


async def test_watch_all_subscribes_to_every_account(world: World) -> None:
    worker = world.member(Interface.WORKERS)
    assert await worker.send("watchAll", {}) == Response("watchingAll", {}, 1, True)
    assert worker.shell == (Subscribed(None),)
    await worker.send("watchAll", {"since": 0, "summary": True})
    assert worker.shell == (Subscribed(None), ReplayFrom(0, None))
    assert worker.core.wants_summary is True


async def test_a_resume_point_older_than_the_log_is_refused(world: World) -> None:
    events = [NewMessage(ME, "INBOX", 1, uid) for uid in (1, 2, 3)]
    await world.store.record(ME, "INBOX", Checkpoint(1, 3), events)
    await world.store.prune_events(older_than=None, keep_last=1)
    worker = world.member(Interface.WORKERS)
    response = await worker.send("watchAll", {"since": 0})
    assert error_type(response) == "cannotCalculateChanges"
    assert worker.shell == ()
    assert (await worker.send("watchAll", {"since": 2})).name == "watchingAll"
    assert worker.shell == (Subscribed(None), ReplayFrom(2, None))


async def test_watch_mailboxes_for_a_worker_and_for_a_client(world: World) -> None:
    worker = world.member(Interface.WORKERS)
    await worker.send("connect", connect_args())
    response = await worker.send(
        "watchMailboxes", {"account": ME, "list": ["INBOX", "Snet"], "since": 4}
    )
    assert response.args == {"list": ["INBOX"], "failed": ["Snet"]}
    assert worker.shell == (Subscribed(ME), ReplayFrom(4, ME))
    assert worker.core.client_watches == frozenset()

    client = world.member(Interface.CLIENTS)
    await client.send("connect", connect_args())
    response = await client.send("watchMailboxes", {"list": ["Sent"], "summary": True})
    assert response.args == {"list": ["Sent"]}
    assert client.shell == (Subscribed(ME),)
    assert client.core.client_watches == {"Sent"} and client.core.wants_summary
    assert world.engine.watched[ME] == ("INBOX", "Sent")


# -- groups and acks -------------------------------------------------------------------------------


async def test_a_group_member_joins_instead_of_subscribing(world: World) -> None:
    worker = world.member(Interface.WORKERS)
    response = await worker.send("watchAll", {"group": "billing", "since": 0})
    assert response.name == "watchingAll"
    assert worker.shell == ()  # no live subscription, no replay: the group reads the log
    assert worker.core.group == "billing"
    assert world.groups.get("billing") is not None
    other = await worker.send("watchAll", {"group": "support"})
    assert error_type(other) == "invalidArguments"
    assert "one group per connection" in description(other)


async def test_a_watch_returns_its_effects_in_order_and_an_ack_none(world: World) -> None:
    client = world.member(Interface.CLIENTS)
    await client.send("connect", connect_args())
    admitted = client.core.admit(
        Command("watchMailboxes", {"list": ["INBOX"], "summary": True, "since": 1}, 1)
    )
    assert not isinstance(admitted, Response)
    outcome = await world.handlers.execute(client, admitted)
    assert outcome.effects == (
        WantsSummary(),
        ClientWatches(frozenset({"INBOX"})),
        Subscribed(ME),
        ReplayFrom(1, ME),
    )
    assert client.core.client_watches == frozenset()  # the handlers changed nothing
    ack = client.core.admit(Command("ack", {"eventIds": [1]}))
    assert not isinstance(ack, Response)
    assert (await world.handlers.execute(client, ack)).effects == ()


async def test_ack_outside_a_group_is_a_no_op_and_inside_it_reaches_the_group(
    world: World,
) -> None:
    client = world.member(Interface.CLIENTS)
    response = await client.send("ack", {"eventIds": [5, 5, 6]})
    assert response.args == {"eventIds": [5, 6]}
    worker = world.member(Interface.WORKERS)
    await worker.send("watchAll", {"group": "g"})
    response = await worker.send("ack", {"eventIds": [7]})
    assert response.args == {"eventIds": [], "unknown": [7]}  # never sent to this member


# -- failures ------------------------------------------------------------------------------------


async def test_a_store_failure_is_a_server_error_not_a_crash(world: World) -> None:
    worker = world.member(Interface.WORKERS)
    await world.store.close()
    response = await worker.send("watchAll", {"since": 1})
    assert error_type(response) == "serverError"
    assert description(response).startswith("store: ")


async def test_a_bug_is_an_internal_error(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    worker = world.member(Interface.WORKERS)
    await worker.send("connect", connect_args())

    async def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(world.engine, "watch", broken)
    response = await worker.send("watchMailboxes", {"account": ME, "list": ["INBOX"]})
    assert error_type(response) == "serverError"
    assert description(response) == "internal error"
