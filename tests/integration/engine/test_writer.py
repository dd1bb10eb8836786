"""The engine's writer against a real Dovecot: flags, moves and deletions, seen from IMAP itself.

Every assertion reads the mailbox back over a separate stdlib imaplib session, as another mail
client would, so what is checked is what Dovecot holds, not what the writer believes.
"""

from __future__ import annotations

import pytest

from switchboard.engine import Engine
from switchboard.engine.errors import MailboxNotFound, StaleMailbox
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.engine import config_for
from tests.support.switchboard import message

pytestmark = pytest.mark.dovecot



async def test_flags_are_stored_on_just_the_given_uids(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    one, two = dovecot.append_many(imap_user, [message("one"), message("two")])
    uidvalidity = dovecot.uidvalidity(imap_user)
    config = config_for(dovecot, imap_user)
    await engine.writer.store_flags(
        config, "INBOX", uidvalidity, [one], add={"\\Seen", "\\Flagged", "$label"}
    )
    assert dovecot.flags(imap_user) == {one: {"\\Seen", "\\Flagged", "$label"}, two: set()}
    await engine.writer.store_flags(config, "INBOX", uidvalidity, [one], remove={"\\Flagged"})
    assert dovecot.flags(imap_user)[one] == {"\\Seen", "$label"}
    existing = await engine.writer.existing(config, "INBOX", uidvalidity, [one, two, two + 50])
    assert {uid: set(flags) for uid, flags in existing.items()} == {
        one: {"\\Seen", "$label"},
        two: set(),
    }


async def test_a_move_and_a_destroy_touch_only_their_messages(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    dovecot.create_mailbox(imap_user, "Archive")
    one, two, three = dovecot.append_many(imap_user, [message(s) for s in ("1", "2", "3")])
    uidvalidity = dovecot.uidvalidity(imap_user)
    config = config_for(dovecot, imap_user)
    # Another client's \Deleted mark on `three` must survive our expunges.
    await engine.writer.store_flags(config, "INBOX", uidvalidity, [three], add={"\\Deleted"})
    caps = await engine.writer.capabilities(config)
    assert caps.move and caps.uidplus
    moved = await engine.writer.move(config, "INBOX", uidvalidity, [one], "Archive")
    assert list(moved) == [one]
    assert set(dovecot.flags(imap_user, "Archive")) == {moved[one]}
    await engine.writer.destroy(config, "INBOX", uidvalidity, [two])
    assert set(dovecot.flags(imap_user)) == {three}
    with pytest.raises(MailboxNotFound):
        await engine.writer.move(config, "INBOX", uidvalidity, [three], "Nowhere")
    with pytest.raises(StaleMailbox):
        await engine.writer.destroy(config, "INBOX", uidvalidity + 1, [three])
    assert set(dovecot.flags(imap_user)) == {three}


async def test_without_objectid_no_emailid_is_located(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    # Dovecot 2.3 does not announce RFC 8474 OBJECTID: ids are then locations (docs/jmap.md),
    # and an e-… id from elsewhere finds nothing rather than being searched for.
    config = config_for(dovecot, imap_user)
    dovecot.append(imap_user, message("find me"))
    assert not (await engine.writer.capabilities(config)).objectid
    uidvalidity = dovecot.uidvalidity(imap_user)
    assert await engine.writer.locate(config, [("INBOX", uidvalidity)], ["Mabc"]) == {}


async def test_without_move_a_move_is_copy_deleted_and_uid_expunge(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    dovecot.create_mailbox(imap_user, "Archive")
    one, two = dovecot.append_many(imap_user, [message("move me"), message("stay")])
    uidvalidity = dovecot.uidvalidity(imap_user)
    config = config_for(dovecot, imap_user)
    engine.add_account(config)
    # As a server without RFC 6851 would announce itself (Dovecot has MOVE; the fallback's
    # commands are Dovecot's real COPY, STORE and UID EXPUNGE).
    async with engine.command_connection(imap_user.username) as conn:
        conn.capabilities = conn.capabilities - {"MOVE"}
    assert not (await engine.writer.capabilities(config)).move
    await engine.writer.store_flags(config, "INBOX", uidvalidity, [two], add={"\\Deleted"})
    moved = await engine.writer.move(config, "INBOX", uidvalidity, [one], "Archive")
    assert set(dovecot.flags(imap_user, "Archive")) == {moved[one]}
    assert dovecot.flags(imap_user) == {two: {"\\Deleted"}}  # another's \Deleted survives
