"""Reads write their EXAMINE and their first FETCH in one flight, against a real Dovecot.

What they read is still the mailbox as it is now (mail delivered and expunged by other clients
since: each read EXAMINEs, as Dovecot's view of a mailbox moves only at a sync point); a
mailbox that does not open, or opens with another UIDVALIDITY, still gives its error, and the
FETCH already sent behind it is dropped with the connection left usable; a write needs a
read-write SELECT. The commands sent are read from the connection's own count
(``commands_sent``).
"""

from __future__ import annotations

import asyncio
import imaplib

import pytest

from switchboard.engine import Engine
from switchboard.engine.errors import MailboxNotFound, StaleMailbox
from switchboard.engine.jmapreader import JmapReader
from switchboard.imap.commands import raw
from switchboard.imap.errors import InvalidState
from switchboard.model.accounts import AccountConfig
from switchboard.model.mail import BodySection, FetchPlan
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.engine import config_for
from tests.support.switchboard import message

pytestmark = pytest.mark.dovecot

RAW = FetchPlan(sections=(BodySection(""),))


async def sent(engine: Engine, user: ImapUser) -> dict[str, int]:
    async with engine.command_connection(user.username) as conn:
        return dict(conn.commands_sent)


async def subjects(engine: Engine, config: AccountConfig, mailbox: str, validity: int,
                   uids: list[int]) -> list[bytes]:
    """The Subject line of each message found, read whole."""
    found = await engine.reader.fetch(config, mailbox, validity, uids, RAW)
    raws = [m.sections[BodySection("")] for m in found]
    return [next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
            for raw in raws]


def expunge_elsewhere(dovecot: DovecotServer, user: ImapUser, uid: int) -> None:
    """Another mail client deletes ``uid`` of INBOX for good."""
    imap = imaplib.IMAP4(dovecot.host, dovecot.port)
    try:
        imap.login(user.username, user.password)
        imap.select("INBOX")
        imap.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
        imap.expunge()
    finally:
        imap.logout()


