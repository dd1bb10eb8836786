"""Where a JMAP mailbox or email id points in IMAP, and back: shared by every mail method.

Ids are built by :mod:`switchboard.jmap.ids` from the mailbox's raw IMAP name (modified
UTF-7, as LIST gives it, so an id decodes straight to a command argument), its UIDVALIDITY and
the message's UID. RFC 8474 OBJECTIDs are not used yet: the IMAP parser keeps neither EMAILID
nor THREADID nor MAILBOXID (docs/jmap.md, "Ids"), so every id is a location and resolving one
needs no lookup, except for a mailbox name long enough to be written as a digest, which is
matched against the account's LIST.

:class:`AccountMail` is one call's view of an account: its config, the JMAP reader, and the
mailbox list loaded at most once per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from switchboard.engine.errors import UnknownAccount
from switchboard.engine.jmapreader import JmapReader, MailboxCounts
from switchboard.jmap.ids import (
    Digest,
    EmailLocation,
    MailboxLocation,
    UnknownIdError,
    email_id,
    mailbox_id,
    parse_email_id,
    parse_mailbox_id,
)
from switchboard.model.accounts import AccountConfig
from switchboard.model.mail import MailboxInfo
from switchboard.server.mailops import AccountConfigs

__all__ = ["AccountMail", "EmailRef", "mailbox_jmap_id"]


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


class AccountMail:
    """One call's view of an account's mail.

    Args:
        reader: the engine's JMAP reader.
        config: the account's settings and credentials.
    """

    def __init__(self, reader: JmapReader, config: AccountConfig) -> None:
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

    async def selectable(self) -> list[MailboxInfo]:
        """The mailboxes that can be opened and have a JMAP id, in LIST order."""
        return [m.info for m in await self.mailboxes() if mailbox_jmap_id(m.info) is not None]

    async def _name(self, mailbox: str | Digest, uidvalidity: int) -> str | None:
        if isinstance(mailbox, str):
            return mailbox
        for info in await self.selectable():
            if info.uidvalidity == uidvalidity and _digest_of(info.name) == mailbox:
                return info.name
        return None

    async def mailbox(self, jmap_id: str) -> MailboxCounts | None:
        """The mailbox with this JMAP id as the account has it now, or ``None``.

        A mailbox whose UIDVALIDITY changed since the id was made is not found.
        """
        try:
            location = parse_mailbox_id(jmap_id)
        except UnknownIdError:
            return None
        if not isinstance(location, MailboxLocation):
            return None
        for counts in await self.mailboxes():
            info = counts.info
            if info.uidvalidity != location.uidvalidity:
                continue
            if info.name == location.mailbox or (
                isinstance(location.mailbox, Digest) and _digest_of(info.name) == location.mailbox
            ):
                return counts
        return None

    async def mailbox_place(self, jmap_id: str) -> MailboxInfo | None:
        """The raw name and UIDVALIDITY a mailbox id names, without asking IMAP for a plain
        name (a digest is looked up in LIST). Whether it still exists is for the command that
        opens it to find out (MailboxNotFound, StaleMailbox)."""
        try:
            location = parse_mailbox_id(jmap_id)
        except UnknownIdError:
            return None
        if not isinstance(location, MailboxLocation):
            return None
        name = await self._name(location.mailbox, location.uidvalidity)
        if name is None:
            return None
        return MailboxInfo(name, name, location.uidvalidity)

    async def email(self, jmap_id: str) -> EmailRef | None:
        """Where the email ``jmap_id`` is, without asking IMAP whether it still exists.

        ``None`` for an id this server would not build, or a digest naming no mailbox.
        """
        try:
            location = parse_email_id(jmap_id)
        except UnknownIdError:
            return None
        if not isinstance(location, EmailLocation):
            return None
        name = await self._name(location.mailbox, location.uidvalidity)
        if name is None:
            return None
        return EmailRef(name, location.uidvalidity, location.uid)
