"""Each account's JMAP state strings, the changes behind them, and the notices push runs on.

How it works: a state is a position in this process's change journal
(:mod:`switchboard.jmap.journal`). These changes land there:

- the engine's stored events — the hub hands every batch to :meth:`LogStates.on_events` (a hub
  listener, in the same call that fans ``newMessage`` out): a new message creates an Email and
  its single-message Thread, changes its Mailbox (the counts) and moves ``EmailDelivery``; a
  mailbox whose UIDVALIDITY changed or that vanished *resets* the account, since every id that
  names that mailbox is void;
- the changes our own ``Email/set`` made, and those the CONDSTORE poll of other IMAP clients
  found (:meth:`LogStates.record`, :meth:`LogStates.reset`;
  :mod:`~switchboard.server.jmap.otherclients`).

Either way the listeners (EventSource streams, RFC 8887 sockets) are told at once, so a
``StateChange`` leaves within the same turn of the event loop.

Only accounts whose states were handed out (a method's ``state``, a push's ``StateChange`` or
``pushState``) journal their new mail; for the others a new message only moves the positions,
as a reset does: no client holds a state of theirs to ask changes since, and a state handed
out later starts after it. A server whose clients are workers, not JMAP clients, so spends
nothing per new message on ids nobody asks for (7 µs of the 40 µs a message cost in
``bench/fanout.py``) and keeps no growing journal for each of its accounts.

The codec's epoch names the journal: the server derives it from its secret key (so a state
from another data directory is foreign) plus a generation that is new for each process
(:func:`journal_epoch`), because the journal lives in memory: a state from before a restart
gets ``cannotCalculateChanges`` and the client resynchronises, rather than missing a change the
lost journal held.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence

from switchboard.jmap.ids import UnknownIdError, email_id, mailbox_id, thread_id
from switchboard.jmap.journal import TYPES, AccountJournal, Edit, Journal
from switchboard.jmap.state import ChangeKind, StateCodec
from switchboard.model.events import NewMessage, StoredEvent

__all__ = ["LogStates", "StateListener", "epoch_for_key", "journal_epoch"]

StateListener = Callable[[Mapping[str, int]], None]
"""Told the new position of every account a change moved; must not block or raise."""


def epoch_for_key(secret_key: bytes) -> str:
    """The log's epoch for a server whose secret key is ``secret_key`` (8 base32 characters)."""
    digest = hmac.new(secret_key, b"switchboard jmap state epoch", hashlib.sha256).digest()
    return base64.b32encode(digest[:5]).decode("ascii").lower()


def journal_epoch(log_epoch: str) -> str:
    """The epoch of this process's journal: the log's, a dash and a fresh generation."""
    return f"{log_epoch}-{base64.b32encode(secrets.token_bytes(5)).decode('ascii').lower()}"


def new_message_edits(event: NewMessage) -> list[Edit]:
    """What a new message changed: its Email and Thread are created, its Mailbox updated."""
    try:
        email = email_id(event.mailbox, event.uidvalidity, event.uid)
        mailbox = mailbox_id(event.mailbox, event.uidvalidity)
    except (ValueError, UnknownIdError):
        return []
    return [
        Edit("Email", email, ChangeKind.CREATED),
        Edit("Thread", thread_id(email), ChangeKind.CREATED),
        Edit("Mailbox", mailbox, ChangeKind.UPDATED),
    ]


