"""The engine's JMAP reader against a real Dovecot: counts, searches, raw messages, parts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.engine import Engine
from switchboard.engine.errors import MailboxNotFound, StaleMailbox
from switchboard.engine.jmapreader import CHUNK_BYTES, JmapReader
from switchboard.engine.searchkeys import imap_search
from switchboard.jmap.emailquery import parse_filter
from switchboard.jmap.search import All
from tests.integration.engine.test_reader import ALTERNATIVE, PLAIN
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.engine import config_for

pytestmark = pytest.mark.dovecot


async def test_mailboxes_carry_special_use_and_status_counts(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Trash")
    await asyncio.to_thread(dovecot.append, imap_user, PLAIN, "INBOX", "\\Seen")
    await asyncio.to_thread(dovecot.append, imap_user, ALTERNATIVE)
    reader = JmapReader(engine.reader)
    found = {m.info.name: m for m in await reader.mailboxes(config_for(dovecot, imap_user))}
    assert set(found) == {"INBOX", "Trash"}
    assert (found["INBOX"].messages, found["INBOX"].unseen) == (2, 1)
    assert found["INBOX"].info.uidvalidity == dovecot.uidvalidity(imap_user)
    assert "\\trash" in {flag.lower() for flag in found["Trash"].info.flags}
    assert found["Trash"].messages == 0


async def test_search_keeps_exact_dates_and_fetches_sort_headers(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    uids = await asyncio.to_thread(dovecot.append_many, imap_user, [PLAIN, ALTERNATIVE])
    uidvalidity = dovecot.uidvalidity(imap_user)
    reader = JmapReader(engine.reader)
    hits = await reader.search(config, "INBOX", uidvalidity, imap_search(All()), ("SUBJECT",))
    assert [h.uid for h in hits] == uids
    assert all(h.internal_date and h.size for h in hits)
    assert hits[1].headers is not None and b"alternative" in hits[1].headers
    by_from = imap_search(parse_filter({"from": "ann@"}))
    assert [h.uid for h in await reader.search(config, "INBOX", uidvalidity, by_from)] == uids[1:]
    # Both arrived within the last minute: "after an hour ago" keeps them, "after a minute
    # from now" keeps none, though IMAP's SINCE (a date) matches both.
    now = datetime.now(UTC)
    for moment, expected in ((now - timedelta(hours=1), uids), (now + timedelta(minutes=1), [])):
        search = imap_search(parse_filter({"after": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}))
        found = await reader.search(config, "INBOX", uidvalidity, search)
        assert [h.uid for h in found] == expected
    with pytest.raises(StaleMailbox):
        await reader.search(config, "INBOX", uidvalidity + 1, imap_search(All()))
    with pytest.raises(MailboxNotFound):
        await reader.search(config, "Nope", 1, imap_search(All()))


async def test_a_raw_message_is_read_in_chunks_and_a_part_whole(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    big = PLAIN.replace(b"plain text\r\n", b"x" * (2 * CHUNK_BYTES + 10) + b"\r\n")
    uid, alt = await asyncio.to_thread(dovecot.append_many, imap_user, [big, ALTERNATIVE])
    uidvalidity = dovecot.uidvalidity(imap_user)
    reader = JmapReader(engine.reader)
    async with reader.open_message(config, "INBOX", uidvalidity, uid) as raw:
        assert raw is not None and raw.size == len(big)
        chunks = [chunk async for chunk in raw.chunks]
    assert len(chunks) == 3 and b"".join(chunks) == big
    async with reader.open_message(config, "INBOX", uidvalidity, uid + 100) as missing:
        assert missing is None
    found = await reader.part(config, "INBOX", uidvalidity, alt, "2")
    assert found is not None
    part, data = found
    assert (part.maintype, part.subtype) == ("text", "html")
    assert data == b"<p>the <b>html</b></p>"
    assert await reader.part(config, "INBOX", uidvalidity, alt, "3") is None
