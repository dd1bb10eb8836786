"""Over the wire, against Dovecot: a push's summary and getMessages say the same of one message.

Tricky messages are appended to a watched INBOX; a worker that asked for summaries reads each
push, then asks getMessages for the message's subject, sender and date, and finds the same
decoded values (as a worker reads them: ``a.get("decodedName", a["name"])``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import plain

pytestmark = pytest.mark.dovecot

# (header block, the subject and sender both must show)
TRICKY: list[tuple[bytes, str | None, str]] = [
    (
        b"Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrCDDoQ==?= =?KOI8-R?B?8NLJ18XU?=\r\n"
        b"From: =?ISO-8859-2?Q?=A3ukasz?= <l@example.pl>\r\n",
        "Café € áПривет",
        "Łukasz <l@example.pl>",
    ),
    (
        b"Subject: Gr\xfc\xdfe aus K\xf6ln\r\nFrom: J\xf6rg M\xfcller <joerg@example.de>\r\n",
        "Grüße aus Köln",
        "Jörg Müller <joerg@example.de>",
    ),
    (
        "Subject: Grüße — €\r\nFrom: Zoë <zoe@example.org>\r\n".encode(),
        "Grüße — €",
        "Zoë <zoe@example.org>",
    ),
    (
        b"Subject: a long subject\r\n\tfolded   with tabs\r\n =?utf-8?q?and_words?=\r\n"
        b"From: Alice\r\n <alice@example.com>\r\n",
        "a long subject folded with tabs and words",
        "Alice <alice@example.com>",
    ),
    (b"From: bob@example.com (Bob)\r\n", None, "Bob <bob@example.com>"),
]


def _sender(addresses: list[dict[str, str]] | None) -> str | None:
    if not addresses:
        return None
    first = addresses[0]
    name = first.get("decodedName", first["name"])
    return f"{name} <{first['email']}>" if name else first["email"]


async def test_a_push_summary_and_get_messages_agree(
    open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    account = imap_user.username
    worker = await open_peer("/workers")
    reply = await worker.call(
        [
            ["connect", plain(dovecot, account, imap_user.password), 1],
            ["watchMailboxes", {"account": account, "list": ["INBOX"], "summary": True}, 2],
        ]
    )
    assert [r[0] for r in reply] == ["connected", "watchingMailboxes"]
    messages = [
        head + b"Date: Tue, 03 Jun 2014 10:00:00 -0700\r\n\r\nbody\r\n" for head, _, _ in TRICKY
    ]
    await asyncio.to_thread(dovecot.append_many, imap_user, messages)
    pushes = [await worker.push() for _ in TRICKY]
    [answer] = await worker.call(
        [
            [
                "getMessages",
                {
                    "account": account,
                    "ids": [push["messageId"] for push in pushes],
                    "properties": ["subject", "from", "date"],
                },
                3,
            ]
        ]
    )
    assert answer[0] == "messages"
    for push, got, (_, subject, sender) in zip(pushes, answer[1]["list"], TRICKY, strict=True):
        summary = push["summary"]
        assert summary["subject"] == got["subjectDecoded"] == subject
        assert summary["from"] == _sender(got["from"]) == sender
        assert summary["date"] == got["date"] == "Tue, 03 Jun 2014 10:00:00 -0700"
