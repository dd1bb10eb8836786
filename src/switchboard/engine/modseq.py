"""What other IMAP clients changed: CONDSTORE (RFC 7162) marks and ``CHANGEDSINCE`` fetches.

The ``newMessage`` watcher sees new UIDs only. A flag set by another mail client, or a message
it added to a mailbox nobody watches, shows in the mailbox's HIGHESTMODSEQ instead: every
change gets a higher mod-sequence. :class:`ModseqReader` (``Engine.modseq``) takes a *mark* of
each mailbox — UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, from one STATUS — and asks, of a mailbox
whose HIGHESTMODSEQ moved past an older mark, which UIDs changed after it
(``UID FETCH 1:* (UID) (CHANGEDSINCE m)``), on the reader's connection.

Expunges by other clients: QRESYNC's ``VANISHED`` would name them, but ENABLE QRESYNC changes
every later EXPUNGE response on the connection, which the reader shares with the writer. So
they are found by comparison instead: :meth:`ModseqReader.present` lists a mailbox's UIDs
(``UID SEARCH ALL``) when its first mark is taken, and :meth:`ModseqReader.changes_since`, in
the same SELECT as the ``CHANGEDSINCE`` fetch, checks the mailbox's EXISTS against the UIDs
known plus the new ones. Only when they differ (something was expunged) does it search again,
and the UIDs known but no longer listed are *vanished*. A server with QRESYNC moves
HIGHESTMODSEQ at an expunge (RFC 7162 asks it to; Dovecot does), so a mailbox whose mark did not
move needs no look; on a server with CONDSTORE alone that does not, an expunge is found with the
mailbox's next other change.

Rules:

* Servers without CONDSTORE get no marks (an empty map), and so no changes are read.
* The caller takes the new marks *before* asking what changed since the old ones, so a change
  racing the fetch has a higher mod-sequence than the new mark and is found next time.
* A mailbox whose UIDVALIDITY changed raises :class:`~switchboard.engine.errors.StaleMailbox`.
* Only the engine's errors leave (:func:`~switchboard.engine.errors.engine_errors`).
* UID lists are kept as ``array('I')`` (4 octets a message): the known UIDs of a 100,000
  message mailbox take 400 kB.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from switchboard.engine.errors import (
    ImapFailure,
    MailboxNotFound,
    StaleMailbox,
    engine_errors,
)
from switchboard.engine.reader import Connections
from switchboard.imap import errors as imap
from switchboard.imap.connection import ImapConnection
from switchboard.imap.state import ConnectionState, SelectInfo
from switchboard.model.accounts import AccountConfig

__all__ = ["Changes", "Mark", "ModseqReader", "UidList"]

_STATUS_ITEMS = ("UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ", "MESSAGES")

UidList: TypeAlias = "array[int]"
"""A mailbox's UIDs, ascending, as ``array('I')``."""


@dataclass(frozen=True, slots=True)
class Mark:
    """A mailbox at one moment: UIDs below ``uidnext`` existed, changes up to ``modseq`` seen."""

    uidvalidity: int
    uidnext: int
    modseq: int
    messages: int = 0


@dataclass(frozen=True, slots=True)
class Changes:
    """What happened in a mailbox after a mark.

    Attributes:
        changed: UIDs whose flags changed, or that arrived, after the mark (ascending).
        vanished: UIDs of the ``known`` list that are no longer in the mailbox (ascending).
        present: the UIDs in the mailbox now (the ``known`` of the next call).
    """

    changed: list[int]
    vanished: list[int]
    present: UidList


