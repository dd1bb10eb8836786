"""Tests for server.jmap.otherclients: what a CONDSTORE poll journals, given the marks it reads.

The engine side (STATUS and CHANGEDSINCE against Dovecot) is tested in
tests/integration/engine/test_modseq.py; here the marks are given, to check the journal.
"""

from __future__ import annotations

import asyncio
from array import array

import pytest

from switchboard.engine.errors import ConnectionFailed
from switchboard.engine.modseq import Changes, Mark, UidList
from switchboard.jmap.errors import CannotCalculateChanges
from switchboard.jmap.ids import email_id, mailbox_id, thread_id
from switchboard.jmap.journal import Edit
from switchboard.jmap.state import ChangeKind, StateCodec, changes_since
from switchboard.model.accounts import AccountConfig, PasswordAuth
from switchboard.model.events import NewMessage, StoredEvent
from switchboard.server.jmap.otherclients import INTEREST_S, OtherClients
from switchboard.server.jmap.states import LogStates

CONFIG = AccountConfig("a", "imap.example", 993, PasswordAuth("a", "p"))


class Given:
    """Marks and changed UIDs as the engine would report them."""

    def __init__(self) -> None:
        self.now: dict[str, Mark] = {}
        self.changed: dict[str, list[int]] = {}
        self.vanished: dict[str, list[int]] = {}
        self.lists: dict[str, list[int]] = {}
        self.known: dict[str, list[int] | None] = {}
        self.fail = False
        self.marked = asyncio.Queue[None]()

    async def passes(self, count: int = 2) -> None:
        """Wait (bounded) until the background loop read the marks ``count`` more times."""
        while not self.marked.empty():
            self.marked.get_nowait()
        async with asyncio.timeout(5):
            for _ in range(count):
                await self.marked.get()

    def config(self, account_id: str) -> AccountConfig | None:
        return CONFIG if account_id == "a" else None

    async def marks(self, account: AccountConfig) -> dict[str, Mark]:
        self.marked.put_nowait(None)
        if self.fail:
            raise ConnectionFailed("down")
        return dict(self.now)

    async def present(self, account: AccountConfig, mailbox: str, mark: Mark) -> UidList:
        return array("I", self.lists.get(mailbox, []))

    async def changes_since(
        self, account: AccountConfig, mailbox: str, mark: Mark, known: UidList | None
    ) -> Changes:
        self.known[mailbox] = None if known is None else list(known)
        gone = self.vanished.get(mailbox, [])
        changed = self.changed.get(mailbox, [])
        present = sorted({*(known or ()), *changed} - set(gone))
        return Changes(changed, gone, array("I", present))


def page(states: LogStates, since: str, data_type: str = "Email") -> tuple:
    journal = states.journal("a")
    result = changes_since(states.codec, since, journal.changes(data_type, 0),
                           oldest=journal.oldest, current=journal.state(data_type))  # fmt: skip
    return result.created, result.updated, result.destroyed


async def test_the_first_poll_marks_and_later_ones_journal_what_moved() -> None:
    given, states = Given(), LogStates(StateCodec("ep"))
    others = OtherClients(given, given, states)
    given.now = {"INBOX": Mark(7, 10, 100), "Old": Mark(8, 3, 50)}
    await others.poll("a")
    start = states.state("a", "Email")
    assert page(states, start) == ((), (), ())
    given.now = {"INBOX": Mark(7, 12, 105), "Old": Mark(8, 3, 50), "New": Mark(9, 1, 1)}
    given.changed = {"INBOX": [4, 10, 11], "Old": [1]}  # "Old" did not move: not asked
    await others.poll("a")
    created = (email_id("INBOX", 7, 10), email_id("INBOX", 7, 11))
    assert page(states, start) == (created, (email_id("INBOX", 7, 4),), ())
    assert page(states, start, "Mailbox") == (
        (mailbox_id("New", 9),), (mailbox_id("INBOX", 7),), ())
    moved = states.state("a", "Email")
    await others.poll("a")  # nothing moved since: no new state
    assert states.state("a", "Email") == moved


@pytest.mark.parametrize("later", [{"INBOX": Mark(70, 1, 1)}, {}])
async def test_a_renumbered_or_vanished_mailbox_resets(later: dict[str, Mark]) -> None:
    given, states = Given(), LogStates(StateCodec("ep"))
    others = OtherClients(given, given, states)
    given.now = {"INBOX": Mark(7, 10, 100)}
    await others.poll("a")
    start = states.state("a", "Email")
    given.now = later
    await others.poll("a")
    with pytest.raises(CannotCalculateChanges):
        page(states, start)


async def test_trouble_is_logged_and_the_marks_kept() -> None:
    given, states = Given(), LogStates(StateCodec("ep"))
    others = OtherClients(given, given, states)
    given.now = {"INBOX": Mark(7, 10, 100)}
    await others.poll("a")
    start = states.state("a", "Email")
    given.fail = True
    await others.poll("a")  # no exception
    given.fail = False
    given.now = {"INBOX": Mark(7, 10, 101)}
    given.changed = {"INBOX": [3]}
    await others.poll("a")
    assert page(states, start) == ((), (email_id("INBOX", 7, 3),), ())
    await others.poll("unknown account")  # no config: nothing


