"""Where a JMAP mailbox or email id points in IMAP, and back: shared by every mail method.

Ids are built by :mod:`switchboard.jmap.ids` from the mailbox's raw IMAP name (modified
UTF-7, as LIST gives it, so an id decodes straight to a command argument), its UIDVALIDITY and
the message's UID. RFC 8474 OBJECTIDs are not used yet: the IMAP parser keeps neither EMAILID
nor THREADID nor MAILBOXID (docs/jmap.md, "Ids"), so every id is a location and resolving one
needs no lookup, except for a mailbox name long enough to be written as a digest, which is
matched against the account's LIST.

:class:`MailboxIds` resolves ids against a mailbox list read at most once per call;
:class:`AccountMail` is the read methods' view of an account built on it: its config, the JMAP
reader, and the mailboxes with their counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from switchboard.engine.errors import UnknownAccount
from switchboard.engine.jmapreader import JmapReader, MailboxCounts
from switchboard.jmap.ids import (
    Digest,
    EmailLocation,
    MailboxLocation,
    ObjectId,
    UnknownIdError,
    email_id,
    mailbox_id,
    parse_email_id,
    parse_mailbox_id,
)
from switchboard.model.accounts import AccountConfig
from switchboard.model.mail import MailboxInfo
from switchboard.server.mailops import AccountConfigs

__all__ = ["AccountMail", "EmailRef", "Listing", "MailboxIds", "mailbox_jmap_id"]


@dataclass(frozen=True, slots=True, order=True)
class EmailRef:
    """A message by its place in IMAP: the mailbox's raw name, its UIDVALIDITY and the UID."""

    mailbox: str
    uidvalidity: int
    uid: int

    @property
    def id(self) -> str:
        """The JMAP id of the message."""
        return email_id(self.mailbox, self.uidvalidity, self.uid)


def mailbox_jmap_id(info: MailboxInfo) -> str | None:
    """The JMAP id of a mailbox; ``None`` for one that cannot be selected (no UIDVALIDITY)
    or whose name UTF-8 cannot carry (a server's undecodable bytes): JMAP cannot name it."""
    if info.uidvalidity is None:
        return None
    try:
        return mailbox_id(info.name, info.uidvalidity)
    except ValueError:
        return None


def _digest_of(name: str) -> Digest | None:
    try:
        return Digest.of(name)
    except ValueError:
        return None


Listing = Callable[[], Awaitable[Sequence[MailboxInfo]]]
"""Reads the account's mailbox list (LIST, with each mailbox's UIDVALIDITY)."""


class MailboxIds:
    """Ids to IMAP places for one account, against its mailbox list read at most once.

    Email/get, Email/query and blob downloads use it through :class:`AccountMail`; Email/set
    (:mod:`~switchboard.server.jmap.mailsync`) with the engine's plain LIST.

    Args:
        listing: reads the mailbox list; called only when a name must be looked up.
    """

    def __init__(self, listing: Listing) -> None:
        self._listing = listing
        self._listed: Sequence[MailboxInfo] | None = None

    async def listed(self) -> Sequence[MailboxInfo]:
        """The account's mailboxes in LIST order, read once.

        Raises:
            ConnectionFailed, AuthenticationFailed, ImapFailure: from the reader.
        """
        if self._listed is None:
            self._listed = await self._listing()
        return self._listed

    async def selectable(self) -> list[MailboxInfo]:
        """The mailboxes that can be opened and have a JMAP id, in LIST order."""
        return [info for info in await self.listed() if mailbox_jmap_id(info) is not None]

    async def _place(
        self, location: EmailLocation | MailboxLocation | ObjectId
    ) -> tuple[str, int] | None:
        """The raw name and UIDVALIDITY a location names (a digest is looked up in LIST);
        ``None`` for an OBJECTID, which ids built here never carry."""
        if isinstance(location, ObjectId):
            return None
        if isinstance(location.mailbox, str):
            return location.mailbox, location.uidvalidity
        for info in await self.selectable():
            same = info.uidvalidity == location.uidvalidity
            if same and _digest_of(info.name) == location.mailbox:
                return info.name, location.uidvalidity
        return None

    async def mailbox_info(self, jmap_id: str) -> MailboxInfo | None:
        """The mailbox with this JMAP id as LIST has it now, or ``None``.

        A mailbox whose UIDVALIDITY changed since the id was made is not found.
        """
        place = await self.mailbox_place(jmap_id)
        if place is None:
            return None
        for info in await self.listed():
            if (info.name, info.uidvalidity) == (place.name, place.uidvalidity):
                return info
        return None

    async def mailbox_place(self, jmap_id: str) -> MailboxInfo | None:
        """The raw name and UIDVALIDITY a mailbox id names, without asking IMAP for a plain
        name (a digest is looked up in LIST). Whether it still exists is for the command that
        opens it to find out (MailboxNotFound, StaleMailbox)."""
        try:
            location = parse_mailbox_id(jmap_id)
        except UnknownIdError:
            return None
        place = await self._place(location)
        if place is None:
            return None
        name, uidvalidity = place
        return MailboxInfo(name, name, uidvalidity)

    async def email(self, jmap_id: str) -> EmailRef | None:
        """Where the email ``jmap_id`` is, without asking IMAP whether it still exists.

        ``None`` for an id this server would not build, or a digest naming no mailbox.
        """
        try:
            location = parse_email_id(jmap_id)
        except UnknownIdError:
            return None
        place = await self._place(location)
        if place is None or isinstance(location, ObjectId):
            return None
        return EmailRef(*place, location.uid)


class AccountMail(MailboxIds):
    """One call's view of an account's mail: its ids, with the mailboxes' counts.

    Args:
        reader: the engine's JMAP reader.
        config: the account's settings and credentials.
    """

    def __init__(self, reader: JmapReader, config: AccountConfig) -> None:
        super().__init__(self._infos)
        self.reader = reader
        self.config = config
        self._mailboxes: list[MailboxCounts] | None = None

    @classmethod
    def of(cls, reader: JmapReader, accounts: AccountConfigs, account_id: str) -> AccountMail:
        """The view of the Switchboard account ``account_id``.

        Raises:
            UnknownAccount: the account has no settings (removed meanwhile).
        """
        config = accounts.config(account_id)
        if config is None:
            raise UnknownAccount(f"no account {account_id!r}")
        return cls(reader, config)

    async def mailboxes(self) -> Sequence[MailboxCounts]:
        """The account's mailboxes with their counts (LIST + STATUS), once per call.

        Raises:
            ConnectionFailed, AuthenticationFailed, ImapFailure: from the reader.
        """
        if self._mailboxes is None:
            self._mailboxes = await self.reader.mailboxes(self.config)
        return self._mailboxes

    async def _infos(self) -> list[MailboxInfo]:
        return [counts.info for counts in await self.mailboxes()]

    async def mailbox(self, jmap_id: str) -> MailboxCounts | None:
        """:meth:`mailbox_info` with the mailbox's counts."""
        info = await self.mailbox_info(jmap_id)
        return next((c for c in await self.mailboxes() if c.info == info), None)
