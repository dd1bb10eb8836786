"""Pushes carry a decoded summary when the subscriber asks with "summary": true."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import message, plain

pytestmark = pytest.mark.dovecot


async def test_summary_only_for_those_who_ask(
    open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    account = imap_user.username
    asking = await open_peer("/workers")
    plain_worker = await open_peer("/workers")
    reply = await asking.call(
        [
            ["connect", plain(dovecot, account, imap_user.password), 1],
            ["watchMailboxes", {"account": account, "list": ["INBOX"]}, 2],
            ["watchAll", {"summary": True}, 3],
        ]
    )
    assert [r[0] for r in reply] == ["connected", "watchingMailboxes", "watchingAll"]
    assert await plain_worker.call([["watchAll", {}, 1]]) == [["watchingAll", {}, 1]]

    uid = await asyncio.to_thread(
        dovecot.append,
        imap_user,
        message("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", from_="=?UTF-8?Q?Bj=C3=B6rn?= <bjorn@example.com>"),
    )
    with_summary = await asking.push()
    without = await plain_worker.push()
    assert with_summary["messageId"] == without["messageId"]
    assert with_summary["messageId"].endswith(f"?{uid}")
    summary = with_summary["summary"]
    assert summary["subject"] == "Grüße"
    assert "Björn" in summary["from"] and "bjorn@example.com" in summary["from"]
    assert summary["date"] == "Tue, 03 Jun 2014 10:00:00 -0700"
    assert isinstance(summary["size"], int) and summary["size"] > 0
    assert "summary" not in without  # old clients see exactly the original keys plus eventId

    # A resumed stream replays with the same shape.
    resumed = await open_peer("/workers")
    since = with_summary["eventId"] - 1
    assert await resumed.call([["watchAll", {"since": since, "summary": True}, 1]]) == [
        ["watchingAll", {}, 1]
    ]
    replayed = await resumed.push()
    assert replayed["eventId"] == with_summary["eventId"]
    assert replayed["summary"] == summary


async def test_summary_must_be_a_boolean(open_peer: Any) -> None:
    peer = await open_peer("/workers")
    [reply] = await peer.call([["watchAll", {"summary": "yes"}, 1]])
    assert reply[0] == "error" and reply[1]["type"] == "badArgs"