async def test_each_read_sees_other_clients_changes(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    engine.add_account(config)
    one, two = await asyncio.to_thread(
        dovecot.append_many, imap_user, [message("one"), message("two")])
    validity = await asyncio.to_thread(dovecot.uidvalidity, imap_user)
    assert len(await subjects(engine, config, "INBOX", validity, [one, two])) == 2
    reader = JmapReader(engine.reader)
    for uid in (one, two, one):
        async with reader.open_message(config, "INBOX", validity, uid) as raw:
            assert raw is not None
            assert b"Subject: " in b"".join([chunk async for chunk in raw.chunks])

    # Mail another client delivers after the EXAMINE is read by the next fetch, and a message
    # another client expunged is gone, as a fresh EXAMINE would have shown.
    three = await asyncio.to_thread(dovecot.append, imap_user, message("three"))
    await asyncio.to_thread(expunge_elsewhere, dovecot, imap_user, one)
    found = await engine.reader.fetch(config, "INBOX", validity, [one, two, three], RAW)
    assert [m.uid for m in found] == [two, three]
    async with reader.open_message(config, "INBOX", validity, three) as raw:
        assert raw is not None and raw.size > 0
    async with reader.open_message(config, "INBOX", validity, one) as missing:
        assert missing is None
    assert await engine.reader.message_uids(config, "INBOX", validity) == [two, three]


async def test_a_switch_to_another_mailbox_and_back_reads_each_one(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    engine.add_account(config)
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Archive")
    [inbox_uid] = await asyncio.to_thread(dovecot.append_many, imap_user, [message("in")])
    [archive_uid] = await asyncio.to_thread(
        dovecot.append_many, imap_user, [message("archived")], "Archive")
    inbox = await asyncio.to_thread(dovecot.uidvalidity, imap_user)
    archive = await asyncio.to_thread(dovecot.uidvalidity, imap_user, "Archive")
    for mailbox, validity, uid, subject in [
        ("INBOX", inbox, inbox_uid, b"Subject: in"),
        ("Archive", archive, archive_uid, b"Subject: archived"),
        ("INBOX", inbox, inbox_uid, b"Subject: in"),
        ("INBOX", inbox, inbox_uid, b"Subject: in"),
    ]:
        assert await subjects(engine, config, mailbox, validity, [uid]) == [subject]
    assert (await sent(engine, imap_user)).get("EXAMINE") == 4


async def test_a_write_selects_an_examined_mailbox_read_write(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    engine.add_account(config)
    [uid] = await asyncio.to_thread(dovecot.append_many, imap_user, [message("flag me")])
    validity = await asyncio.to_thread(dovecot.uidvalidity, imap_user)
    await engine.reader.fetch(config, "INBOX", validity, [uid], RAW)
    async with engine.command_connection(imap_user.username) as conn:
        assert conn.selected is not None and conn.selected.readonly
        with pytest.raises(InvalidState):
            await conn.run_selected("UID STORE", raw(str(uid)), raw("+FLAGS (\\Flagged)"))
    await engine.writer.store_flags(config, "INBOX", validity, [uid], add={"\\Flagged"})
    assert (await asyncio.to_thread(dovecot.flags, imap_user))[uid] == {"\\Flagged"}
    [read] = await engine.reader.fetch(config, "INBOX", validity, [uid], FetchPlan(flags=True))
    assert read.flags is not None and "\\Flagged" in read.flags
    await engine.writer.store_flags(config, "INBOX", validity, [uid], remove={"\\Flagged"})
    assert (await asyncio.to_thread(dovecot.flags, imap_user))[uid] == set()
    assert (await sent(engine, imap_user)).get("SELECT") == 2


async def test_ids_of_another_uidvalidity_are_refused(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    engine.add_account(config)
    [uid] = await asyncio.to_thread(dovecot.append_many, imap_user, [message("kept")])
    validity = await asyncio.to_thread(dovecot.uidvalidity, imap_user)
    await engine.reader.fetch(config, "INBOX", validity, [uid], RAW)
    with pytest.raises(StaleMailbox):
        await engine.reader.fetch(config, "INBOX", validity - 1, [uid], RAW)
    with pytest.raises(StaleMailbox):
        async with JmapReader(engine.reader).open_message(config, "INBOX", validity + 1, uid):
            pass
    # The FETCH sent behind the refused EXAMINE was dropped; the connection reads on.
    assert await subjects(engine, config, "INBOX", validity, [uid]) == [b"Subject: kept"]


async def test_a_mailbox_recreated_while_selected_refuses_the_old_ids(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    engine.add_account(config)
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Box")
    [uid] = await asyncio.to_thread(dovecot.append_many, imap_user, [message("old")], "Box")
    old = await asyncio.to_thread(dovecot.uidvalidity, imap_user, "Box")
    assert await subjects(engine, config, "Box", old, [uid]) == [b"Subject: old"]
    await asyncio.to_thread(dovecot.delete_mailbox, imap_user, "Box")
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Box")
    await asyncio.to_thread(dovecot.append_many, imap_user, [message("new")], "Box")
    new = await asyncio.to_thread(dovecot.uidvalidity, imap_user, "Box")
    assert new != old
    with pytest.raises(StaleMailbox):
        await engine.reader.fetch(config, "Box", old, [uid], RAW)
    assert await subjects(engine, config, "Box", new, [uid]) == [b"Subject: new"]


async def test_a_mailbox_that_does_not_open_is_not_found_and_the_connection_reads_on(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    engine.add_account(config)
    [uid] = await asyncio.to_thread(dovecot.append_many, imap_user, [message("here")])
    validity = await asyncio.to_thread(dovecot.uidvalidity, imap_user)
    assert await subjects(engine, config, "INBOX", validity, [uid]) == [b"Subject: here"]
    with pytest.raises(MailboxNotFound):
        await engine.reader.fetch(config, "Nowhere", validity, [uid], RAW)
    with pytest.raises(MailboxNotFound):
        async with JmapReader(engine.reader).open_message(config, "Nowhere", validity, uid):
            pass
    async with engine.command_connection(imap_user.username) as conn:
        assert conn.selected is None
    assert await subjects(engine, config, "INBOX", validity, [uid]) == [b"Subject: here"]
    assert await asyncio.to_thread(dovecot.imap_connection_count, imap_user) == 1
