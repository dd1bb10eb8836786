"""Email/set's plan: where each email is, and what one update asks of IMAP.

:mod:`~switchboard.server.jmap.mailsync` runs Email/set in two stages: every update is first
checked and planned here (:func:`plan`: the flags to add and remove, the mailbox it moves to,
or the SetError it gets, before anything changes), then the plans run grouped into as few IMAP
commands as possible. Ids are resolved by :class:`~switchboard.server.jmap.locate.MailboxIds`,
which reads the mailbox list once per call, and only when a name must be looked up (a digest
in an id, a move's target).
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.jmap.emailset import EmailUpdate
from switchboard.jmap.errors import SetInvalidProperties, SetTooManyMailboxes
from switchboard.jmap.ids import mailbox_id
from switchboard.jmap.keywords import flag_to_keyword, keyword_to_flag
from switchboard.server.jmap.locate import MailboxIds

__all__ = ["Step", "Where", "plan"]


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


async def plan(email: str, where: Where, update: EmailUpdate, mailboxes: MailboxIds) -> Step:
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
        found = await mailboxes.mailbox_info(target_id)
        if found is None or found.uidvalidity is None:
            raise SetInvalidProperties(["mailboxIds"], f"no mailbox {target_id}")
        target = (found.name, found.uidvalidity)
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
