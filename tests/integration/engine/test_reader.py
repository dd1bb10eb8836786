"""The engine's reader against a real Dovecot: mailboxes, UIDs and messages in the model's terms.

An account the engine holds is read on its warm command connection; one it does not hold (a
cluster node serving an account another node watches) on a connection opened for the call and
logged out after it. Only the engine's errors come out.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from contextlib import aclosing

import pytest

from switchboard.engine import Engine
from switchboard.engine.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    EngineError,
    MailboxNotFound,
    StaleMailbox,
)
from switchboard.mail.render import MessagePlan
from switchboard.model.mail import BodySection, FetchPlan
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.engine import config_for

pytestmark = pytest.mark.dovecot

TIMEOUT_S = 10.0

PLAIN = (
    b"From: =?UTF-8?Q?Bj=C3=B6rn?= <bjorn@example.com>\r\nTo: user@example.com\r\n"
    b"Subject: Gr\xfc\xdfe\r\nDate: Tue, 03 Jun 2014 10:00:00 -0700\r\n\r\nplain text\r\n"
)
ALTERNATIVE = (
    b"From: ann@example.com\r\nSubject: alternative\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nthe text\r\n"
    b"--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>the <b>html</b></p>\r\n--B--\r\n"
)


async def until(predicate: Callable[[], bool]) -> None:
    """Wait for Dovecot's process table to show a condition (polled: it has no event)."""
    deadline = time.monotonic() + TIMEOUT_S
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_an_account_the_engine_holds_is_read_on_its_command_connection(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    engine.add_account(config)
    dovecot.create_mailbox(imap_user, "Café")
    uids = await asyncio.to_thread(dovecot.append_many, imap_user, [PLAIN, ALTERNATIVE])
    validity = await asyncio.to_thread(dovecot.uidvalidity, imap_user)

    mailboxes = {m.name: m for m in await engine.reader.list_mailboxes(config)}
    assert set(mailboxes) == {"INBOX", "Caf&AOk-"}
    assert mailboxes["Caf&AOk-"].display_name == "Café"
    assert mailboxes["INBOX"].uidvalidity == validity and mailboxes["INBOX"].selectable
    assert await engine.reader.message_uids(config, "INBOX", validity) == uids

    plan = MessagePlan(["subject", "from", "htmlBody", "preview", "isUnread", "size"])
    fetched = await engine.reader.fetch(config, "INBOX", validity, [*uids, 999], plan.fetch)
    assert [m.uid for m in fetched] == uids  # UID 999 does not exist: left out
    plain, alternative = fetched
    assert plain.headers is not None and b"Subject: Gr\xfc\xdfe" in plain.headers
    assert plain.flags is not None and "\\Seen" not in plain.flags
    assert plain.size == len(PLAIN)
    assert alternative.body_structure is not None
    assert alternative.body_structure.maintype == "multipart"
    # The second stage fetched the HTML part whole and a prefix of the text part.
    assert alternative.sections == {
        BodySection("2"): b"<p>the <b>html</b></p>",
        BodySection("1", (0, 16384)): b"the text",
    }
    out = plan.render(alternative, message_id="m", mailbox_id="b")
    assert (out["htmlBody"], out["preview"]) == ("<p>the <b>html</b></p>", "the text")
    assert plan.render(plain, message_id="m", mailbox_id="b")["subjectDecoded"] == "Grüße"

    # Reading set no flag (EXAMINE, BODY.PEEK), and all of it ran on one connection.
    again = await engine.reader.fetch(config, "INBOX", validity, uids, FetchPlan(flags=True))
    assert all(m.flags is not None and "\\Seen" not in m.flags for m in again)
    assert dovecot.imap_connection_count(imap_user) == 1


async def test_a_fetch_of_many_messages_is_pipelined_in_chunks_and_read_whole(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    engine.add_account(config)
    messages = [b"Subject: m%d\r\n\r\n" % n + b"body %d\r\n" % n * (n % 7) for n in range(300)]
    uids = await asyncio.to_thread(dovecot.append_many, imap_user, messages)
    validity = await asyncio.to_thread(dovecot.uidvalidity, imap_user)
    raw = FetchPlan(sections=(BodySection(""),))
    # Every other UID (no ranges to merge), ones that do not exist, and duplicates.
    wanted = [*uids[::2], 10_000, 10_001, uids[0]]
    chunks = [chunk async for chunk in engine.reader.fetch_chunks(
        config, "INBOX", validity, wanted, raw)]
    assert len(chunks) > 1
    got = [m for chunk in chunks for m in chunk]
    assert [m.uid for m in got] == uids[::2]
    assert [m.sections[BodySection("")] for m in got] == messages[::2]
    whole = await engine.reader.fetch(config, "INBOX", validity, uids, raw)
    assert [m.sections[BodySection("")] for m in whole] == messages

    # Leaving early leaves the connection usable: the next call reads what it asks for.
    async with aclosing(engine.reader.fetch_chunks(config, "INBOX", validity, uids, raw)) as it:
        async for _ in it:
            break
    again = await engine.reader.fetch(config, "INBOX", validity, uids[-3:], raw)
    assert [m.sections[BodySection("")] for m in again] == messages[-3:]
    assert dovecot.imap_connection_count(imap_user) == 1


async def test_mailboxes_that_cannot_be_read(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    engine.add_account(config)
    validity = await asyncio.to_thread(dovecot.uidvalidity, imap_user)
    reader = engine.reader
    for name, text in [
        ("Nope", "no mailbox named 'Nope'"),
        ("&Jjo", "no mailbox named '&Jjo': "),  # Dovecot: "Mailbox name is not valid mUTF-7"
        ("a\x01b", "control character"),
        ("x" * 8001, "over 8000 bytes"),
    ]:
        with pytest.raises(MailboxNotFound, match=text) as found:
            await reader.message_uids(config, name, validity)
        assert found.value.mailbox == name
    with pytest.raises(StaleMailbox) as stale:
        await reader.fetch(config, "INBOX", validity + 1, [1], FetchPlan(flags=True))
    assert (stale.value.expected, stale.value.actual) == (validity + 1, validity)
    # The connection is still good for the next call.
    assert await reader.message_uids(config, "INBOX", validity) == []


async def test_an_account_the_engine_does_not_hold_gets_a_connection_of_its_own(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    config = config_for(dovecot, imap_user)
    [uid] = await asyncio.to_thread(dovecot.append_many, imap_user, [PLAIN])
    validity = await asyncio.to_thread(dovecot.uidvalidity, imap_user)
    assert not engine.has_account(config.account_id)

    assert [m.name for m in await engine.reader.list_mailboxes(config)] == ["INBOX"]
    fetched = await engine.reader.fetch(config, "INBOX", validity, [uid], FetchPlan(size=True))
    assert [(m.uid, m.size) for m in fetched] == [(uid, len(PLAIN))]
    await until(lambda: dovecot.imap_connection_count(imap_user) == 0)  # logged out after


async def test_only_engine_errors_come_out(
    engine: Engine, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    wrong = config_for(dovecot, imap_user, password="wrong")
    with pytest.raises(AuthenticationFailed) as refused:
        await engine.reader.list_mailboxes(wrong)
    assert "wrong" not in str(refused.value)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    with pytest.raises(ConnectionFailed):
        await engine.reader.list_mailboxes(config_for(dovecot, imap_user, port=closed_port))
    engine.add_account(wrong)
    with pytest.raises(EngineError) as held:
        await engine.reader.message_uids(wrong, "INBOX", 1)
    assert isinstance(held.value, AuthenticationFailed)
