"""Tests for server.jmap.setplan: an update's flags and move, checked before anything changes."""

from __future__ import annotations

import pytest

from switchboard.jmap.emailset import parse_update
from switchboard.jmap.errors import SetInvalidProperties, SetTooManyMailboxes
from switchboard.jmap.ids import email_id, mailbox_id
from switchboard.model.accounts import AccountConfig, PasswordAuth
from switchboard.model.mail import MailboxInfo
from switchboard.server.jmap.locate import EmailRef, MailboxIds
from switchboard.server.jmap.setplan import Where, _flag_changes, plan

LONG = "L" * 300  # a name whose id carries its digest
CONFIG = AccountConfig("a", "imap.example", 993, PasswordAuth("a", "p"))


class Listed:
    def __init__(self) -> None:
        self.calls = 0

    async def list_mailboxes(self, account: AccountConfig) -> list[MailboxInfo]:
        self.calls += 1
        return [MailboxInfo("INBOX", "INBOX", 7, (), "/"),
                MailboxInfo("Archive", "Archive", 8, (), "/"),
                MailboxInfo(LONG, LONG, 9, (), "/")]  # fmt: skip


def test_replacing_keywords_keeps_what_jmap_does_not_show() -> None:
    update = parse_update({"keywords": {"$seen": True, "$new": True}})
    flags = ("\\Deleted", "\\Flagged", "$Old", "\\Seen", "\\Recent")
    assert _flag_changes(update, flags) == (["$new"], ["$Old", "\\Flagged"])


def test_patches_add_what_is_missing_and_remove_as_the_server_spells_it() -> None:
    update = parse_update({"keywords/$label": None, "keywords/$seen": True,
                           "keywords/$flagged": True})  # fmt: skip
    assert _flag_changes(update, ("$Label", "\\Seen")) == (["\\Flagged"], ["$Label"])
    assert _flag_changes(parse_update({"keywords/$x": None}), ()) == ([], [])


async def test_a_move_is_checked_against_the_list_read_once() -> None:
    listed = Listed()
    boxes = MailboxIds(lambda: listed.list_mailboxes(CONFIG))
    where = Where("INBOX", 7, 42, ())
    inbox, archive = mailbox_id("INBOX", 7), mailbox_id("Archive", 8)
    step = await plan("e1", where, parse_update({"mailboxIds": {archive: True}}), boxes)
    assert step.target == ("Archive", 8) and (step.add, step.remove) == ((), ())
    stay = await plan("e1", where, parse_update({"keywords/$seen": True}), boxes)
    assert stay.target is None and stay.add == ("\\Seen",)
    long = await plan("e1", where, parse_update({"mailboxIds": {mailbox_id(LONG, 9): True}}),
                      boxes)  # fmt: skip
    assert long.target == (LONG, 9)
    assert await boxes.email(email_id(LONG, 9, 1)) == EmailRef(LONG, 9, 1)
    assert listed.calls == 1
    for patch, error in (
        ({"mailboxIds": {inbox: True, archive: True}}, SetTooManyMailboxes),
        ({f"mailboxIds/{inbox}": None}, SetInvalidProperties),
        ({"mailboxIds": {mailbox_id("Archive", 99): True}}, SetInvalidProperties),  # renumbered
        ({"mailboxIds": {"m-objectid": True}}, SetInvalidProperties),
    ):
        with pytest.raises(error):
            await plan("e1", where, parse_update(patch), boxes)
