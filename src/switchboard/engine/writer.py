"""The engine's writer: the IMAP conversations that change mail — flags, moves, deletion.

The server asks in model terms (a mailbox name, its UIDVALIDITY, UIDs, IMAP flags) and never
sees an IMAP connection, command or error, exactly as with the reader
(:mod:`switchboard.engine.reader`). :class:`MailWriter` (``Engine.writer``) runs each call on
the connection the reader would use: the account's warm command connection when the engine
holds the account, else one opened for the call.

Rules:

* The mailbox is opened with SELECT (read-write) and its UIDVALIDITY checked first
  (:class:`~switchboard.engine.errors.StaleMailbox`): UIDs of another UIDVALIDITY would name
  other messages.
* Only the UIDs given are touched. A move uses UID MOVE (RFC 6851) when the server offers it,
  else UID COPY, ``\\Deleted`` on the copied UIDs and UID EXPUNGE of exactly those (RFC 4315
  UIDPLUS); deletion is ``\\Deleted`` and UID EXPUNGE. Plain EXPUNGE or CLOSE would also remove
  what another client had marked ``\\Deleted``, so without UIDPLUS nothing is expunged and the
  call raises :class:`~switchboard.engine.errors.NotSupported` before changing anything.
* A message that is not there (already expunged) is skipped by the server (RFC 3501 §6.4.8);
  :meth:`MailWriter.existing` tells the caller which UIDs exist, so it can report them.
* Only the engine's errors leave (:func:`~switchboard.engine.errors.engine_errors`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

from switchboard.engine.errors import (
    MailboxNotFound,
    NotSupported,
    StaleMailbox,
    engine_errors,
)
from switchboard.engine.reader import (
    Connections,
    check_name,
    refuses_name,
    select_mailbox,
    uid_set,
)
from switchboard.imap import errors as imap
from switchboard.imap.responses import Status
from switchboard.imap.writes import uid_copy, uid_expunge, uid_move, uid_store
from switchboard.model.accounts import AccountConfig

__all__ = ["Capabilities", "Located", "MailWriter"]

# An RFC 8474 objectid: 1-255 of [A-Za-z0-9_-]; anything else is never sent to the server.
_OBJECTID: Final = re.compile(r"[A-Za-z0-9_-]{1,255}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the account's server can do that the writer's choices depend on."""

    move: bool
    uidplus: bool
    objectid: bool


@dataclass(frozen=True, slots=True)
class Located:
    """Where an RFC 8474 EMAILID was found: its mailbox, the UIDVALIDITY and the UID."""

    mailbox: str
    uidvalidity: int
    uid: int


