"""The engine's CONDSTORE reader against a real Dovecot: marks, and what changed after one."""

from __future__ import annotations

import pytest

from switchboard.engine import Engine
from switchboard.engine.errors import MailboxNotFound
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.engine import config_for
from tests.support.switchboard import message

pytestmark = pytest.mark.dovecot


async def test_a_flag_set_by_another_client_and_new_mail_are_found_after_a_mark(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    dovecot.create_mailbox(imap_user, "Other")
    one, two = dovecot.append_many(imap_user, [message("1"), message("2")])
    marks = await engine.modseq.marks(config)
    assert set(marks) >= {"INBOX", "Other"}
    inbox = marks["INBOX"]
    assert inbox.uidvalidity == dovecot.uidvalidity(imap_user) and inbox.uidnext == two + 1
    assert await engine.modseq.changed_since(config, "INBOX", inbox) == []
    with dovecot._session(imap_user) as imap:  # another mail client
        imap.select("INBOX")
        imap.uid("STORE", str(one), "+FLAGS", "(\\Flagged)")
    three = dovecot.append(imap_user, message("3"))
    later = await engine.modseq.marks(config)
    assert later["INBOX"].modseq > inbox.modseq
    assert later["Other"] == marks["Other"]
    assert await engine.modseq.changed_since(config, "INBOX", inbox) == [one, three]
    dovecot.delete_mailbox(imap_user, "Other")
    with pytest.raises(MailboxNotFound):
        await engine.modseq.changed_since(config, "Other", marks["Other"])


async def test_messages_another_client_expunged_are_found_vanished(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    one, two, three = dovecot.append_many(imap_user, [message("1"), message("2"), message("3")])
    mark = (await engine.modseq.marks(config))["INBOX"]
    assert mark.messages == 3
    known = await engine.modseq.present(config, "INBOX", mark)
    assert list(known) == [one, two, three]
    # Nothing happened: nothing changed, nothing vanished.
    quiet = await engine.modseq.changes_since(config, "INBOX", mark, known)
    assert (quiet.changed, quiet.vanished, list(quiet.present)) == ([], [], [one, two, three])
    with dovecot._session(imap_user) as imap:  # another mail client deletes "2"
        imap.select("INBOX")
        imap.uid("STORE", str(two), "+FLAGS.SILENT", "(\\Deleted)")
        imap.expunge()
    four = dovecot.append(imap_user, message("4"))
    later = (await engine.modseq.marks(config))["INBOX"]
    assert later.modseq > mark.modseq  # the expunge moved HIGHESTMODSEQ
    changes = await engine.modseq.changes_since(config, "INBOX", mark, known)
    assert changes.vanished == [two]
    assert changes.changed == [four]
    assert list(changes.present) == [one, three, four]
    # From the new mark and list: a new arrival alone is no vanishing (no search needed).
    five = dovecot.append(imap_user, message("5"))
    after = await engine.modseq.changes_since(config, "INBOX", later, changes.present)
    assert (after.changed, after.vanished, list(after.present)) == (
        [five], [], [one, three, four, five])
    # Everything expunged: every known UID vanished.
    with dovecot._session(imap_user) as imap:
        imap.select("INBOX")
        imap.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
        imap.expunge()
    empty = await engine.modseq.changes_since(config, "INBOX", later, after.present)
    assert empty.vanished == [one, three, four, five] and list(empty.present) == []
