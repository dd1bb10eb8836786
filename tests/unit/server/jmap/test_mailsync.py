"""Tests for server.jmap.mailsync's error mapping, with the engine's writer answering as told.

Email/set against a real Dovecot is tested in tests/integration/server/test_jmap_sync.py;
here the writer refuses or fails in the ways Dovecot cannot easily be made to.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pytest

from switchboard.engine.errors import ConnectionFailed, ImapFailure, NotSupported
from switchboard.engine.writer import Capabilities
from switchboard.jmap.capabilities import MAIL
from switchboard.jmap.dispatch import MethodCall
from switchboard.jmap.errors import ServerPartialFail, ServerUnavailable
from switchboard.jmap.ids import email_id
from switchboard.jmap.state import StateCodec
from switchboard.model.accounts import AccountConfig, PasswordAuth
from switchboard.model.mail import MailboxInfo
from switchboard.server.jmap.mailsync import MailSync
from switchboard.server.jmap.registry import CallContext
from switchboard.server.jmap.states import LogStates

CONFIG = AccountConfig("a", "imap.example", 993, PasswordAuth("a", "p"))
ONE, TWO = email_id("INBOX", 7, 1), email_id("INBOX", 7, 2)


class Told:
    """Configs, lister and writer in one: every message exists; failures as set."""

    def __init__(self) -> None:
        self.store_error: Exception | None = None
        self.destroy_error: Exception | None = None
        self.stored: list[Collection[int]] = []

    def config(self, account_id: str) -> AccountConfig | None:
        return CONFIG

    async def list_mailboxes(self, account: AccountConfig) -> list[MailboxInfo]:
        return [MailboxInfo("INBOX", "INBOX", 7, (), "/")]

    async def capabilities(self, account: AccountConfig) -> Capabilities:
        return Capabilities(move=True, uidplus=True, objectid=False)

    async def existing(self, account: AccountConfig, mailbox: str, uidvalidity: int,
                       uids: Collection[int]) -> dict[int, tuple[str, ...]]:  # fmt: skip
        return {uid: () for uid in uids}

    async def store_flags(self, account: AccountConfig, mailbox: str, uidvalidity: int,
                          uids: Collection[int], *, add: Collection[str] = (),
                          remove: Collection[str] = ()) -> None:  # fmt: skip
        if self.store_error is not None:
            raise self.store_error
        self.stored.append(uids)

    async def move(self, account: AccountConfig, mailbox: str, uidvalidity: int,
                   uids: Collection[int], target: str) -> dict[int, int]:  # fmt: skip
        return {}

    async def destroy(self, account: AccountConfig, mailbox: str, uidvalidity: int,
                      uids: Collection[int]) -> None:  # fmt: skip
        if self.destroy_error is not None:
            raise self.destroy_error


async def email_set(told: Told, states: LogStates, **arguments: Any) -> dict[str, Any]:
    sync = MailSync(told, told, told, states, max_objects_in_set=10)
    context = CallContext("me", {"aA": "a"}, states)
    call = MethodCall("Email/set", {"accountId": "aA", **arguments}, "c", frozenset({MAIL}), {})
    result = await sync.email_set(call, context)
    return dict(result.responses[0][1])


async def test_one_store_for_the_same_change_and_a_refusal_is_forbidden() -> None:
    told, states = Told(), LogStates(StateCodec("ep"))
    seen = {"keywords/$seen": True}
    done = await email_set(told, states, update={ONE: seen, TWO: seen})
    assert done["updated"] == {ONE: None, TWO: None} and told.stored == [[1, 2]]
    told.store_error = ImapFailure("UID STORE failed: NO [READ-ONLY] mailbox is read-only")
    refused = await email_set(told, states, update={ONE: seen})
    assert refused["notUpdated"][ONE]["type"] == "forbidden"
    assert "read-only" in refused["notUpdated"][ONE]["description"]
    told.destroy_error = NotSupported("the IMAP server lacks UIDPLUS (RFC 4315)")
    kept = await email_set(told, states, destroy=[ONE])
    assert kept["notDestroyed"][ONE]["type"] == "forbidden"
    assert kept["oldState"] == kept["newState"]


async def test_a_connection_lost_part_way_is_a_partial_failure() -> None:
    told, states = Told(), LogStates(StateCodec("ep"))
    told.destroy_error = ConnectionFailed("imap.example:993: reset")
    before = states.state("a", "Email")
    with pytest.raises(ServerPartialFail):  # the flag was stored, then the destroy failed
        await email_set(told, states, update={ONE: {"keywords/$seen": True}}, destroy=[TWO])
    assert states.state("a", "Email") != before  # what did change is journaled
    told.store_error = ConnectionFailed("imap.example:993: reset")
    with pytest.raises(ServerUnavailable):  # nothing changed
        await email_set(told, states, update={ONE: {"keywords/$seen": True}})
