"""Changes other IMAP clients made, journaled for /changes: a CONDSTORE poll per account.

How it works: the first time an account's JMAP state is handed out in this process, a mark of
each of its mailboxes is taken in the background (:meth:`OtherClients.prime`;
:mod:`switchboard.engine.modseq`). Each ``Email/changes`` or ``Mailbox/changes`` call first
polls (:meth:`OtherClients.poll`): the mailboxes are marked again, and in each whose
HIGHESTMODSEQ moved the UIDs changed since the old mark are read. A UID at or above the old
UIDNEXT is a new Email (created), any other an Email whose keywords changed (updated); its
Mailbox is updated. With the first marks the UIDs of each mailbox are listed; a UID of that
list that is gone later (another client expunged or moved the message) is a destroyed Email
and Thread, unless the journal has it destroyed already (our own Email/set). So is a UID the
watcher announced (journaled created) that is gone by the next poll. A mailbox that appeared
is a created Mailbox (mail already in it is not listed). A mailbox whose UIDVALIDITY changed,
or that vanished, voids every id that names it: the account is reset. What was found is
journaled like any change, so the states move and a ``StateChange`` is pushed.

Besides, every marked account that a push stream or socket listens to, or that a client
asked about (a state handed out, a /changes call) in the last :data:`INTEREST_S` seconds, is
polled every :data:`POLL_INTERVAL_S` seconds in the background, one account after another, so
a client listening for pushes hears of other clients' changes within that time without calling
/changes. An account nobody shows interest in any more is forgotten, and reset: what changed
while nobody looked is not known, so its earlier states cannot be continued.

Limits, said plainly (docs/jmap.md): a change made between the state's hand-out and the first
mark is not seen; servers without CONDSTORE give no marks, so nothing is polled; the UID
lists cost one EXAMINE and ``UID SEARCH ALL`` per non-empty mailbox when an account is first
marked, and 4 octets per message in memory while the account is polled. Our own Email/set
changes come back as updates of the same ids, which only repeats what the client already knows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Container
from typing import Protocol

from switchboard.engine.errors import EngineError, MailboxNotFound, StaleMailbox
from switchboard.engine.modseq import Changes, Mark, UidList
from switchboard.jmap.ids import email_id, mailbox_id, thread_id
from switchboard.jmap.journal import AccountJournal, Edit
from switchboard.jmap.state import ChangeKind
from switchboard.model.accounts import AccountConfig
from switchboard.server.jmap.states import LogStates

__all__ = ["POLL_INTERVAL_S", "OtherClients"]

POLL_INTERVAL_S = 60.0
"""Seconds between two background polls of the accounts clients ask about."""

INTEREST_S = 1800.0
"""An account is polled in the background this long after a client last asked about it."""

logger = logging.getLogger("switchboard.server")


class Configs(Protocol):
    """Where an account's settings come from (the account registry)."""

    def config(self, account_id: str) -> AccountConfig | None:
        """The account's current settings and credentials, or ``None``."""
        ...


class Marks(Protocol):
    """The engine's CONDSTORE reader (:class:`switchboard.engine.modseq.ModseqReader`)."""

    async def marks(self, account: AccountConfig) -> dict[str, Mark]:
        """Every selectable mailbox's mark; empty without CONDSTORE."""
        ...

    async def present(self, account: AccountConfig, mailbox: str, mark: Mark) -> UidList:
        """The mailbox's UIDs now."""
        ...

    async def changes_since(
        self, account: AccountConfig, mailbox: str, mark: Mark, known: UidList | None
    ) -> Changes:
        """UIDs changed or added after ``mark``, and those of ``known`` that vanished."""
        ...


