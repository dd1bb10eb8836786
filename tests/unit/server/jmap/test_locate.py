"""Ids to IMAP places and back, as the mail methods resolve them (the reader is a stand-in)."""

from __future__ import annotations

from typing import Any, cast

from switchboard.engine.jmapreader import JmapReader, MailboxCounts
from switchboard.jmap.ids import email_id, mailbox_id
from switchboard.model.accounts import AccountConfig, PasswordAuth
from switchboard.model.mail import MailboxInfo
from switchboard.server.jmap.locate import AccountMail, EmailRef, mailbox_jmap_id

LONG = "Archive/" + "x" * 200  # written as a digest in ids


class Listing:
    """Answers ``mailboxes`` from a list, and counts the calls."""

    def __init__(self, *names: tuple[str, int | None]) -> None:
        self.counts = [MailboxCounts(MailboxInfo(n, n, v), 1, 0) for n, v in names]
        self.calls = 0

    async def mailboxes(self, account: Any) -> list[MailboxCounts]:
        self.calls += 1
        return self.counts


def view(listing: Listing) -> AccountMail:
    config = AccountConfig("u", "imap.example", 993, PasswordAuth("u", "p"))
    return AccountMail(cast(JmapReader, listing), config)


async def test_plain_names_resolve_without_asking_imap() -> None:
    listing = Listing(("INBOX", 7))
    mail = view(listing)
    assert await mail.email(email_id("INBOX", 7, 42)) == EmailRef("INBOX", 7, 42)
    place = await mail.mailbox_place(mailbox_id("Gone", 3))
    assert place is not None and (place.name, place.uidvalidity) == ("Gone", 3)
    assert listing.calls == 0
    assert await mail.email("enot-an-id") is None
    assert await mail.email(mailbox_id("INBOX", 7)) is None  # a mailbox id is no email id


async def test_digests_are_matched_against_the_list_once_per_call() -> None:
    listing = Listing(("INBOX", 7), (LONG, 9), ("Parent", None))
    mail = view(listing)
    box = mailbox_id(LONG, 9)
    assert box.startswith("m_")
    found = await mail.mailbox(box)
    assert found is not None and found.info.name == LONG
    assert await mail.email(email_id(LONG, 9, 5)) == EmailRef(LONG, 9, 5)
    assert await mail.email(email_id(LONG, 8, 5)) is None  # another UIDVALIDITY
    assert await mail.mailbox(mailbox_id("INBOX", 8)) is None
    assert [info.name for info in await mail.selectable()] == ["INBOX", LONG]
    assert listing.calls == 1
    assert mailbox_jmap_id(MailboxInfo("Parent", "Parent", None)) is None
    assert EmailRef(LONG, 9, 5).id == email_id(LONG, 9, 5)
