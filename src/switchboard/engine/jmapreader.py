"""The engine's reads for JMAP: mailboxes with their counts, searches, raw messages, parts.

Beside :class:`~switchboard.engine.reader.MailReader`, on the same connections: the account's
warm command connection when the engine holds the account, else one opened for the call. What
it adds:

* :meth:`JmapReader.mailboxes`: LIST, then ``STATUS (MESSAGES UNSEEN UIDVALIDITY)`` of each
  selectable mailbox. Special-use attributes (RFC 6154: ``\\Sent``, ``\\Trash``…) come in the
  LIST attributes, as Dovecot and most servers send them without being asked.
* :meth:`JmapReader.search`: ``UID SEARCH`` with the criteria :mod:`~switchboard.engine.
  searchkeys` writes, then one ``UID FETCH`` of what the caller sorts by (INTERNALDATE and
  RFC822.SIZE always, header fields on request) for the matches, keeping only those whose
  INTERNALDATE is within the exact date bounds. The caller sorts: IMAP SORT is not sent, as the
  command connection has no SORT command yet.
* :meth:`JmapReader.fetch`: as ``MailReader.fetch`` (the same plans), with the second stage
  batched: the messages that need the same sections get them in one ``UID FETCH``.
* :meth:`JmapReader.open_message`: the raw message, read in chunks of
  :data:`CHUNK_BYTES` with partial ``BODY.PEEK[]<offset.length>`` fetches, :data:`READS_AHEAD`
  of them pipelined, so a large message never sits in memory whole and no round trip waits
  between chunks; the connection is held until the caller is done.
* :meth:`JmapReader.part`: one MIME part's octets and its structure, for a part's blob.

Mailboxes are opened with EXAMINE and sections fetched with ``BODY.PEEK``: reading never sets
``\\Seen``. Only the engine's errors leave.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Final

from switchboard.engine.errors import engine_errors
from switchboard.engine.fetchplan import (
    fetch_items,
    fetched_message,
    section_items,
    with_sections,
)
from switchboard.engine.reader import (
    FETCH_CHUNK,
    MailReader,
    discard,
    list_with_status,
    open_mailbox,
    select_mailbox,
    uid_set,
)
from switchboard.engine.searchkeys import ImapSearch, header_matches
from switchboard.imap.connection import ImapConnection
from switchboard.mail.dates import parse_internal_date
from switchboard.model.accounts import AccountConfig
from switchboard.model.mail import BodyPart, BodySection, FetchedMessage, FetchPlan, MailboxInfo

__all__ = ["CHUNK_BYTES", "JmapReader", "MailboxCounts", "RawMessage"]

CHUNK_BYTES: Final = 1024 * 1024
"""Octets per partial fetch of a raw message being downloaded (256 KiB took 1.7x as long for a
10 MB download: bench/fetch.py, docs/benchmarks.md)."""

READS_AHEAD: Final = 2
"""Partial fetches of a download in flight at once (at most this many chunks held)."""


@dataclass(frozen=True, slots=True)
class MailboxCounts:
    """A mailbox with what JMAP counts: messages and unseen messages (STATUS).

    ``messages`` and ``unseen`` are 0 for a mailbox that cannot be selected.
    """

    info: MailboxInfo
    messages: int = 0
    unseen: int = 0


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message being read: its size and its octets, chunk by chunk (read once)."""

    size: int
    chunks: AsyncIterator[bytes] = field(repr=False)


