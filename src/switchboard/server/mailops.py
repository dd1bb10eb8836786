"""The read commands — getMailboxes, getMessageList, getMessages — done over IMAP.

Each runs on the account's command connection (``Engine.command_connection``: one warm,
authenticated connection per account, used by one caller at a time; on a cluster node that
does not watch the account, one opened for the command, see
``AccountRegistry.command_connection``) and returns the response
arguments of docs/protocol.md, "Commands" (what changed from the original: its "Differences
from the 2014 server").
IMAP failures surface as the layer's own exceptions; the session turns them into wire errors,
except where the client chose the mailbox: a name no mailbox can have, or one the IMAP server
refuses as such, is ``mailboxDoesNotExist`` (the client's mistake), never ``serverError`` (ours).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from switchboard.imap.connection import ImapConnection
from switchboard.imap.errors import CommandFailed, MailboxNotFound
from switchboard.imap.responses import Status
from switchboard.imap.utf7 import decode_mailbox
from switchboard.protocol.errors import MailboxDoesNotExist
from switchboard.protocol.ids import MailboxId, MessageId
from switchboard.server.messages import MessagePlan

__all__ = [
    "CommandConnections",
    "get_mailboxes",
    "get_message_list",
    "get_messages",
    "mailboxes_state",
]

# Cap on UIDs per UID FETCH command line (servers limit line length; 500 UIDs ~ 4 KB).
_FETCH_CHUNK = 500

# No mailbox name holds a control character: in modified UTF-7 (RFC 3501 §5.1.3) they are
# encoded, and UTF-8 names (RFC 6855 §3) must be Net-Unicode (RFC 5198), which has none. A NUL
# cannot even travel in an IMAP string. Refused before the server is asked.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# A longer name is refused before the server is asked: RFC 7162 §4 only asks servers to take
# command lines of about 8192 octets, and one over a server's limit is answered BAD ("Too long
# argument", Dovecot at 64 KiB), which would read as a malformed command of ours.
_MAX_NAME_BYTES = 8000

# NO response codes (RFC 5530 §3) that say the mailbox named can never be opened by this user:
# it does not exist (NONEXISTENT, TRYCREATE), the name is invalid for this server (CANNOT), or the
# ACL hides it (NOPERM). Others — UNAVAILABLE, SERVERBUG, INUSE, LIMIT, … — are the server's
# trouble or ours and stay serverError.
_NAME_REFUSALS = frozenset({"NONEXISTENT", "TRYCREATE", "CANNOT", "NOPERM"})
# Codeless NO texts that refuse a name as invalid: Dovecot 2.3 "Mailbox name is not valid
# mUTF-7", Cyrus and others "Invalid mailbox name".
_INVALID_NAME_TEXTS = ("mailbox name is not valid", "invalid mailbox name")

# ``state`` fits a JavaScript number (2**53 - 1; see wirejson.MAX_SAFE_INTEGER): 53 bits.
_STATE_BITS = 53


class CommandConnections(Protocol):
    """Where an account's command connection comes from (the engine, or the account registry)."""

    def command_connection(self, account_id: str) -> AbstractAsyncContextManager[ImapConnection]:
        """An authenticated connection for the account, one caller at a time."""
        ...


