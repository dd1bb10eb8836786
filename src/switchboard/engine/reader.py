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
* ``UID FETCH`` runs in chunks of :data:`FETCH_CHUNK` UIDs; a plan's second stage fetches each
  message's extra sections right after its first result.
* Only the engine's errors leave (:func:`~switchboard.engine.errors.engine_errors`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Final

from switchboard.engine.errors import (
    ImapFailure,
    MailboxNotFound,
    StaleMailbox,
    engine_errors,
)
from switchboard.engine.fetchplan import fetch_items, fetched_message, section_items, with_sections
from switchboard.imap import errors as imap
from switchboard.imap.connection import ImapConnection
from switchboard.imap.responses import Status
from switchboard.mail.utf7 import decode_mailbox
from switchboard.model.accounts import AccountConfig
from switchboard.model.mail import FetchedMessage, FetchPlan, MailboxInfo

__all__ = ["FETCH_CHUNK", "MAX_NAME_BYTES", "Connections", "MailReader", "refuses_name"]

FETCH_CHUNK: Final = 500
"""Most UIDs per ``UID FETCH`` command line (servers limit line length; 500 UIDs ~ 4 KB)."""

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
        found: list[MailboxInfo] = []
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                for item in await conn.list("", "*"):
                    flags = {flag.lower() for flag in item.flags}
                    uidvalidity = None
                    if "\\noselect" not in flags and "\\nonexistent" not in flags:
                        try:
                            status = await conn.status(item.name, ("UIDVALIDITY",))
                        except imap.MailboxNotFound:
                            continue  # deleted between LIST and STATUS
                        uidvalidity = status.get("UIDVALIDITY")
                        if uidvalidity is None:
                            raise ImapFailure(f"STATUS of {item.name!r} gave no UIDVALIDITY")
                    display = decode_mailbox(item.name, strict=False)
                    found.append(
                        MailboxInfo(item.name, display, uidvalidity, item.flags, item.delimiter)
                    )
        return found

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
                await _examine(conn, mailbox, uidvalidity)
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
        items = fetch_items(plan)
        wanted = sorted(set(uids))
        found: dict[int, FetchedMessage] = {}
        with engine_errors(account.host, account.port):
            async with self._connections(account) as conn:
                await _examine(conn, mailbox, uidvalidity)
                for start in range(0, len(wanted), FETCH_CHUNK):
                    chunk = wanted[start : start + FETCH_CHUNK]
                    chunk_set = set(chunk)
                    for response in await conn.uid_fetch(",".join(map(str, chunk)), items):
                        if response.uid is None or response.uid not in chunk_set:
                            continue  # a flag update, or a `*` match outside the set
                        message = fetched_message(response, plan)
                        if plan.second_stage is not None:
                            message = await _second_stage(conn, message, plan)
                        found[message.uid] = message
        return [found[uid] for uid in sorted(found)]


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


async def _examine(conn: ImapConnection, mailbox: str, uidvalidity: int) -> None:
    """EXAMINE (read-only: never sets \\Seen) and check that ``uidvalidity`` still holds.

    Raises:
        MailboxNotFound: no mailbox can have that name, or the server refuses it as such.
        StaleMailbox: the UIDVALIDITY changed.
        imap.errors.CommandFailed: the server refused for another reason.
    """
    if _CONTROL.search(mailbox) is not None:
        raise MailboxNotFound(f"no mailbox named {mailbox!r}: control character", mailbox=mailbox)
    if len(mailbox.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise MailboxNotFound(
            f"no mailbox name is over {MAX_NAME_BYTES} bytes long", mailbox=mailbox
        )
    try:
        info = await conn.select(mailbox, readonly=True)
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
