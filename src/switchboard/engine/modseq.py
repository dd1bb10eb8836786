"""What other IMAP clients changed: CONDSTORE (RFC 7162) marks and ``CHANGEDSINCE`` fetches.

The ``newMessage`` watcher sees new UIDs only. A flag set by another mail client, or a message
it added to a mailbox nobody watches, shows in the mailbox's HIGHESTMODSEQ instead: every
change gets a higher mod-sequence. :class:`ModseqReader` (``Engine.modseq``) takes a *mark* of
each mailbox — UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, from one STATUS — and asks, of a mailbox
whose HIGHESTMODSEQ moved past an older mark, which UIDs changed after it
(``UID FETCH 1:* (UID) (CHANGEDSINCE m)``), on the reader's connection.

Rules:

* Servers without CONDSTORE get no marks (an empty map), and so no changes are read.
* The caller takes the new marks *before* asking what changed since the old ones, so a change
  racing the fetch has a higher mod-sequence than the new mark and is found next time.
* Expunges are not read: that needs QRESYNC's ``VANISHED``, whose ENABLE would change every
  later EXPUNGE on the shared connection. A mailbox whose UIDVALIDITY changed raises
  :class:`~switchboard.engine.errors.StaleMailbox`.
* Only the engine's errors leave (:func:`~switchboard.engine.errors.engine_errors`).
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.engine.errors import (
    ImapFailure,
    MailboxNotFound,
    StaleMailbox,
    engine_errors,
)
from switchboard.engine.reader import Connections
from switchboard.imap import errors as imap
from switchboard.model.accounts import AccountConfig

__all__ = ["Mark", "ModseqReader"]

_STATUS_ITEMS = ("UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ")


@dataclass(frozen=True, slots=True)
class Mark:
    """A mailbox at one moment: UIDs below ``uidnext`` existed, changes up to ``modseq`` seen."""

    uidvalidity: int
    uidnext: int
    modseq: int


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
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                try:
                    info = await conn.select(mailbox, readonly=True)
                except imap.MailboxNotFound as exc:
                    raise MailboxNotFound(
                        f"no mailbox named {mailbox!r}", mailbox=mailbox, server_text=exc.text
                    ) from None
                if info.uidvalidity != mark.uidvalidity:
                    raise StaleMailbox(mailbox, mark.uidvalidity, info.uidvalidity)
                if info.exists == 0:
                    return []
                responses = await conn.uid_fetch("1:*", f"(UID) (CHANGEDSINCE {mark.modseq})")
                return sorted({r.uid for r in responses if r.uid is not None})


def _mark(mailbox: str, status: dict[str, int]) -> Mark:
    try:
        return Mark(status["UIDVALIDITY"], status["UIDNEXT"], status["HIGHESTMODSEQ"])
    except KeyError as exc:
        raise ImapFailure(f"STATUS of {mailbox!r} gave no {exc.args[0]}") from None
