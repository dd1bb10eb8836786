"""Tests for server.jmap.states: the journal behind the states, resets, listeners, the epoch."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from switchboard.jmap.errors import CannotCalculateChanges
from switchboard.jmap.ids import email_id, mailbox_id, thread_id
from switchboard.jmap.journal import Edit
from switchboard.jmap.state import ChangeKind, StateCodec, changes_since
from switchboard.model.events import MailboxGone, NewMessage, StoredEvent, UidValidityChanged
from switchboard.server.jmap.states import LogStates, epoch_for_key, journal_epoch


def stored(event_id: int, account: str, uid: int | None = None) -> StoredEvent:
    return StoredEvent(event_id, NewMessage(account, "INBOX", 7, uid or event_id), 1.0)


def email_changes(states: LogStates, account: str, since: str) -> tuple[tuple[str, ...], ...]:
    journal = states.journal(account)
    page = changes_since(
        states.codec, since, journal.changes("Email", 0),
        oldest=journal.oldest, current=journal.state("Email"),
    )  # fmt: skip
    return page.created, page.updated, page.destroyed


def test_new_mail_moves_every_type_and_is_an_email_created() -> None:
    states = LogStates(StateCodec("ep"))
    assert states.state("a", "Email") == "ep:0"
    seen: list[Mapping[str, int]] = []
    stop = states.listen(seen.append)
    states.on_events([stored(11, "a"), stored(12, "b"), stored(13, "a")])
    assert seen == [{"a": 3, "b": 2}]
    assert states.states_of("a") == {
        "Mailbox": "ep:3", "Email": "ep:3", "Thread": "ep:3", "EmailDelivery": "ep:3",
    }  # fmt: skip
    assert states.position("c") == 0
    assert states.push_state(["a", "b", "c"]) == "ep:3"
    created = (email_id("INBOX", 7, 11), email_id("INBOX", 7, 13))
    assert email_changes(states, "a", "ep:0") == (created, (), ())
    journal = states.journal("a")
    assert {c.object_id for c in journal.changes("Thread", 0)} == {thread_id(e) for e in created}
    assert {c.object_id for c in journal.changes("Mailbox", 0)} == {mailbox_id("INBOX", 7)}
    stop()
    states.on_events([stored(14, "b")])
    assert len(seen) == 1 and states.position("b") == 4


def test_our_own_changes_move_email_but_not_email_delivery() -> None:
    states = LogStates(StateCodec("ep"))
    assert states.state("a", "Email") == "ep:0"
    states.on_events([stored(1, "a")])
    seen: list[Mapping[str, int]] = []
    states.listen(seen.append)
    email = email_id("INBOX", 7, 1)
    states.record("a", [Edit("Email", email, ChangeKind.UPDATED)])
    assert seen == [{"a": 2}]
    assert states.states_of("a")["Email"] == "ep:2"
    assert states.states_of("a")["EmailDelivery"] == "ep:1"
    assert email_changes(states, "a", "ep:1") == ((), (email,), ())
    assert email_changes(states, "a", "ep:0") == ((email,), (), ())  # created, then updated
    states.record("a", [])  # nothing changed: no new state, nobody told
    assert len(seen) == 1


def test_new_mail_of_an_account_nobody_observes_moves_its_states_and_keeps_nothing() -> None:
    states = LogStates(StateCodec("ep"))
    seen: list[Mapping[str, int]] = []
    states.listen(seen.append)
    states.on_events([stored(1, "w"), stored(2, "w")])
    assert seen == [{"w": 2}]  # listeners are told all the same
    journal = states.journal("w")
    assert list(journal.entries) == [] and journal.oldest == 2
    with pytest.raises(CannotCalculateChanges):  # nobody was given ep:0 for this account
        email_changes(states, "w", "ep:0")
    # Once a state is handed out, what follows it is journaled and can be continued.
    handed = states.state("w", "Email")
    assert handed == "ep:2"
    states.on_events([stored(3, "w", uid=3)])
    assert email_changes(states, "w", handed) == ((email_id("INBOX", 7, 3),), (), ())


@pytest.mark.parametrize("observe", ["state", "states_of", "push_state"])
def test_every_way_a_state_leaves_makes_the_account_journal(observe: str) -> None:
    states = LogStates(StateCodec("ep"))
    if observe == "state":
        states.state("a", "Mailbox")
    elif observe == "states_of":
        states.states_of("a")
    else:
        states.push_state(["a"])
    states.on_events([stored(5, "a")])
    assert email_changes(states, "a", "ep:0") == ((email_id("INBOX", 7, 5),), (), ())


@pytest.mark.parametrize(
    "event",
    [UidValidityChanged("a", "INBOX", 7, 8), MailboxGone("a", "INBOX", "deleted")],
)
def test_a_mailbox_whose_ids_died_resets_the_account(
    event: UidValidityChanged | MailboxGone,
) -> None:
    states = LogStates(StateCodec("ep"))
    states.on_events([stored(1, "a")])
    before = states.state("a", "Email")
    states.on_events([StoredEvent(2, event, 1.0)])
    with pytest.raises(CannotCalculateChanges):
        email_changes(states, "a", before)
    assert email_changes(states, "a", states.state("a", "Email")) == ((), (), ())


def test_the_epoch_is_a_function_of_the_key_and_the_journal_is_per_process() -> None:
    one, two = epoch_for_key(b"k" * 32), epoch_for_key(b"j" * 32)
    assert one == epoch_for_key(b"k" * 32) and one != two
    assert len(one) == 8 and one.isalnum() and one.islower()
    first, second = journal_epoch(one), journal_epoch(one)
    assert first.startswith(one + "-") and first != second
    # A state of the process before a restart is foreign to the next one.
    with pytest.raises(CannotCalculateChanges):
        changes_since(StateCodec(second), StateCodec(first).encode(0), [], oldest=0, current=0)