class JmapReader:
    """Reads for the JMAP methods, on the connections of ``reader``.

    Args:
        reader: the engine's reader (:attr:`Engine.reader`); its connections are used.
    """

    def __init__(self, reader: MailReader) -> None:
        self._reader = reader
        self._connections = reader.connections

    async def mailboxes(self, account: AccountConfig) -> list[MailboxCounts]:
        """Every mailbox in LIST order, with its UIDVALIDITY, message and unseen counts.

        A mailbox deleted between LIST and STATUS is left out.

        Raises:
            UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: as
                :meth:`MailReader.list_mailboxes`.
        """
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                listed = await list_with_status(conn, ("MESSAGES", "UNSEEN", "UIDVALIDITY"))
        return [
            MailboxCounts(info, status.get("MESSAGES", 0), status.get("UNSEEN", 0))
            for info, status in listed
        ]

    async def search(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        search: ImapSearch,
        header_fields: tuple[str, ...] = (),
    ) -> list[FetchedMessage]:
        """The messages of one mailbox matching ``search``, with what sorting needs.

        Returns:
            Each match with its UID, INTERNALDATE, RFC822.SIZE and the ``header_fields``
            block, ascending by UID; only those within ``search``'s exact date bounds and
            passing its header checks.

        Raises:
            MailboxNotFound, StaleMailbox: as :meth:`MailReader.message_uids`.
            UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: as
                :meth:`MailReader.list_mailboxes`.
        """
        checked = tuple(field for field, _ in search.header_checks)
        fields = tuple(dict.fromkeys((*header_fields, *checked)))
        plan = FetchPlan(size=True, internal_date=True, header_fields=fields)
        items = fetch_items(plan)
        found: dict[int, FetchedMessage] = {}
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                await select_mailbox(conn, mailbox, uidvalidity, readonly=True)
                uids = sorted(await conn.uid_search(search.criteria))
                for chunk in _chunks(uids):
                    chunk_set = set(chunk)
                    for response in await conn.uid_fetch(uid_set(chunk), items):
                        if response.uid is None or response.uid not in chunk_set:
                            continue
                        message = fetched_message(response, plan)
                        if search.admits(
                            parse_internal_date(message.internal_date)
                        ) and header_matches(message.headers, search.header_checks):
                            found[message.uid] = message
        return [found[uid] for uid in sorted(found)]

    async def fetch(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        uids: Sequence[int],
        plan: FetchPlan,
    ) -> list[FetchedMessage]:
        """What ``plan`` says of the messages ``uids`` that exist, ascending by UID.

        As :meth:`MailReader.fetch`, but the second stage is batched: messages whose first
        result asks for the same sections (the same structure, as a mailbox's messages
        mostly have) get them in one ``UID FETCH``, not one each.

        Raises:
            MailboxNotFound, StaleMailbox: as :meth:`MailReader.message_uids`.
            UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: as
                :meth:`MailReader.list_mailboxes`.
            ValueError: ``plan`` names something IMAP cannot carry (a bug of the caller's).
        """
        items = fetch_items(plan)
        wanted = sorted(set(uids))
        found: dict[int, FetchedMessage] = {}
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                await select_mailbox(conn, mailbox, uidvalidity, readonly=True)
                for chunk in _chunks(wanted):
                    members = set(chunk)
                    for response in await conn.uid_fetch(uid_set(chunk), items):
                        if response.uid is not None and response.uid in members:
                            found[response.uid] = fetched_message(response, plan)
                if plan.second_stage is not None:
                    groups: dict[tuple[BodySection, ...], list[int]] = {}
                    for message in found.values():
                        sections = plan.second_stage(message)
                        if sections:
                            groups.setdefault(sections, []).append(message.uid)
                    for sections, group in groups.items():
                        extra = section_items(sections)
                        for chunk in _chunks(sorted(group)):
                            members = set(chunk)
                            for response in await conn.uid_fetch(uid_set(chunk), extra):
                                got = response.uid
                                if got is not None and got in members:
                                    found[got] = with_sections(found[got], response, sections)
        return [found[uid] for uid in sorted(found)]

    @asynccontextmanager
    async def open_message(
        self, account: AccountConfig, mailbox: str, uidvalidity: int, uid: int
    ) -> AsyncIterator[RawMessage | None]:
        """The raw message ``uid`` (RFC 5322 octets as stored), or ``None`` if it is gone.

        The connection is held while the context is open; the chunks are read from it.

        Raises:
            MailboxNotFound, StaleMailbox: as :meth:`MailReader.message_uids`.
            UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: as
                :meth:`MailReader.list_mailboxes`; also while the chunks are read.
        """
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                opened = await open_mailbox(conn, mailbox, uidvalidity, readonly=True)
                # The size and the first chunk in one command: a message up to CHUNK_BYTES
                # costs one FETCH, written behind the EXAMINE (no round trip between).
                size: int | None = None
                first = b""
                items = f"(UID RFC822.SIZE BODY.PEEK[]<0.{CHUNK_BYTES}>)"
                fetching = asyncio.ensure_future(conn.uid_fetch(str(uid), items))
                try:
                    await opened
                except BaseException:
                    discard(fetching)
                    raise
                for response in await fetching:
                    if response.uid == uid:
                        size = response.size
                        first = response.sections.get("BODY[]<0>") or b""
                if size is None:
                    yield None
                    return

                async def chunks() -> AsyncIterator[bytes]:
                    # READS_AHEAD partial fetches in flight (RFC 3501 §5.5 pipelining): the
                    # next chunks are on their way while one is sent, no round trip between.
                    if not first:
                        return  # the message is gone, or shorter than announced
                    yield first
                    if len(first) != min(CHUNK_BYTES, size):
                        return
                    offsets = iter(range(CHUNK_BYTES, size, CHUNK_BYTES))
                    pending: deque[tuple[int, asyncio.Task[bytes]]] = deque()

                    def read_next() -> None:
                        offset = next(offsets, None)
                        if offset is not None:
                            pending.append((offset, asyncio.ensure_future(
                                _chunk(conn, uid, offset))))

                    with engine_errors(account.host, account.port):
                        try:
                            for _ in range(READS_AHEAD):
                                read_next()
                            while pending:
                                offset, task = pending.popleft()
                                data = await task
                                expected = min(CHUNK_BYTES, size - offset)
                                if len(data) != expected:
                                    # A server may answer pipelined FETCHes out of order (then
                                    # one got another's answer): asked again, alone.
                                    data = await _chunk(conn, uid, offset)
                                if not data:
                                    return  # the message is gone, or shorter than announced
                                read_next()
                                yield data
                                if len(data) != expected:
                                    return
                        finally:
                            for _, task in pending:  # left early, cancelled or failed
                                task.cancel()
                            await asyncio.gather(*(t for _, t in pending),
                                                 return_exceptions=True)

                yield RawMessage(size, chunks())

    async def part(
        self, account: AccountConfig, mailbox: str, uidvalidity: int, uid: int, section: str
    ) -> tuple[BodyPart, bytes] | None:
        """One MIME part's structure and octets (transfer encoding not undone), or ``None``.

        Raises:
            MailboxNotFound, StaleMailbox, UnknownAccount, ConnectionFailed,
                AuthenticationFailed, ImapFailure: as :meth:`fetch`.
            ValueError: ``section`` is not a part number.
        """
        wanted = BodySection(section)
        plan = FetchPlan(body_structure=True, sections=(wanted,))
        messages = await self._reader.fetch(account, mailbox, uidvalidity, [uid], plan)
        if not messages or messages[0].body_structure is None:
            return None
        part = _find_part(messages[0].body_structure, section)
        data = messages[0].sections.get(wanted)
        if part is None or data is None:
            return None
        return part, data


def _chunks(uids: Sequence[int]) -> list[Sequence[int]]:
    return [uids[start : start + FETCH_CHUNK] for start in range(0, len(uids), FETCH_CHUNK)]


async def _chunk(conn: ImapConnection, uid: int, offset: int) -> bytes:
    key = f"BODY[]<{offset}>"
    for response in await conn.uid_fetch(str(uid), f"(UID BODY.PEEK[]<{offset}.{CHUNK_BYTES}>)"):
        if response.uid == uid:
            return response.sections.get(key) or b""
    return b""


def _find_part(body: BodyPart, section: str) -> BodyPart | None:
    """The node of ``body`` that IMAP section ``section`` names (RFC 3501 §6.4.5)."""
    node = body
    for number_text in section.split("."):
        number = int(number_text)
        if node.maintype == "multipart":
            if not 1 <= number <= len(node.parts):
                return None
            node = node.parts[number - 1]
        elif node.maintype == "message" and node.body is not None:
            inner = node.body
            if inner.maintype == "multipart":
                if not 1 <= number <= len(inner.parts):
                    return None
                node = inner.parts[number - 1]
            elif number == 1:
                node = inner
            else:
                return None
        elif number == 1:
            continue  # a single-part body is its own part 1
        else:
            return None
    return node