class ModseqReader:
    """Reads mailboxes' CONDSTORE marks and what changed since them.

    Args:
        connections: gives the authenticated connection a call runs on (the reader's).
    """

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    async def marks(self, account: AccountConfig) -> dict[str, Mark]:
        """Every selectable mailbox's mark (LIST, then STATUS); empty without CONDSTORE.

        Raises:
            UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: as the reader.
        """
        found: dict[str, Mark] = {}
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                if "CONDSTORE" not in conn.capabilities:
                    return {}
                if conn.state is ConnectionState.SELECTED:
                    # STATUS of the selected mailbox may answer from the session's view, which
                    # changes of other sessions reach only at a NOOP (Dovecot does so).
                    await conn.noop()
                for item in await conn.list("", "*"):
                    flags = {flag.lower() for flag in item.flags}
                    if "\\noselect" in flags or "\\nonexistent" in flags:
                        continue
                    try:
                        status = await conn.status(item.name, _STATUS_ITEMS)
                    except imap.MailboxNotFound:
                        continue  # deleted between LIST and STATUS
                    found[item.name] = _mark(item.name, status)
        return found

    async def changed_since(
        self, account: AccountConfig, mailbox: str, mark: Mark
    ) -> list[int]:
        """The UIDs whose flags changed, or that arrived, after ``mark`` (ascending).

        Raises:
            MailboxNotFound: the mailbox is gone.
            StaleMailbox: its UIDVALIDITY is no longer the mark's.
            UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: as the reader.
        """
        return (await self.changes_since(account, mailbox, mark, None)).changed

    async def present(self, account: AccountConfig, mailbox: str, mark: Mark) -> UidList:
        """The UIDs now in ``mailbox`` (``UID SEARCH ALL``; nothing is asked when empty).

        Raises:
            as :meth:`changed_since`.
        """
        if mark.messages == 0:  # mail arriving after the mark is new mail, found as such
            return array("I")
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                info = await _examine(conn, mailbox, mark)
                if info.exists == 0:
                    return array("I")
                return array("I", await conn.uid_search("ALL"))

    async def changes_since(
        self, account: AccountConfig, mailbox: str, mark: Mark, known: UidList | None
    ) -> Changes:
        """What changed after ``mark``, and which of the ``known`` UIDs vanished.

        With ``known`` ``None`` nothing can be said to have vanished, and the mailbox is
        searched for its UIDs.

        Raises:
            as :meth:`changed_since`.
        """
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                info = await _examine(conn, mailbox, mark)
                if info.exists == 0:
                    return Changes([], list(known or ()), array("I"))
                responses = await conn.uid_fetch("1:*", f"(UID) (CHANGEDSINCE {mark.modseq})")
                changed = sorted({r.uid for r in responses if r.uid is not None})
                if known is not None:
                    new = [u for u in changed if u >= mark.uidnext and not _holds(known, u)]
                    if info.exists == len(known) + len(new):  # nothing known is gone
                        return Changes(changed, [], array("I", sorted({*known, *new})))
                present = array("I", await conn.uid_search("ALL"))
                if known is None:
                    return Changes(changed, [], present)
                now = set(present)
                return Changes(changed, [u for u in known if u not in now], present)


async def _examine(conn: ImapConnection, mailbox: str, mark: Mark) -> SelectInfo:
    try:
        info = await conn.select(mailbox, readonly=True)
    except imap.MailboxNotFound as exc:
        raise MailboxNotFound(
            f"no mailbox named {mailbox!r}", mailbox=mailbox, server_text=exc.text
        ) from None
    if info.uidvalidity != mark.uidvalidity:
        raise StaleMailbox(mailbox, mark.uidvalidity, info.uidvalidity)
    return info


def _holds(uids: Sequence[int], uid: int) -> bool:
    at = bisect.bisect_left(uids, uid)
    return at < len(uids) and uids[at] == uid


def _mark(mailbox: str, status: dict[str, int]) -> Mark:
    try:
        return Mark(
            status["UIDVALIDITY"],
            status["UIDNEXT"],
            status["HIGHESTMODSEQ"],
            status.get("MESSAGES", 0),
        )
    except KeyError as exc:
        raise ImapFailure(f"STATUS of {mailbox!r} gave no {exc.args[0]}") from None
