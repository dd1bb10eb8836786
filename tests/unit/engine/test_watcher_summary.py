"""The watcher's push summary: a decoder failure announces the message without its fields."""

from __future__ import annotations

import logging

import pytest

from switchboard.engine import watcher
from switchboard.imap.responses import Fetch
from switchboard.model.events import MessageSummary

HEADER = "BODY[HEADER.FIELDS (DATE SUBJECT FROM)]"


def test_a_message_is_summarized_from_its_header_fields() -> None:
    fetch = Fetch(seq=1, uid=7, size=120, sections={HEADER: b"Subject: Hello\r\n\r\n"})
    assert watcher._summary(fetch).subject == "Hello"


def test_a_summary_that_raises_still_announces_the_message(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(header: bytes, size: int | None) -> MessageSummary:
        raise UnicodeError("a decoder bug")

    monkeypatch.setattr(watcher, "summary_of", broken)
    fetch = Fetch(seq=1, uid=7, size=120, sections={HEADER: b"Subject: x\r\n\r\n"})
    with caplog.at_level(logging.ERROR, logger="switchboard.engine.watcher"):
        assert watcher._summary(fetch) == MessageSummary(size=120)
    assert "announced without it" in caplog.text
