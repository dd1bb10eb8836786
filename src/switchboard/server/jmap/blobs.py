"""Downloads of messages and their parts from IMAP: the :class:`BlobSource` of the mail methods.

A blob id names an email (:mod:`switchboard.jmap.ids`): ``b…`` is the raw message, streamed
from IMAP in partial ``BODY.PEEK[]`` chunks, with ``Content-Length`` (its RFC822.SIZE) and
type ``message/rfc822`` — read whole first up to :data:`PRELOAD_BYTES`, streamed while the
download runs beyond; ``p{section}_…`` is one MIME part, its transfer
encoding undone (RFC 8621 §4.1.4: a part's blob is its decoded content), sent whole with the
part's own type. An id that does not parse, a mailbox, UIDVALIDITY or UID that no longer
exists, or a section the message does not have is ``None`` (a 404). The engine's connection
and server errors pass through (a 503).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from switchboard.engine.errors import MailboxNotFound, StaleMailbox
from switchboard.engine.jmapreader import JmapReader
from switchboard.jmap.ids import UnknownIdError, parse_blob_id
from switchboard.mail.encodings import decode_transfer
from switchboard.server.jmap.locate import AccountMail
from switchboard.server.jmap.registry import Blob
from switchboard.server.mailops import AccountConfigs

__all__ = ["PRELOAD_BYTES", "ImapBlobs"]

PRELOAD_BYTES = 1 << 20
"""A message up to this size is read whole before it is sent, so a slow client does not hold
the account's IMAP connection; a larger one is streamed while the connection is held."""


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class ImapBlobs:
    """Blobs read from the accounts' IMAP servers.

    Args:
        reader: the engine's JMAP reader.
        accounts: the accounts' settings.
    """

    def __init__(self, reader: JmapReader, accounts: AccountConfigs) -> None:
        self._reader = reader
        self._accounts = accounts

    @asynccontextmanager
    async def open_blob(self, account_id: str, blob_id: str) -> AsyncIterator[Blob | None]:
        """Open the message or part ``blob_id`` names (see the module doc)."""
        try:
            wanted = parse_blob_id(blob_id)
        except UnknownIdError:
            yield None
            return
        mail = AccountMail.of(self._reader, self._accounts, account_id)
        ref = await mail.email(wanted.email_id)
        if ref is None:
            yield None
            return
        if wanted.section is not None:
            try:
                found = await self._reader.part(
                    mail.config, ref.mailbox, ref.uidvalidity, ref.uid, wanted.section
                )
            except (MailboxNotFound, StaleMailbox):
                found = None
            if found is None:
                yield None
                return
            part, data = found
            content = decode_transfer(data, part.encoding)
            yield Blob(_once(content), len(content), f"{part.maintype}/{part.subtype}")
            return
        async with AsyncExitStack() as stack:
            try:
                raw = await stack.enter_async_context(
                    self._reader.open_message(mail.config, ref.mailbox, ref.uidvalidity, ref.uid)
                )
            except (MailboxNotFound, StaleMailbox):
                raw = None
            if raw is None:
                yield None
                return
            if raw.size > PRELOAD_BYTES:
                yield Blob(raw.chunks, raw.size, "message/rfc822")
                return
            # Read whole, and the connection is free before the client reads a byte.
            data = b"".join([chunk async for chunk in raw.chunks])
            await stack.aclose()
            yield Blob(_once(data), len(data), "message/rfc822")
