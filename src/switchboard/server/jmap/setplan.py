"""Email/set's plan: where each email is, and what one update asks of IMAP.

:mod:`~switchboard.server.jmap.mailsync` runs Email/set in two stages: every update is first
checked and planned here (:func:`plan`: the flags to add and remove, the mailbox it moves to,
or the SetError it gets, before anything changes), then the plans run grouped into as few IMAP
commands as possible. The mailbox list is read once per call, and only when a name must be
looked up (a digest in an id, a move's target).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from switchboard.jmap.emailset import EmailUpdate
from switchboard.jmap.errors import SetInvalidProperties, SetTooManyMailboxes
from switchboard.jmap.ids import (
    Digest,
    EmailLocation,
    MailboxLocation,
    ObjectId,
    UnknownIdError,
    mailbox_id,
    parse_mailbox_id,
)
from switchboard.jmap.keywords import flag_to_keyword, keyword_to_flag
from switchboard.model.accounts import AccountConfig
from switchboard.model.mail import MailboxInfo

__all__ = ["Lister", "MailboxList", "Step", "Where", "plan"]


class Lister(Protocol):
    """The engine's reader, for the mailbox list."""

    async def list_mailboxes(self, account: AccountConfig) -> list[MailboxInfo]:
        """Every mailbox of the account, with its UIDVALIDITY."""
        ...


@dataclass(frozen=True, slots=True)
class Where:
    """Where an email is now: its mailbox, UIDVALIDITY, UID and flags."""

    mailbox: str
    uidvalidity: int
    uid: int
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Step:
    """One email's update, planned: the flags to add and remove, and where it moves."""

    email: str
    where: Where
    add: tuple[str, ...]
    remove: tuple[str, ...]
    target: tuple[str, int] | None  # name and UIDVALIDITY of the mailbox it moves to


async def plan(
    email: str, where: Where, update: EmailUpdate, mailboxes: MailboxList
) -> Step:
    """Check one update and plan it; raises the SetError it gets (nothing changed yet)."""
    current = mailbox_id(where.mailbox, where.uidvalidity)
    after = update.mailboxes_after(frozenset({current}))
    if not after:
        raise SetInvalidProperties(["mailboxIds"], "an Email belongs to at least one mailbox")
    if len(after) > 1:
        raise SetTooManyMailboxes("an IMAP message is in exactly one mailbox")
    (target_id,) = after
    target: tuple[str, int] | None = None
    if target_id != current:
        target = await mailboxes.resolve(target_id)
        if target is None:
            raise SetInvalidProperties(["mailboxIds"], f"no mailbox {target_id}")
    add, remove = _flag_changes(update, where.flags)
    return Step(email, where, tuple(add), tuple(remove), target)


def _flag_changes(update: EmailUpdate, flags: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The IMAP flags to add and to remove for ``update`` on a message holding ``flags``."""
    have = {flag.lower(): flag for flag in flags if flag_to_keyword(flag) is not None}
    if update.keywords is not None:
        want = {keyword_to_flag(k).lower(): keyword_to_flag(k) for k in update.keywords}
        return (
            sorted(flag for low, flag in want.items() if low not in have),
            sorted(flag for low, flag in have.items() if low not in want),
        )
    add = {keyword_to_flag(k) for k in update.keywords_add}
    remove = {keyword_to_flag(k) for k in update.keywords_remove}
    return (
        sorted(f for f in add if f.lower() not in have),
        # IMAP keywords are matched as the server spells them.
        sorted(have[f.lower()] for f in remove if f.lower() in have),
    )


class MailboxList:
    """The account's mailboxes, listed once per request, when a name must be looked up."""

    def __init__(self, lister: Lister, config: AccountConfig) -> None:
        self._lister = lister
        self._config = config
        self._listed: list[MailboxInfo] | None = None

    async def _all(self) -> list[MailboxInfo]:
        if self._listed is None:
            self._listed = await self._lister.list_mailboxes(self._config)
        return self._listed

    async def name_of(self, location: EmailLocation | MailboxLocation) -> str | None:
        """The mailbox name a location names (a digest is looked up in the list)."""
        if isinstance(location.mailbox, str):
            return location.mailbox
        for info in await self._all():
            try:
                if Digest.of(info.name) == location.mailbox:
                    return info.name
            except ValueError:
                continue  # a name UTF-8 cannot carry has no id either
        return None

    async def resolve(self, mailbox: str) -> tuple[str, int] | None:
        """The name and UIDVALIDITY of the mailbox id ``mailbox``, if it exists as named."""
        try:
            parsed = parse_mailbox_id(mailbox)
        except UnknownIdError:
            return None
        if isinstance(parsed, ObjectId):
            return None
        name = await self.name_of(parsed)
        for info in await self._all():
            if info.name == name and info.uidvalidity == parsed.uidvalidity:
                return info.name, parsed.uidvalidity
        return None
