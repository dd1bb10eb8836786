"""The engine's reader: the IMAP conversations behind ``getMailboxes``, ``getMessageList`` and
``getMessages`` (LIST, STATUS, EXAMINE, UID SEARCH, UID FETCH), in the model's terms.

The server asks in :mod:`switchboard.model.mail`'s vocabulary and gets its values back; it never
sees an IMAP connection, command or error. :class:`MailReader` (``Engine.reader``) runs each call
on the account's warm command connection when the engine holds the account, else — a cluster
node serving an account another node watches (docs/scaling.md) — on a connection opened for the
call and logged out after it.

Rules:

* Mailboxes are opened with EXAMINE (read-only) and sections fetched with ``BODY.PEEK``, so
  reading never sets ``\\Seen``; the UIDVALIDITY the caller's UIDs belong to is checked first
  (:class:`~switchboard.engine.errors.StaleMailbox`).
* A name no mailbox can have (a control character, over :data:`MAX_NAME_BYTES`) is refused
  before the server is asked, and a server's NO that refuses the *name* (RFC 5530 NONEXISTENT,
  TRYCREATE, CANNOT, NOPERM, or a codeless "not valid" text) is
  :class:`~switchboard.engine.errors.MailboxNotFound` — the caller's mistake — where any other
  refusal is :class:`~switchboard.engine.errors.ImapFailure` (the server's trouble or ours).
* ``UID FETCH`` runs in chunks (:func:`uid_chunks`: at most :data:`FETCH_CHUNK` UIDs, runs of
  consecutive UIDs written as ``a:b``), :data:`IN_FLIGHT` of them written ahead and answered
  back to back (RFC 3501 §5.5 pipelining): no round trip between chunks, and each chunk's
  messages are handed on (:meth:`MailReader.fetch_chunks`) while the server still sends the
  next. A plan with a second stage fetches each message's extra sections right after its first
  result, one chunk at a time.
* Only the engine's errors leave (:func:`~switchboard.engine.errors.engine_errors`).
"""

from __future__ import annotations

import asyncio
import re
from bisect import bisect_right
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

from switchboard.engine.errors import (
    ImapFailure,
    MailboxNotFound,
    StaleMailbox,
    engine_errors,
)
from switchboard.engine.fetchplan import fetch_items, fetched_message, section_items, with_sections
from switchboard.imap import errors as imap
from switchboard.imap.connection import ImapConnection
from switchboard.imap.responses import Fetch, Status
from switchboard.mail.utf7 import decode_mailbox
from switchboard.model.accounts import AccountConfig
from switchboard.model.mail import FetchedMessage, FetchPlan, MailboxInfo

__all__ = [
    "FETCH_CHUNK",
    "MAX_NAME_BYTES",
    "PIPELINED_CHUNKS",
    "Connections",
    "MailReader",
    "check_name",
    "discard",
    "list_with_status",
    "open_mailbox",
    "refuses_name",
    "select_mailbox",
    "uid_chunks",
    "uid_set",
]

FETCH_CHUNK: Final = 500
"""Most UIDs per ``UID FETCH`` command line (servers limit line length; 500 UIDs ~ 4 KB)."""

PIPELINED_CHUNKS: Final = 8
"""A fetch of many UIDs is cut into about this many commands (of at least :data:`MIN_CHUNK`
UIDs, at most :data:`FETCH_CHUNK`), so that the first chunk's messages are ready while the
server sends the rest."""

MIN_CHUNK: Final = 64

IN_FLIGHT: Final = 3
"""Chunk commands written ahead of the one being read: enough that the server always has the
next, few enough that no command's timeout runs long before its turn."""

MAX_NAME_BYTES: Final = 8000
"""A longer mailbox name is refused before the server is asked: RFC 7162 §4 only asks servers
to take command lines of about 8192 octets, and one over a server's limit is answered BAD
("Too long argument", Dovecot at 64 KiB), which would read as a malformed command of ours."""

