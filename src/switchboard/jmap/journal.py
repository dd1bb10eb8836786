"""An account's recent JMAP changes, in memory: what ``Foo/changes`` and push are computed from.

How it works: every change Switchboard observes gets the next number of one counter (a
*sequence number*, shared by all accounts so that it only grows): a new message the engine
announced (the Email is created, its Mailbox and Thread change, an ``EmailDelivery`` happened)
and every change our own ``Email/set`` made (keywords → the Email is updated and its Mailbox's
counts change; a move → the Email changes mailboxes, or, when the id names its mailbox, the old
id is destroyed and the new one created; a destroy). The journal keeps, per account, which ids
of which data type changed how at each number, and each type's latest number: that is the
type's state (:mod:`switchboard.jmap.state` encodes it).

What it cannot compute from, it says so (``cannotCalculateChanges``): a state from before the
journal's oldest kept entry (it keeps :data:`MAX_CHANGES_KEPT` changes per account), or from
before a *reset* — a mailbox whose UIDVALIDITY changed or that vanished, after which every id
that names that mailbox means nothing, so the client must resynchronise.

It is pure: no clock, no I/O. The server holds one per process (``LogStates``); the state
strings carry a generation that is new for each process, because a journal that was not kept
across a restart cannot answer for what happened before it.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from switchboard.jmap.state import Change, ChangeKind

__all__ = ["MAX_CHANGES_KEPT", "TYPES", "AccountJournal", "Edit", "Journal"]

TYPES: Final = ("Mailbox", "Email", "Thread", "EmailDelivery")
"""The data types whose states the journal keeps (RFC 8621 §1.5 for EmailDelivery)."""

MAX_CHANGES_KEPT: Final = 20_000
"""Changes kept per account; a state older than the oldest kept one cannot be continued."""


@dataclass(frozen=True, slots=True)
class Edit:
    """One object of one data type changed: ``(type, id, kind)``."""

    data_type: str
    object_id: str
    kind: ChangeKind


@dataclass(slots=True)
class AccountJournal:
    """One account's changes since the process started, newest last."""

    states: dict[str, int] = field(default_factory=dict)
    oldest: int = 0
    entries: collections.deque[tuple[int, Edit]] = field(default_factory=collections.deque)
    created_emails: set[str] = field(default_factory=set)

    def state(self, data_type: str) -> int:
        """The type's state: the number of its last change (0: none since the start)."""
        return self.states.get(data_type, 0)

    def created(self, object_id: str) -> bool:
        """Whether a kept entry reports ``object_id`` (an Email's id) created."""
        return object_id in self.created_emails

    def changes(self, data_type: str, after: int) -> list[Change]:
        """The type's changes numbered ``after`` or later, as /changes pages take them."""
        return [
            Change(seq, edit.object_id, edit.kind)
            for seq, edit in self.entries
            if seq >= after and edit.data_type == data_type
        ]


class Journal:
    """Every account's journal and the shared sequence counter."""

    def __init__(self) -> None:
        self._seq = 0
        self._accounts: dict[str, AccountJournal] = {}

    @property
    def seq(self) -> int:
        """The last number given out (0 before any change)."""
        return self._seq

    def account(self, account_id: str) -> AccountJournal:
        """The account's journal (an empty one for an account without changes)."""
        found = self._accounts.get(account_id)
        if found is None:
            found = self._accounts[account_id] = AccountJournal()
        return found

    def record(self, account_id: str, edits: Iterable[Edit], touched: Sequence[str] = ()) -> int:
        """Record one change made of ``edits`` (plus ``touched`` types whose state moves with
        no id to list, e.g. ``EmailDelivery``); returns its number."""
        self._seq += 1
        journal = self.account(account_id)
        for edit in edits:
            journal.entries.append((self._seq, edit))
            journal.states[edit.data_type] = self._seq
            if edit.kind is ChangeKind.CREATED and edit.data_type == "Email":
                journal.created_emails.add(edit.object_id)
        for data_type in touched:
            journal.states[data_type] = self._seq
        while len(journal.entries) > MAX_CHANGES_KEPT:
            dropped, gone = journal.entries.popleft()
            journal.created_emails.discard(gone.object_id)
            # A mid-entry cursor needs the whole entry: nothing at or before `dropped` is kept.
            journal.oldest = max(journal.oldest, dropped)
        return self._seq

    def reset(self, account_id: str) -> int:
        """Everything about the account changed in a way ids cannot express: states before
        this one cannot be continued; returns its number."""
        self._seq += 1
        journal = self.account(account_id)
        journal.entries.clear()
        journal.created_emails.clear()
        journal.oldest = self._seq
        for data_type in TYPES:
            journal.states[data_type] = self._seq
        return self._seq