class OtherClients:
    """Per account: the last marks, and the poll that journals what changed since.

    Args:
        configs: the accounts' settings.
        reader: the engine's CONDSTORE reader.
        states: the journal.
    """

    def __init__(
        self,
        configs: Configs,
        reader: Marks,
        states: LogStates,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._asked: dict[str, float] = {}
        self._configs = configs
        self._reader = reader
        self._states = states
        self._marks: dict[str, dict[str, Mark]] = {}
        self._known: dict[str, dict[str, UidList]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self.interval_s = POLL_INTERVAL_S

    def prime(self, account: str) -> None:
        """Take the account's first marks in the background (a state was just handed out)."""
        self._asked[account] = self._clock()
        try:
            task = asyncio.get_running_loop().create_task(self.poll(account))
        except RuntimeError:
            return  # no loop: nothing runs, nothing to mark
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self._loop is None or self._loop.done():
            self._loop = asyncio.get_running_loop().create_task(self._poll_every_interval())

    async def _poll_every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            since = self._clock() - INTEREST_S
            for account in tuple(self._marks):
                if self._configs.config(account) is None:
                    self._forget(account)  # the account was removed
                elif self._asked.get(account, 0) < since and not self._states.listened(account):
                    self._forget(account)
                    self._states.forget_use(account)  # the next state handed out marks again
                    self._states.reset(account)
                else:
                    await self.poll(account, background=True)

    def _forget(self, account: str) -> None:
        """Drop the account's marks; its next poll takes first marks again."""
        self._marks.pop(account, None)
        self._known.pop(account, None)
        self._locks.pop(account, None)
        self._asked.pop(account, None)

    async def poll(self, account: str, *, background: bool = False) -> None:
        """Journal what changed since the last marks (the first call only marks).

        A call that is not ``background`` (a client's /changes) renews the client's interest.

        The IMAP server's trouble is logged and leaves the marks as they were: what changed
        is then found by a later poll.
        """
        if not background:
            self._asked[account] = self._clock()
        config = self._configs.config(account)
        if config is None:
            return
        lock = self._locks.setdefault(account, asyncio.Lock())
        async with lock:
            try:
                await self._poll(account, config)
            except EngineError as exc:
                logger.warning("could not read other clients' changes of %s: %s", account, exc)

    async def _poll(self, account: str, config: AccountConfig) -> None:
        new = await self._reader.marks(config)
        old = self._marks.get(account)
        if old is None:
            self._known[account] = await self._lists(config, new)
            self._marks[account] = new
            return
        edits: list[Edit] = []
        # New mail the watcher announced is journaled already: created once, not twice.
        journal = self._states.journal(account)
        known = dict(self._known.get(account, {}))
        destroyed = _Destroyed(journal)
        void = any(name not in new for name in old) or any(
            old[name].uidvalidity != mark.uidvalidity for name, mark in new.items() if name in old
        )
        if not void:
            for name, mark in new.items():
                before = old.get(name)
                if before is None:
                    edits += _new_mailbox(name, mark)
                    known.update(await self._lists(config, {name: mark}))
                    continue
                if mark.modseq <= before.modseq:
                    continue
                try:
                    changes = await self._reader.changes_since(
                        config, name, before, known.get(name)
                    )
                except (MailboxNotFound, StaleMailbox):
                    void = True
                    break
                known[name] = changes.present
                edits += _edits(name, before, mark, changes, journal.created, destroyed)
        if void:
            # Every id naming the mailbox is void: list what is there now, then reset.
            known = await self._lists(config, new)
            self._states.reset(account)
        else:
            self._states.record(account, edits)
        self._marks[account] = new
        self._known[account] = {name: uids for name, uids in known.items() if name in new}

    async def _lists(self, config: AccountConfig, marks: dict[str, Mark]) -> dict[str, UidList]:
        """The UIDs of each marked mailbox (one that vanished meanwhile is left out)."""
        lists: dict[str, UidList] = {}
        for name, mark in marks.items():
            try:
                lists[name] = await self._reader.present(config, name, mark)
            except (MailboxNotFound, StaleMailbox):
                continue  # the next marks see it gone or renumbered: a reset
        return lists

    async def close(self) -> None:
        """Cancel the background marks and polls still running."""
        tasks = [*self._tasks, *([self._loop] if self._loop is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop = None


def _new_mailbox(mailbox: str, mark: Mark) -> list[Edit]:
    try:
        return [Edit("Mailbox", mailbox_id(mailbox, mark.uidvalidity), ChangeKind.CREATED)]
    except ValueError:
        return []


class _Destroyed:
    """The Email ids the journal already reports destroyed (read once, when first asked)."""

    def __init__(self, journal: AccountJournal) -> None:
        self._journal = journal
        self._ids: set[str] | None = None

    def __contains__(self, email: object) -> bool:
        if self._ids is None:
            self._ids = {
                edit.object_id
                for _, edit in self._journal.entries
                if edit.data_type == "Email" and edit.kind is ChangeKind.DESTROYED
            }
        return email in self._ids


_MAX_ARRIVALS_CHECKED = 20_000
"""At most this many UIDs that arrived between two marks are checked for a vanished arrival."""


def _edits(
    mailbox: str,
    before: Mark,
    after: Mark,
    changes: Changes,
    created: Callable[[str], bool],
    destroyed: Container[str],
) -> list[Edit]:
    try:
        box = mailbox_id(mailbox, before.uidvalidity)
    except ValueError:
        return []  # a name no id can carry: JMAP does not show that mailbox
    edits: list[Edit] = []
    for uid in changes.changed:
        email = email_id(mailbox, before.uidvalidity, uid)
        if uid >= before.uidnext:
            if created(email):
                continue  # the watcher's newMessage journaled it already
            edits += [
                Edit("Email", email, ChangeKind.CREATED),
                Edit("Thread", thread_id(email), ChangeKind.CREATED),
            ]
        else:
            edits.append(Edit("Email", email, ChangeKind.UPDATED))
    gone = list(changes.vanished)
    # Mail the watcher announced after the old mark and that is gone again: had it stayed, it
    # would be among the changed UIDs (its mod-sequence is above the mark's).
    still = set(changes.changed)
    arrivals = range(before.uidnext, min(after.uidnext, before.uidnext + _MAX_ARRIVALS_CHECKED))
    gone += [
        uid
        for uid in arrivals
        if uid not in still and created(email_id(mailbox, before.uidvalidity, uid))
    ]
    for uid in sorted(set(gone)):
        email = email_id(mailbox, before.uidvalidity, uid)
        if email in destroyed:
            continue  # our own Email/set destroyed or moved it, and journaled that
        edits += [
            Edit("Email", email, ChangeKind.DESTROYED),
            Edit("Thread", thread_id(email), ChangeKind.DESTROYED),
        ]
    if edits or changes.changed:
        edits.insert(0, Edit("Mailbox", box, ChangeKind.UPDATED))
    return edits