def mailboxes_state(entries: Sequence[tuple[str, int]]) -> int:
    """The ``state`` of a mailbox list: the top 53 bits of a SHA-1 over names and UIDVALIDITYs.

    The original hashed one byte per UIDVALIDITY and crashed above 255, and sent all
    160 bits, which a browser's ``JSON.parse`` rounds, so its echo never matched. Any integer
    that stays equal while the set of mailboxes and their UIDVALIDITYs does is acceptable; 53
    bits make a false match after a change a 1 in 9·10^15 chance.
    """
    digest = hashlib.sha1(usedforsecurity=False)
    for name, uidvalidity in entries:
        digest.update(name.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
        digest.update(str(uidvalidity).encode())
        digest.update(b"\n")
    return int.from_bytes(digest.digest(), "big") >> (digest.digest_size * 8 - _STATE_BITS)


async def get_mailboxes(
    connections: CommandConnections, account_id: str, known_state: int | None
) -> dict[str, Any]:
    """``getMailboxes``: selectable mailboxes in descending name order, with ids and ``state``."""
    async with connections.command_connection(account_id) as imap:
        listed = await imap.list("", "*")
        entries: list[tuple[str, int]] = []
        for item in listed:
            flags = {f.lower() for f in item.flags}
            if "\\noselect" in flags or "\\nonexistent" in flags:
                continue
            try:
                status = await imap.status(item.name, ("UIDVALIDITY",))
            except MailboxNotFound:
                continue  # deleted between LIST and STATUS
            entries.append((item.name, status["UIDVALIDITY"]))
    entries.sort(key=lambda entry: entry[0].encode("utf-8", "surrogateescape"), reverse=True)
    state = mailboxes_state(entries)
    if known_state is not None and known_state == state:
        return {"state": state}
    return {
        "state": state,
        "list": [
            {
                "name": name,
                "id": MailboxId(name, uidvalidity).encode(),
                "displayName": _display_name(name),
            }
            for name, uidvalidity in entries
        ],
    }


async def get_message_list(
    connections: CommandConnections, account_id: str, mailbox: MailboxId
) -> dict[str, Any]:
    """``getMessageList``: every UID of the mailbox, ascending, as messageIds."""
    async with connections.command_connection(account_id) as imap:
        await _examine(imap, mailbox)
        uids = sorted(await imap.uid_search("ALL"))
    return {"messageIds": [MessageId(mailbox, uid).encode() for uid in uids]}


async def get_messages(
    connections: CommandConnections,
    account_id: str,
    ids: Sequence[MessageId],
    properties: Sequence[str],
) -> dict[str, Any]:
    """``getMessages``: the requested properties of each message, in request order.

    Messages that do not exist are listed under ``notFound``.
    """
    plan = MessagePlan(properties)
    by_mailbox: dict[MailboxId, list[int]] = {}
    for message_id in ids:
        by_mailbox.setdefault(message_id.mailbox, []).append(message_id.uid)
    rendered: dict[MessageId, dict[str, Any]] = {}
    async with connections.command_connection(account_id) as imap:
        for mailbox, uids in by_mailbox.items():
            await _examine(imap, mailbox)
            unique = sorted(set(uids))
            for start in range(0, len(unique), _FETCH_CHUNK):
                chunk = unique[start : start + _FETCH_CHUNK]
                uid_set = ",".join(str(uid) for uid in chunk)
                wanted = set(chunk)
                for first in await imap.uid_fetch(uid_set, plan.first_items):
                    if first.uid is None or first.uid not in wanted:
                        continue  # a flag update or a `*` match outside the set
                    second = None
                    items = plan.second_items(first)
                    if items is not None:
                        fetched = await imap.uid_fetch(str(first.uid), items)
                        second = next((f for f in fetched if f.uid == first.uid), None)
                    message_id = MessageId(mailbox, first.uid)
                    rendered[message_id] = plan.render(message_id, first, second)
    found = [rendered[m] for m in ids if m in rendered]
    result: dict[str, Any] = {"state": "TODO", "list": found}
    missing = [m.encode() for m in dict.fromkeys(ids) if m not in rendered]
    if missing:
        result["notFound"] = missing
    return result


async def _examine(imap: ImapConnection, mailbox: MailboxId) -> None:
    """EXAMINE (read-only: never sets \\Seen) and check the id's UIDVALIDITY still holds.

    Raises:
        MailboxDoesNotExist: no mailbox can have that name (a control character, over
            8000 bytes), the server refuses the name (see
            :func:`_refuses_name`), or the UIDVALIDITY changed.
        CommandFailed: the server refused for another reason (its trouble, not the client's).
    """
    if _CONTROL.search(mailbox.name) is not None:
        raise MailboxDoesNotExist(f"no mailbox named {mailbox.name!r}: control character")
    if len(mailbox.name.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES:
        raise MailboxDoesNotExist(f"no mailbox name is over {_MAX_NAME_BYTES} bytes long")
    try:
        info = await imap.select(mailbox.name, readonly=True)
    except MailboxNotFound:
        raise MailboxDoesNotExist(f"no mailbox named {mailbox.name!r}") from None
    except CommandFailed as exc:
        if not _refuses_name(exc):
            raise
        raise MailboxDoesNotExist(f"no mailbox named {mailbox.name!r}: {exc.text}") from None
    if info.uidvalidity != mailbox.uidvalidity:
        raise MailboxDoesNotExist(
            f"{mailbox.encode()} is stale: the mailbox's UIDVALIDITY is now {info.uidvalidity}"
        )


def _refuses_name(exc: CommandFailed) -> bool:
    """Whether a failed EXAMINE says the *name* cannot be opened, rather than a fault.

    Only ``NO`` counts: ``BAD`` means the command was malformed, which is ours to fix.
    """
    if exc.status is not Status.NO:
        return False
    if exc.code is not None:
        return exc.code.name in _NAME_REFUSALS
    return exc.text.lower().startswith(_INVALID_NAME_TEXTS)


def _display_name(name: str) -> str:
    try:
        return decode_mailbox(name)
    except ValueError:
        return name
