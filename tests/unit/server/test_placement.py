"""Tests for server.placement: a single node's answers (the cluster's are in cluster/)."""

from __future__ import annotations

import pytest

from switchboard.engine.errors import UnknownAccount
from switchboard.model.accounts import AccountConfig, PasswordAuth, TlsMode
from switchboard.model.store import StoredAccount
from switchboard.server.hub import Hub
from switchboard.server.placement import AccountPlacement, AtStart, LocalPlacement, Placed

CONFIG = AccountConfig("me", "imap.example.org", 993, PasswordAuth("me", "pw"), TlsMode.IMPLICIT)


async def test_a_single_node_watches_everything_itself() -> None:
    placement: AccountPlacement = LocalPlacement()
    hub = Hub()
    assert placement.node_id is None
    assert placement.engine_sink(hub) is hub
    assert placement.at_start(StoredAccount(CONFIG, True, ("INBOX",), 0.0)) is AtStart.WATCH
    assert placement.at_start(StoredAccount(CONFIG, False, (), 0.0)) is AtStart.FORGET
    assert await placement.lookup("me") is None
    assert await placement.place("me") is Placed.HERE
    assert await placement.holders() is None
    assert placement.health() is None
    await placement.changed("me")  # nothing to tell, nothing raised
    with pytest.raises(UnknownAccount):
        await placement.watch_elsewhere("me", ("INBOX",), workers=(), for_workers=True)