async def test_new_mail_seen_by_both_the_watcher_and_the_poll_is_created_once() -> None:
    given, states = Given(), LogStates(StateCodec("ep"))
    others = OtherClients(given, given, states)
    given.now = {"INBOX": Mark(7, 10, 100)}
    await others.poll("a")
    start = states.state("a", "Email")
    states.on_events([StoredEvent(1, NewMessage("a", "INBOX", 7, 10), 1.0)])  # the watcher
    after_watcher = states.state("a", "Email")
    given.now = {"INBOX": Mark(7, 12, 102)}
    given.changed = {"INBOX": [10, 11]}
    await others.poll("a")  # 10 is known; 11 the poll finds first
    states.on_events([StoredEvent(2, NewMessage("a", "INBOX", 7, 11), 1.0)])
    ten, eleven = email_id("INBOX", 7, 10), email_id("INBOX", 7, 11)
    assert page(states, start) == ((ten, eleven), (), ())
    assert page(states, after_watcher) == ((eleven,), (), ())


async def test_the_background_poll_runs_while_someone_is_interested() -> None:
    given, states = Given(), LogStates(StateCodec("ep"))
    now = [0.0]
    others = OtherClients(given, given, states, clock=lambda: now[0])
    others.interval_s = 0.01
    given.now = {"INBOX": Mark(7, 10, 100)}
    others.prime("a")  # the first marks, and the background loop
    await given.passes(1)
    start = states.state("a", "Email")
    given.now = {"INBOX": Mark(7, 10, 101)}
    given.changed = {"INBOX": [3]}
    await given.passes()  # no /changes call: the background poll found it
    assert page(states, start) == ((), (email_id("INBOX", 7, 3),), ())
    stop = states.listen(lambda positions: None, lambda account: account == "a")
    now[0] = INTEREST_S + 1  # nobody asked for long, but a push stream listens
    await given.passes()
    assert page(states, start) == ((), (email_id("INBOX", 7, 3),), ())
    reset = asyncio.Event()
    states.listen(lambda positions: reset.set())
    stop()  # nobody at all: forgotten, and what happens next is not known
    async with asyncio.timeout(5):
        await reset.wait()
    with pytest.raises(CannotCalculateChanges):
        page(states, start)
    await others.close()


async def test_messages_another_client_expunged_are_destroyed_once() -> None:
    given, states = Given(), LogStates(StateCodec("ep"))
    others = OtherClients(given, given, states)
    given.now = {"INBOX": Mark(7, 10, 100, 3), "Old": Mark(8, 3, 50, 2)}
    given.lists = {"INBOX": [1, 4, 9], "Old": [1, 2]}
    await others.poll("a")  # the first marks list the UIDs
    start = states.state("a", "Email")
    # Another client expunged 4; our own Email/set destroyed 9 and journaled it.
    nine = email_id("INBOX", 7, 9)
    states.record("a", [Edit("Email", nine, ChangeKind.DESTROYED)])
    ours = states.state("a", "Email")
    given.now = {"INBOX": Mark(7, 10, 103, 1), "Old": Mark(8, 3, 50, 2)}
    given.vanished = {"INBOX": [4, 9]}
    await others.poll("a")
    assert given.known["INBOX"] == [1, 4, 9]  # the list of the first marks was compared
    four = email_id("INBOX", 7, 4)
    created, updated, destroyed = page(states, start)
    assert (created, updated, sorted(destroyed)) == ((), (), sorted([four, nine]))
    assert page(states, ours) == ((), (), (four,))  # 9 is not reported a second time
    assert page(states, start, "Thread")[2] == (thread_id(four),)
    assert page(states, start, "Mailbox") == ((), (mailbox_id("INBOX", 7),), ())
    assert "Old" not in given.known  # its mark did not move: not asked
    # The next poll compares with what is left.
    given.now = {"INBOX": Mark(7, 10, 104, 0), "Old": Mark(8, 3, 50, 2)}
    given.vanished = {"INBOX": [1]}
    await others.poll("a")
    assert given.known["INBOX"] == [1]


async def test_new_mail_the_watcher_announced_and_another_client_expunged_is_destroyed() -> None:
    given, states = Given(), LogStates(StateCodec("ep"))
    others = OtherClients(given, given, states)
    given.now = {"INBOX": Mark(7, 10, 100, 0)}
    await others.poll("a")
    start = states.state("a", "Email")
    states.on_events([StoredEvent(1, NewMessage("a", "INBOX", 7, 10), 1.0)])  # the watcher
    announced = states.state("a", "Email")
    given.now = {"INBOX": Mark(7, 12, 103, 1)}
    given.changed = {"INBOX": [11]}  # 10 is gone already; 11 is new
    await others.poll("a")
    ten, eleven = email_id("INBOX", 7, 10), email_id("INBOX", 7, 11)
    assert page(states, start) == ((eleven,), (), ())  # created then destroyed: left out
    assert page(states, announced) == ((eleven,), (), (ten,))
