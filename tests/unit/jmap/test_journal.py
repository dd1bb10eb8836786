"""Tests for jmap.journal: numbering, per-type states, trimming and resets."""

from __future__ import annotations

import pytest

from switchboard.jmap import journal as journal_module
from switchboard.jmap.errors import CannotCalculateChanges
from switchboard.jmap.journal import Edit, Journal
from switchboard.jmap.state import ChangeKind, StateCodec, changes_since

CODEC = StateCodec("ep")


def page(journal: Journal, account: str, since: int, data_type: str = "Email") -> tuple:
    found = journal.account(account)
    result = changes_since(
        CODEC, CODEC.encode(since), found.changes(data_type, 0),
        oldest=found.oldest, current=found.state(data_type),
    )  # fmt: skip
    return result.created, result.updated, result.destroyed


def test_numbers_are_shared_and_states_are_per_type() -> None:
    journal = Journal()
    assert journal.record("a", [Edit("Email", "e1", ChangeKind.CREATED)], ("EmailDelivery",)) == 1
    assert journal.record("b", [Edit("Mailbox", "m1", ChangeKind.UPDATED)]) == 2
    assert journal.account("a").states == {"Email": 1, "EmailDelivery": 1}
    assert journal.account("b").state("Email") == 0 and journal.seq == 2
    assert page(journal, "a", 0) == (("e1",), (), ())
    assert page(journal, "b", 0, "Mailbox") == ((), ("m1",), ())


def test_created_then_destroyed_is_nothing() -> None:
    journal = Journal()
    journal.record("a", [Edit("Email", "e1", ChangeKind.CREATED)])
    journal.record("a", [Edit("Email", "e1", ChangeKind.DESTROYED),
                         Edit("Email", "e2", ChangeKind.CREATED)])  # fmt: skip
    assert page(journal, "a", 0) == (("e2",), (), ())
    assert page(journal, "a", 1) == (("e2",), (), ("e1",))


def test_trimmed_history_cannot_be_continued(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "MAX_CHANGES_KEPT", 2)
    journal = Journal()
    for n in range(4):
        journal.record("a", [Edit("Email", f"e{n}", ChangeKind.CREATED)])
    assert journal.account("a").oldest == 2
    with pytest.raises(CannotCalculateChanges):
        page(journal, "a", 1)
    assert page(journal, "a", 2) == (("e2", "e3"), (), ())  # e2 is number 3


def test_a_reset_voids_earlier_states() -> None:
    journal = Journal()
    journal.record("a", [Edit("Email", "e1", ChangeKind.CREATED)])
    assert journal.reset("a") == 2
    with pytest.raises(CannotCalculateChanges):
        page(journal, "a", 1)
    assert page(journal, "a", 2) == ((), (), ())
    assert journal.account("a").state("Thread") == 2