# No mailbox name holds a control character: in modified UTF-7 (RFC 3501 §5.1.3) they are
# encoded, and UTF-8 names (RFC 6855 §3) must be Net-Unicode (RFC 5198), which has none. A NUL
# cannot even travel in an IMAP string. Refused before the server is asked.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# NO response codes (RFC 5530 §3) that say the mailbox named can never be opened by this user:
# it does not exist (NONEXISTENT, TRYCREATE), the name is invalid for this server (CANNOT), or
# the ACL hides it (NOPERM). Others — UNAVAILABLE, SERVERBUG, INUSE, LIMIT, … — are the server's
# trouble or ours.
_NAME_REFUSALS: Final = frozenset({"NONEXISTENT", "TRYCREATE", "CANNOT", "NOPERM"})
# Codeless NO texts that refuse a name as invalid: Dovecot 2.3 "Mailbox name is not valid
# mUTF-7", Cyrus and others "Invalid mailbox name".
_INVALID_NAME_TEXTS: Final = ("mailbox name is not valid", "invalid mailbox name")

Connections = Callable[[AccountConfig], AbstractAsyncContextManager[ImapConnection]]
"""Where the reader's connection for an account comes from (the engine decides, see above)."""


def uid_chunks(uids: Sequence[int]) -> list[list[int]]:
    """Cut ascending, distinct ``uids`` into the chunks one fetch pipelines (see the module doc)."""
    size = min(FETCH_CHUNK, max(MIN_CHUNK, -(-len(uids) // PIPELINED_CHUNKS)))
    return [list(uids[start : start + size]) for start in range(0, len(uids), size)]


def uid_set(uids: Sequence[int]) -> str:
    """An IMAP sequence set naming exactly ascending, distinct ``uids``: ``"1:3,7,9:10"``."""
    parts: list[str] = []
    first = last = -1
    for uid in uids:
        if uid == last + 1:
            last = uid
            continue
        if first >= 0:
            parts.append(str(first) if first == last else f"{first}:{last}")
        first = last = uid
    if first >= 0:
        parts.append(str(first) if first == last else f"{first}:{last}")
    return ",".join(parts)


def refuses_name(exc: imap.CommandFailed) -> bool:
    """Whether a failed EXAMINE says the *name* cannot be opened, rather than a fault.

    Only ``NO`` counts: ``BAD`` means the command was malformed, which is ours to fix.
    """
    if exc.status is not Status.NO:
        return False
    if exc.code is not None:
        return exc.code.name in _NAME_REFUSALS
    return exc.text.lower().startswith(_INVALID_NAME_TEXTS)


class MailReader:
    """Reads an account's mailboxes and messages; one call is one conversation.

    Args:
        connections: gives the authenticated connection a call runs on (see the module doc).
    """

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    @property
    def connections(self) -> Connections:
        """Where this reader's connections come from (the JMAP reader shares them)."""
        return self._connections

    async def list_mailboxes(self, account: AccountConfig) -> list[MailboxInfo]:
        """Every mailbox of the account, in the server's LIST order, with its UIDVALIDITY.

        A mailbox that cannot be selected (``\\Noselect``, ``\\NonExistent``) has
        ``uidvalidity`` ``None``; one deleted between LIST and STATUS is left out.

        Raises:
            UnknownAccount: the engine stopped the account meanwhile and has no config for it.
            ConnectionFailed: the server cannot be reached, or the connection broke.
            AuthenticationFailed: the server refused the credentials.
            ImapFailure: the server refused LIST or STATUS, or garbled its answer.
        """
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                return [info for info, _ in await list_with_status(conn, ("UIDVALIDITY",))]

    async def message_uids(
        self, account: AccountConfig, mailbox: str, uidvalidity: int
    ) -> list[int]:
        """Every UID of the mailbox, ascending.

        Raises:
            MailboxNotFound: no such mailbox, or no mailbox can have that name.
            StaleMailbox: the mailbox's UIDVALIDITY is no longer ``uidvalidity``.
            UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: as
                :meth:`list_mailboxes`.
        """
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                await select_mailbox(conn, mailbox, uidvalidity, readonly=True)
                return sorted(await conn.uid_search("ALL"))

    async def fetch(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        uids: Sequence[int],
        plan: FetchPlan,
    ) -> list[FetchedMessage]:
        """Fetch what ``plan`` says of the messages ``uids`` of one mailbox.

        Returns:
            One message per UID that exists, ascending; UIDs that do not exist are left out.

        Raises:
            MailboxNotFound, StaleMailbox: as :meth:`message_uids`.
            UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: as
                :meth:`list_mailboxes`.
            ValueError: ``plan`` names something IMAP cannot carry (a bug of the caller's).
        """
        found: list[FetchedMessage] = []
        async for messages in self.fetch_chunks(account, mailbox, uidvalidity, uids, plan):
            found.extend(messages)
        return found

    async def fetch_chunks(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        uids: Sequence[int],
        plan: FetchPlan,
    ) -> AsyncGenerator[list[FetchedMessage], None]:
        """:meth:`fetch`, chunk by chunk: each chunk's messages as soon as the server sent them.

        Together the chunks hold what :meth:`fetch` returns, in the same order. Leaving the
        loop early cancels the commands still pending: the connection stays usable, and their
        answers are read and dropped when they come.

        Raises:
            As :meth:`fetch`.
        """
        items = fetch_items(plan)
        chunks = uid_chunks(sorted(set(uids)))
        starts = [chunk[0] for chunk in chunks]
        ends = [chunk[-1] for chunk in chunks]
        sets = [set(chunk) for chunk in chunks]
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                opened = await open_mailbox(conn, mailbox, uidvalidity, readonly=True)
                if plan.second_stage is not None:
                    await opened
                    # One chunk at a time: a second stage's FETCH must not be answered among
                    # the FETCH responses of a chunk still pending.
                    for chunk, chunk_set in zip(chunks, sets, strict=True):
                        found = _collect(await conn.uid_fetch(uid_set(chunk), items), plan,
                                         chunk_set)
                        for uid, message in found.items():
                            found[uid] = await _second_stage(conn, message, plan)
                        yield [found[uid] for uid in sorted(found)]
                    return
                pending: list[asyncio.Task[list[Fetch]]] = []

                def write_next() -> None:
                    if len(pending) < len(chunks):
                        chunk = uid_set(chunks[len(pending)])
                        pending.append(asyncio.ensure_future(conn.uid_fetch(chunk, items)))

                # At most IN_FLIGHT commands written ahead: each command's timeout starts when
                # it is written, so it must not wait behind a long queue of others.
                for _ in range(IN_FLIGHT):
                    write_next()
                # A response the server sent among another chunk's (servers may run pipelined
                # commands at once, RFC 3501 §5.5) waits here for its own chunk's turn.
                early: dict[int, FetchedMessage] = {}
                try:
                    # The chunks went out behind the EXAMINE; they count once it passed (else
                    # the finally below drops them).
                    await opened
                    for index in range(len(chunks)):
                        found = {uid: early.pop(uid) for uid in list(early) if uid <= ends[index]}
                        responses = await pending[index]
                        write_next()
                        for response in responses:
                            got = response.uid
                            if got is None:
                                continue
                            at = bisect_right(starts, got) - 1
                            if at < 0 or got not in sets[at]:
                                continue  # a `*` or range match outside the set asked for
                            message = fetched_message(response, plan)
                            if at == index:
                                found[got] = message
                            elif at > index:
                                early[got] = message
                        yield [found[uid] for uid in sorted(found)]
                finally:
                    for task in pending:  # left early, cancelled or failed: no-op when all done
                        task.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)


def _collect(
    responses: Sequence[Fetch], plan: FetchPlan, chunk: set[int]
) -> dict[int, FetchedMessage]:
    """The messages of ``chunk`` among ``responses`` by UID (a later response for a UID wins)."""
    found: dict[int, FetchedMessage] = {}
    for response in responses:
        if response.uid in chunk:
            found[response.uid] = fetched_message(response, plan)
    return found


async def _second_stage(
    conn: ImapConnection, message: FetchedMessage, plan: FetchPlan
) -> FetchedMessage:
    assert plan.second_stage is not None
    sections = plan.second_stage(message)
    if not sections:
        return message
    for response in await conn.uid_fetch(str(message.uid), section_items(sections)):
        if response.uid == message.uid:
            return with_sections(message, response, sections)
    return message


async def list_with_status(
    conn: ImapConnection, items: Sequence[str]
) -> list[tuple[MailboxInfo, dict[str, int]]]:
    """LIST, then ``STATUS`` of each selectable mailbox asking ``items`` (UIDVALIDITY among them).

    Returns:
        Each mailbox in LIST order with its STATUS items; a mailbox that cannot be selected
        (``\\Noselect``, ``\\NonExistent``) has ``uidvalidity`` ``None`` and no items. One deleted
        between LIST and STATUS is left out.

    Raises:
        ImapFailure: a STATUS gave no UIDVALIDITY.
        imap.errors.ImapError: LIST or STATUS failed.
    """
    found: list[tuple[MailboxInfo, dict[str, int]]] = []
    for item in await conn.list("", "*"):
        flags = {flag.lower() for flag in item.flags}
        status: dict[str, int] = {}
        uidvalidity = None
        if "\\noselect" not in flags and "\\nonexistent" not in flags:
            try:
                status = await conn.status(item.name, items)
            except imap.MailboxNotFound:
                continue  # deleted between LIST and STATUS
            uidvalidity = status.get("UIDVALIDITY")
            if uidvalidity is None:
                raise ImapFailure(f"STATUS of {item.name!r} gave no UIDVALIDITY")
        display = decode_mailbox(item.name, strict=False)
        info = MailboxInfo(item.name, display, uidvalidity, item.flags, item.delimiter)
        found.append((info, status))
    return found


def check_name(mailbox: str) -> None:
    """Refuse a name no mailbox can have before the server is asked (see the module doc).

    Raises:
        MailboxNotFound: a control character, or over :data:`MAX_NAME_BYTES`.
    """
    if _CONTROL.search(mailbox) is not None:
        raise MailboxNotFound(f"no mailbox named {mailbox!r}: control character", mailbox=mailbox)
    if len(mailbox.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise MailboxNotFound(
            f"no mailbox name is over {MAX_NAME_BYTES} bytes long", mailbox=mailbox
        )


async def select_mailbox(
    conn: ImapConnection, mailbox: str, uidvalidity: int, *, readonly: bool
) -> None:
    """EXAMINE (``readonly``: never sets \\Seen) or SELECT ``mailbox``, and check that
    ``uidvalidity`` still holds. The reader always examines; the writer selects to change.

    Raises:
        MailboxNotFound: no mailbox can have that name, or the server refuses it as such.
        StaleMailbox: the UIDVALIDITY changed.
        imap.errors.CommandFailed: the server refused for another reason.
    """
    await (await open_mailbox(conn, mailbox, uidvalidity, readonly=readonly))


async def open_mailbox(
    conn: ImapConnection, mailbox: str, uidvalidity: int, *, readonly: bool
) -> asyncio.Future[None]:
    """:func:`select_mailbox` without waiting for the answer: the SELECT/EXAMINE is written,
    and the check of its outcome handed back. The commands the caller starts before awaiting
    it go out behind the EXAMINE in the same flight (no round trip of its own); their results
    count only once the check passed (:func:`discard` them when it raises).

    Raises:
        MailboxNotFound: a name no mailbox can have (before anything is sent); the check
            raises as :func:`select_mailbox`.
    """
    check_name(mailbox)
    selecting = await conn.select_pipelined(mailbox, readonly=readonly)

    async def checked() -> None:
        try:
            info = await selecting
        except imap.MailboxNotFound as exc:
            raise MailboxNotFound(
                f"no mailbox named {mailbox!r}", mailbox=mailbox, server_text=exc.text
            ) from None
        except imap.CommandFailed as exc:
            if not refuses_name(exc):
                raise
            raise MailboxNotFound(
                f"no mailbox named {mailbox!r}: {exc.text}", mailbox=mailbox, server_text=exc.text
            ) from None
        if info.uidvalidity != uidvalidity:
            raise StaleMailbox(mailbox, uidvalidity, info.uidvalidity)

    return asyncio.ensure_future(checked())


def discard(*tasks: asyncio.Future[Any]) -> None:
    """Cancel commands started behind a mailbox that failed to open; their answers (BAD, or
    results for UIDs of another UIDVALIDITY) are dropped, and their errors never logged."""
    for task in tasks:
        task.cancel()
        task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
