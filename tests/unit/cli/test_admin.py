"""Tests for switchboard.cli.admin's pure parts: the watch set ``accounts add`` asks for."""

from __future__ import annotations

from switchboard.cli.admin import watched_after


def test_a_new_account_watches_inbox_unless_told_otherwise() -> None:
    assert watched_after([], [], []) == ["INBOX"]
    assert watched_after([], ["Sent"], []) == ["Sent"]


def test_watch_adds_and_unwatch_removes_on_an_existing_account() -> None:
    assert watched_after(["INBOX"], ["Sent", "INBOX"], []) == ["INBOX", "Sent"]
    assert watched_after(["INBOX", "Sent"], [], ["INBOX"]) == ["Sent"]
    assert watched_after(["INBOX"], [], []) == ["INBOX"]  # nothing asked, nothing changes
    assert watched_after(["INBOX"], [], ["INBOX"]) == []  # the command refuses this one
