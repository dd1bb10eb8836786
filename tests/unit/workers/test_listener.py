"""Unit tests for the pure parts of switchboard.workers.listener (formatting, the handler)."""

from __future__ import annotations

from switchboard.protocol.replies import NewMessagePush, PushSummary
from switchboard.workers.listener import ListenerHandler, format_message
from switchboard.workers.mail import NewMail


def test_a_fetched_message_prefers_the_decoded_subject() -> None:
    push = NewMessagePush("INBOX!7?3", "INBOX!7", "bob", 12)
    mail = NewMail.of(push, {
        "subject": "=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "subjectDecoded": "Grüße",
        "from": [{"name": "Ann", "email": "ann@example.com"}], "to": None,
    })
    assert (mail.account, mail.message_id, mail.event_id) == ("bob", "INBOX!7?3", 12)
    assert format_message(mail) == "bob: 'Grüße' from Ann <ann@example.com> to (nobody)"


def test_format_message() -> None:
    mail = NewMail("bob", "INBOX!7?3", properties={
        "subject": "Hi 'there'", "from": [{"name": "Ann", "email": "ann@example.com"}],
        "to": [{"name": "", "email": "bob@example.com"}, {"name": "Cy", "email": "cy@example.com"}],
    })
    assert format_message(mail) == (
        "bob: \"Hi 'there'\" from Ann <ann@example.com> to bob@example.com, Cy <cy@example.com>"
    )


def test_format_message_without_account_subject_or_addresses() -> None:
    assert format_message(NewMail(None, "INBOX!7?4")) == "(no subject) from (nobody) to (nobody)"


async def test_the_handler_prints_from_the_summary_and_the_fetched_recipients() -> None:
    lines: list[str] = []
    handler = ListenerHandler(write=lines.append)
    assert handler.properties == ("subject", "from", "to")
    push = NewMessagePush("INBOX!1?2", "INBOX!1", "bob", 3,
                          summary=PushSummary("Hello", "Ann <ann@example.com>"))
    await handler(NewMail.of(push, {"to": [{"name": "", "email": "bob@example.com"}]}))
    assert lines == ["bob: 'Hello' from Ann <ann@example.com> to bob@example.com"]
    raw = ListenerHandler(raw=True, write=lines.append)
    assert raw.properties == ("subject", "from", "to", "raw")
    await raw(NewMail("bob", "m", properties={"raw": "Subject: x\r\n\r\nbody\r\n"}))
    assert lines[1:] == ["bob: (no subject) from (nobody) to (nobody)", "Subject: x\n\nbody", ""]
