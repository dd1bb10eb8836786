"""The read commands — getMailboxes, getMessageList, getMessages — as wire replies.

A thin adapter: the engine's reader (``Engine.reader``, :mod:`switchboard.engine.reader`) holds
the IMAP conversation, :mod:`switchboard.mail.render` renders messages; this module turns wire
ids into reader calls and the results into the response arguments of docs/protocol.md,
"Commands" (what changed from the original: its "Differences from the 2014 server").

Engine errors pass through for the handlers to turn into wire errors, except where the client
chose the mailbox: a name no mailbox can have, one the IMAP server refuses as such, or a
mailbox id whose UIDVALIDITY changed is ``mailboxDoesNotExist`` (the client's mistake), never
``serverError`` (ours).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import Any, Protocol

from switchboard.engine.errors import MailboxNotFound, StaleMailbox, UnknownAccount
from switchboard.mail.render import MessagePlan
from switchboard.model.accounts import AccountConfig
from switchboard.model.mail import FetchedMessage, FetchPlan, MailboxInfo
from switchboard.protocol.errors import MailboxDoesNotExist
from switchboard.protocol.ids import MailboxId, MessageId

__all__ = [
    "AccountConfigs",
    "Reader",
    "get_mailboxes",
    "get_message_list",
    "get_messages",
    "mailboxes_state",
]

# ``state`` fits a JavaScript number (2**53 - 1; see wirejson.MAX_SAFE_INTEGER): 53 bits.
_STATE_BITS = 53


class Reader(Protocol):
    """What the read commands run on: the engine's reader (``switchboard.engine.reader``)."""

    async def list_mailboxes(self, account: AccountConfig) -> list[MailboxInfo]:
        """Every mailbox of the account, with its UIDVALIDITY."""
        ...

    async def message_uids(
        self, account: AccountConfig, mailbox: str, uidvalidity: int
    ) -> list[int]:
        """Every UID of the mailbox, ascending."""
        ...

    async def fetch(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        uids: Sequence[int],
        plan: FetchPlan,
    ) -> list[FetchedMessage]:
        """What ``plan`` says of the messages ``uids`` that exist, ascending."""
        ...

    def fetch_chunks(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        uids: Sequence[int],
        plan: FetchPlan,
    ) -> AsyncGenerator[list[FetchedMessage], None]:
        """:meth:`fetch` in ascending chunks, each as soon as the server sent it."""
        ...


class AccountConfigs(Protocol):
    """Where an account's settings come from (the account registry)."""

    def config(self, account_id: str) -> AccountConfig | None:
        """The account's current settings and credentials, or ``None``."""
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


def _account(accounts: AccountConfigs, account_id: str) -> AccountConfig:
    config = accounts.config(account_id)
    if config is None:
        raise UnknownAccount(f"no account {account_id!r}")
    return config


@asynccontextmanager
async def _mailbox_errors(mailbox: MailboxId) -> AsyncIterator[None]:
    """The reader's verdict on a mailbox the client named, as the wire's error."""
    try:
        yield
    except MailboxNotFound as exc:
        raise MailboxDoesNotExist(str(exc)) from None
    except StaleMailbox as exc:
        raise MailboxDoesNotExist(
            f"{mailbox.encode()} is stale: the mailbox's UIDVALIDITY is now {exc.actual}"
        ) from None


async def get_mailboxes(
    reader: Reader, accounts: AccountConfigs, account_id: str, known_state: int | None
) -> dict[str, Any]:
    """``getMailboxes``: selectable mailboxes in descending name order, with ids and ``state``.

    Raises:
        UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: from the reader.
    """
    listed = await reader.list_mailboxes(_account(accounts, account_id))
    entries = [(m.name, m.display_name, m.uidvalidity) for m in listed if m.uidvalidity is not None]
    entries.sort(key=lambda entry: entry[0].encode("utf-8", "surrogateescape"), reverse=True)
    state = mailboxes_state([(name, uidvalidity) for name, _, uidvalidity in entries])
    if known_state is not None and known_state == state:
        return {"state": state}
    return {
        "state": state,
        "list": [
            {
                "name": name,
                "id": MailboxId(name, uidvalidity).encode(),
                "displayName": display_name,
            }
            for name, display_name, uidvalidity in entries
        ],
    }


async def get_message_list(
    reader: Reader, accounts: AccountConfigs, account_id: str, mailbox: MailboxId
) -> dict[str, Any]:
    """``getMessageList``: every UID of the mailbox, ascending, as messageIds.

    Raises:
        MailboxDoesNotExist: no such mailbox, or its UIDVALIDITY changed.
        UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: from the reader.
    """
    config = _account(accounts, account_id)
    async with _mailbox_errors(mailbox):
        uids = await reader.message_uids(config, mailbox.name, mailbox.uidvalidity)
    return {"messageIds": [MessageId(mailbox, uid).encode() for uid in uids]}


async def get_messages(
    reader: Reader,
    accounts: AccountConfigs,
    account_id: str,
    ids: Sequence[MessageId],
    properties: Sequence[str],
) -> dict[str, Any]:
    """``getMessages``: the requested properties of each message, in request order.

    Messages that do not exist are listed under ``notFound``.

    Raises:
        MailboxDoesNotExist: a mailbox of ``ids`` does not exist, or its UIDVALIDITY changed.
        UnknownAccount, ConnectionFailed, AuthenticationFailed, ImapFailure: from the reader.
    """
    config = _account(accounts, account_id)
    plan = MessagePlan(properties)
    # Keyed by plain tuples: hashing the id dataclasses cost more than the rendering.
    by_mailbox: dict[tuple[str, int], tuple[MailboxId, list[int]]] = {}
    for message_id in ids:
        mailbox = message_id.mailbox
        key = (mailbox.name, mailbox.uidvalidity)
        entry = by_mailbox.get(key)
        if entry is None:
            by_mailbox[key] = entry = (mailbox, [])
        entry[1].append(message_id.uid)
    rendered: dict[tuple[str, int, int], dict[str, Any]] = {}
    for (name, uidvalidity), (mailbox, uids) in by_mailbox.items():
        mailbox_id = mailbox.encode()
        prefix = mailbox_id + "?"  # MessageId(mailbox, uid).encode(), without the objects
        # Each chunk is rendered as it arrives, while the IMAP server still sends the next.
        async with _mailbox_errors(mailbox), aclosing(
            reader.fetch_chunks(config, name, uidvalidity, uids, plan.fetch)
        ) as chunks:
            async for chunk in chunks:
                for message in chunk:
                    rendered[name, uidvalidity, message.uid] = plan.render(
                        message, message_id=f"{prefix}{message.uid}", mailbox_id=mailbox_id
                    )
    found = []
    missing: dict[str, None] = {}
    for message_id in ids:
        mailbox = message_id.mailbox
        out = rendered.get((mailbox.name, mailbox.uidvalidity, message_id.uid))
        if out is not None:
            found.append(out)
        else:
            missing[message_id.encode()] = None
    result: dict[str, Any] = {"state": "TODO", "list": found}
    if missing:
        result["notFound"] = list(missing)
    return result