class MailWriter:
    """Changes an account's messages; one call is one conversation.

    Args:
        connections: gives the authenticated connection a call runs on (the reader's).
    """

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    async def capabilities(self, account: AccountConfig) -> Capabilities:
        """MOVE, UIDPLUS and OBJECTID, as the server announced them after login.

        Raises:
            UnknownAccount, ConnectionFailed, AuthenticationFailed: the connection failed.
        """
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                caps = conn.capabilities
        return Capabilities("MOVE" in caps, "UIDPLUS" in caps, "OBJECTID" in caps)

    async def existing(
        self, account: AccountConfig, mailbox: str, uidvalidity: int, uids: Collection[int]
    ) -> dict[int, tuple[str, ...]]:
        """The flags of those of ``uids`` that exist in the mailbox (absent ones left out).

        Raises:
            MailboxNotFound: no such mailbox, or no mailbox can have that name.
            StaleMailbox: the mailbox's UIDVALIDITY is no longer ``uidvalidity``.
            UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: as the reader.
        """
        if not uids:
            return {}
        wanted = set(uids)
        found: dict[int, tuple[str, ...]] = {}
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                await select_mailbox(conn, mailbox, uidvalidity, readonly=True)
                for response in await conn.uid_fetch(uid_set(sorted(wanted)), "(UID FLAGS)"):
                    if response.uid in wanted:
                        found[response.uid] = response.flags or ()
        return found

    async def store_flags(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        uids: Collection[int],
        *,
        add: Collection[str] = (),
        remove: Collection[str] = (),
    ) -> None:
        """Add ``add`` and remove ``remove`` (IMAP flags) on the messages ``uids``.

        Raises:
            ValueError: a flag outside the IMAP grammar (the caller's bug).
            MailboxNotFound, StaleMailbox, UnknownAccount, ConnectionFailed,
                AuthenticationFailed, ImapFailure: as :meth:`existing`.
        """
        if not uids or not (add or remove):
            return
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                await select_mailbox(conn, mailbox, uidvalidity, readonly=False)
                if add:
                    await uid_store(conn, uids, add, add=True)
                if remove:
                    await uid_store(conn, uids, remove, add=False)

    async def move(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        uids: Collection[int],
        target: str,
    ) -> dict[int, int]:
        """Move the messages ``uids`` to the mailbox ``target``.

        Returns:
            Source UID → UID in ``target``, when the server said (COPYUID); else empty.

        Raises:
            MailboxNotFound: the source or the target does not exist.
            NotSupported: the server has neither MOVE nor UIDPLUS (nothing was changed).
            StaleMailbox, UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure:
                as :meth:`existing`.
        """
        if not uids:
            return {}
        check_name(target)
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                caps = conn.capabilities
                if "MOVE" not in caps and "UIDPLUS" not in caps:
                    raise NotSupported("the IMAP server offers neither MOVE nor UIDPLUS")
                await select_mailbox(conn, mailbox, uidvalidity, readonly=False)
                try:
                    if "MOVE" in caps:
                        return await uid_move(conn, uids, target)
                    copied = await uid_copy(conn, uids, target)
                except imap.CommandFailed as exc:
                    if exc.status is Status.NO and (
                        refuses_name(exc) or (exc.code is not None and exc.code.name == "TRYCREATE")
                    ):
                        raise MailboxNotFound(
                            f"no mailbox named {target!r}", mailbox=target, server_text=exc.text
                        ) from None
                    raise
                await uid_store(conn, uids, ("\\Deleted",), add=True)
                await uid_expunge(conn, uids)
                return copied

    async def destroy(
        self, account: AccountConfig, mailbox: str, uidvalidity: int, uids: Collection[int]
    ) -> None:
        """Delete the messages ``uids`` for good: ``\\Deleted``, then UID EXPUNGE of just them.

        Raises:
            NotSupported: the server lacks UIDPLUS (nothing was changed).
            MailboxNotFound, StaleMailbox, UnknownAccount, ConnectionFailed,
                AuthenticationFailed, ImapFailure: as :meth:`existing`.
        """
        if not uids:
            return
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                if "UIDPLUS" not in conn.capabilities:
                    raise NotSupported("the IMAP server lacks UIDPLUS (RFC 4315)")
                await select_mailbox(conn, mailbox, uidvalidity, readonly=False)
                await uid_store(conn, uids, ("\\Deleted",), add=True)
                await uid_expunge(conn, uids)

    async def locate(
        self,
        account: AccountConfig,
        mailboxes: Sequence[tuple[str, int]],
        emailids: Collection[str],
    ) -> dict[str, Located]:
        """Find RFC 8474 EMAILIDs in the given ``(mailbox, uidvalidity)`` pairs.

        Each id is looked for with ``UID SEARCH EMAILID``; the first mailbox that holds it
        wins. Ids that are not objectids, mailboxes that vanished or changed UIDVALIDITY are
        skipped. An empty result without OBJECTID.

        Raises:
            UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: as the reader.
        """
        pending = {e for e in emailids if _OBJECTID.fullmatch(e)}
        found: dict[str, Located] = {}
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                if "OBJECTID" not in conn.capabilities:
                    return {}
                for mailbox, uidvalidity in mailboxes:
                    if not pending:
                        break
                    try:
                        await select_mailbox(conn, mailbox, uidvalidity, readonly=True)
                    except (MailboxNotFound, StaleMailbox):
                        continue
                    for emailid in sorted(pending):
                        uids = await conn.uid_search(f"EMAILID {emailid}")
                        if uids:
                            found[emailid] = Located(mailbox, uidvalidity, uids[0])
                    pending -= found.keys()
        return found
