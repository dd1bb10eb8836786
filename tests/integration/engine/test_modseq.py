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
