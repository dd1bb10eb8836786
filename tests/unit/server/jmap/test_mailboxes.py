"""Mailboxes as JMAP shows them: names, parents past \\Noselect levels, roles, tree order."""

from __future__ import annotations

from switchboard.engine.jmapreader import MailboxCounts
from switchboard.model.mail import MailboxInfo
from switchboard.server.jmap.mailboxes import _as_tree, _mailboxes, role_of


def listed(name: str, uidvalidity: int | None, *flags: str) -> MailboxCounts:
    return MailboxCounts(MailboxInfo(name, name, uidvalidity, flags, "/"), 3, 1)


def test_roles() -> None:
    assert role_of("INBOX", ()) == "inbox"
    assert role_of("inbox", ()) == "inbox"
    assert role_of("Gesendet", ("\\HasNoChildren", "\\Sent")) == "sent"
    assert role_of("[Gmail]/All Mail", ("\\All",)) == "all"
    assert role_of("Stuff", ("\\HasChildren",)) is None


def test_a_noselect_level_is_skipped_for_the_nearest_selectable_ancestor() -> None:
    found = _mailboxes([
        listed("INBOX", 1),
        listed("Work", 2),
        listed("Work/Archive", None, "\\Noselect"),
        listed("Work/Archive/2024", 3),
        listed("Lost/Child", 4),
    ])  # fmt: skip
    by_name = {m.name: m for m in found}
    assert set(by_name) == {"INBOX", "Work", "2024", "Child"}
    assert by_name["2024"].parent_id == by_name["Work"].id
    assert by_name["Child"].parent_id is None
    assert by_name["Work"].to_json(["totalEmails", "unreadThreads"]) == {
        "totalEmails": 3, "unreadThreads": 1,
    }  # fmt: skip
    assert [m.name for m in _as_tree(list(reversed(found)))] == [
        "Child", "Work", "2024", "INBOX"]  # fmt: skip