class LogStates:
    """Accounts' journal positions as JMAP states (implements ``JmapStates``).

    Args:
        codec: the state codec, with this process's journal epoch (:func:`journal_epoch`).
    """

    def __init__(self, codec: StateCodec) -> None:
        self._codec = codec
        self._journal = Journal()
        self._listeners: dict[int, StateListener] = {}
        self._reach: dict[int, Callable[[str], bool]] = {}
        self._ids = itertools.count()
        self._used: set[str] = set()
        # Accounts some state of which was handed out: only they journal the engine's events.
        self._observed: set[str] = set()
        self._on_first_use: Callable[[str], None] | None = None

    def on_first_use(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(account)`` the first time a method hands out one of the account's
        states (:meth:`state`; the CONDSTORE poll takes its first marks then)."""
        self._on_first_use = callback

    def forget_use(self, account_id: str) -> None:
        """The next state handed out for the account is a first use again."""
        self._used.discard(account_id)

    def _use(self, account_id: str) -> None:
        if account_id not in self._used:
            self._used.add(account_id)
            if self._on_first_use is not None:
                self._on_first_use(account_id)

    @property
    def codec(self) -> StateCodec:
        """The codec of this server's journal."""
        return self._codec

    def journal(self, account_id: str) -> AccountJournal:
        """The account's changes (for ``Foo/changes``)."""
        return self._journal.account(account_id)

    def position(self, account_id: str) -> int:
        """The account's latest position, whatever type changed."""
        return max(self._journal.account(account_id).states.values(), default=0)

    def state(self, account_id: str, data_type: str) -> str:
        """The state string of ``data_type`` in the account."""
        self._use(account_id)
        self._observed.add(account_id)
        return self._codec.encode(self._journal.account(account_id).state(data_type))

    def states_of(self, account_id: str) -> dict[str, str]:
        """Every pushed type's state in the account (a StateChange's entry).

        Not a first use: a push stream of a worker token reaching every account must not
        start a CONDSTORE poll of each of them.
        """
        self._observed.add(account_id)
        journal = self._journal.account(account_id)
        return {t: self._codec.encode(journal.state(t)) for t in TYPES}

    def push_state(self, account_ids: Iterable[str]) -> str:
        """One state for a set of accounts (RFC 8887 ``pushState``): their latest position."""
        account_ids = list(account_ids)
        self._observed.update(account_ids)
        return self._codec.encode(max((self.position(a) for a in account_ids), default=0))

    def listen(
        self, listener: StateListener, reaches: Callable[[str], bool] | None = None
    ) -> Callable[[], None]:
        """Call ``listener`` with every change from now on; returns what stops it.

        ``reaches`` says which accounts the listener is there for (:meth:`listened`).
        """
        key = next(self._ids)
        self._listeners[key] = listener
        if reaches is not None:
            self._reach[key] = reaches

        def stop() -> None:
            self._listeners.pop(key, None)
            self._reach.pop(key, None)

        return stop

    def listened(self, account_id: str) -> bool:
        """Whether a push stream or socket for the account is open now."""
        return any(reaches(account_id) for reaches in tuple(self._reach.values()))

    def record(self, account_id: str, edits: Sequence[Edit]) -> None:
        """Journal one change our own methods made and tell the listeners."""
        if edits:
            self._tell({account_id: self._journal.record(account_id, edits)})

    def reset(self, account_id: str) -> None:
        """Every id naming one of the account's mailboxes may be void: earlier states cannot
        be continued (journaled, and the listeners told)."""
        self._tell({account_id: self._journal.reset(account_id)})

    def on_events(self, events: Sequence[StoredEvent]) -> None:
        """Journal the engine's stored events and tell the listeners (a hub listener)."""
        changed: dict[str, int] = {}
        for stored in events:
            event = stored.event
            if event.account_id not in self._observed:
                # Nobody holds a state to continue: the positions move, nothing is kept.
                position = self._journal.reset(event.account_id)
            elif isinstance(event, NewMessage):
                journal = self._journal.account(event.account_id)
                edits = new_message_edits(event)
                if edits and journal.created(edits[0].object_id):
                    edits = []  # a CONDSTORE poll found it first: created once, not twice
                position = self._journal.record(event.account_id, edits, ("EmailDelivery",))
            else:  # UidValidityChanged, MailboxGone: ids naming the mailbox are void
                position = self._journal.reset(event.account_id)
            changed[event.account_id] = position
        if changed:
            self._tell(changed)

    def _tell(self, changed: Mapping[str, int]) -> None:
        for listener in tuple(self._listeners.values()):
            listener(changed)
