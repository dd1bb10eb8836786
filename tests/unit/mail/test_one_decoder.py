"""One message decodes one way: a push's summary and getMessages always agree.

For each tricky header block (encoded-words in several charsets, undeclared 8-bit Latin-1 and
UTF-8, folded fields, missing and empty fields…), the engine's summary (``mail.summary``) and
the server's rendering (``mail.render``, from the envelope's header fields and from ``raw``)
must give the same subject, sender and date, as a worker reads them
(``a.get("decodedName", a["name"])``, docs/protocol.md).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.mail.render import MessagePlan
from switchboard.mail.summary import MAX_FIELD_CHARS, summarize
from switchboard.model.events import MessageSummary
from switchboard.model.mail import BodySection, FetchedMessage

TRICKY = {
    "charsets": (
        b"Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrCDDoQ==?= =?KOI8-R?B?8NLJ18XU?=\r\n"
        b" =?Shift_JIS?B?k/qWe4zq?= =?windows-1252?q?=80=97?= =?GB2312?B?1tDOxA==?=\r\n"
        b"From: =?ISO-8859-2?Q?=A3ukasz?= <l@x.pl>\r\n"
        b"Date: Mon, 02 Jan 2017 10:00:00 +0000\r\n\r\n"
    ),
    "latin1": (
        b"Subject: Gr\xfc\xdfe aus K\xf6ln \x80\r\n"
        b"From: J\xf6rg M\xfcller <joerg@example.de>\r\n\r\n"
    ),
    "utf8": "Subject: Grüße aus Köln — €\r\nFrom: Jörg Müller <joerg@example.de>\r\n\r\n".encode(),
    # UTF-8 and Latin-1 in one line, around an encoded-word: each stretch decoded on its own.
    "mixed 8-bit and words": (
        b"Subject: Gr\xc3\xbc\xc3\x9fe =?utf-8?q?aus?= K\xf6ln\r\n"
        b'From: "Zo\xeb =?utf-8?q?Z?=" <z@x>\r\n\r\n'
    ),
    "folded": (
        b"Subject: a long subject\r\n\tthat was folded   with tabs\r\n  and spaces  \r\n"
        b"From: Alice\r\n <alice@example.com>\r\n"
        b"Date: Mon, 02 Jan 2017\r\n 10:00:00 +0000\r\n\r\n"
    ),
    "split character": (
        b"Subject: =?UTF-8?B?w4==?=\r\n =?UTF-8?B?nA==?= and =?utf-8?q?a__b?=\r\n"
        b"From: =?utf-8?q?Line=0D=0ABreak?= <lb@x>\r\n\r\n"
    ),
    "missing subject": b"From: bob@example.com\r\nDate: Tue, 1 Jan 2019 00:00:00 +0000\r\n\r\n",
    "empty subject": b"Subject:\r\nFrom: \r\n\r\n",
    "repeated": (
        b"Subject: first\r\nSubject: =?utf-8?q?second_=C3=A9?=\r\n"
        b"From: a@x.y\r\nFrom: b@x.y\r\nDate: d1\r\nDate: d2\r\n\r\n"
    ),
    "groups and comments": (
        b"Subject: plain\r\n"
        b"From: undisclosed-recipients:;, bob@x.y (Bob =?utf-8?q?B=C3=B6?=)\r\n\r\n"
    ),
    "no domain": b"Subject: x\r\nFrom: bob\r\n\r\n",
    "broken words": (
        b"Subject: =?utf-8?b?!!!?= =?x-unknown?q?abc?= =?UTF-8?X?bad?= =?\xff?q?a?=\r\n"
        b"From: =?utf-8?q?unterminated <u@x>\r\n\r\n"
    ),
    "no header fields": b"\r\n",
}

HEADER_PROPERTIES = ["subject", "from", "date"]


def _sender(addresses: list[dict[str, str]] | None) -> str | None:
    """The first sender as a worker reads it from getMessages' ``from``."""
    if not addresses:
        return None
    first = addresses[0]
    name = first.get("decodedName", first["name"])
    return f"{name} <{first['email']}>" if name else first["email"]


def _rendered(plan: MessagePlan, message: FetchedMessage) -> dict[str, Any]:
    return plan.render(message, message_id="INBOX!1?1", mailbox_id="INBOX!1")


def _both_agree(block: bytes) -> MessageSummary:
    summary = summarize(FetchedMessage(1, headers=block))
    from_fields = _rendered(MessagePlan(HEADER_PROPERTIES), FetchedMessage(1, headers=block))
    raw = block + b"body\r\n"
    from_raw = _rendered(
        MessagePlan(["raw", *HEADER_PROPERTIES]),
        FetchedMessage(1, sections={BodySection(""): raw}),
    )
    for rendered in (from_fields, from_raw):
        decoded = rendered["subjectDecoded"]
        assert summary.subject == (decoded[:MAX_FIELD_CHARS] if decoded is not None else None)
        assert summary.from_ == _sender(rendered["from"])
        assert summary.date == rendered["date"]
    return summary


@pytest.mark.parametrize("block", TRICKY.values(), ids=TRICKY.keys())
def test_summary_and_get_messages_agree(block: bytes) -> None:
    _both_agree(block)


def test_what_they_agree_on() -> None:
    assert _both_agree(TRICKY["charsets"]) == MessageSummary(
        subject="Café € áПривет日本語€—中文",  # no space between words (RFC 2047 §6.2)
        from_="Łukasz <l@x.pl>",
        date="Mon, 02 Jan 2017 10:00:00 +0000",
    )
    assert _both_agree(TRICKY["latin1"]).subject == "Grüße aus Köln €"
    assert _both_agree(TRICKY["latin1"]).from_ == "Jörg Müller <joerg@example.de>"
    assert _both_agree(TRICKY["utf8"]).subject == "Grüße aus Köln — €"
    mixed = _both_agree(TRICKY["mixed 8-bit and words"])
    assert (mixed.subject, mixed.from_) == ("Grüße aus Köln", "Zoë Z <z@x>")
    folded = _both_agree(TRICKY["folded"])
    assert folded.subject == "a long subject that was folded with tabs and spaces"
    assert folded.from_ == "Alice <alice@example.com>"
    assert folded.date == "Mon, 02 Jan 2017 10:00:00 +0000"
    assert _both_agree(TRICKY["split character"]).subject == "Ü and a b"
    assert _both_agree(TRICKY["missing subject"]).subject is None
    assert _both_agree(TRICKY["empty subject"]) == MessageSummary(subject="")
    assert _both_agree(TRICKY["repeated"]) == MessageSummary(
        subject="second é", from_="a@x.y", date="d2"
    )
    assert _both_agree(TRICKY["groups and comments"]).from_ == "Bob Bö <bob@x.y>"
    assert _both_agree(TRICKY["no domain"]).from_ == "bob@"
    assert _both_agree(TRICKY["no header fields"]) == MessageSummary()


PIECES = st.sampled_from(
    [
        b"Subject: ", b"From: ", b"Date: ", b"Reply-To: ", b"\r\n", b"\r\n ", b"\r\n\t", b" ",
        b"  ", b"\t", b"plain", b"=?utf-8?q?a__b?=", b"=?UTF-8?B?w4==?=", b"=?UTF-8?B?nA==?=",
        b"=?iso-8859-1?q?caf=E9?=", b"=?utf-8?b?!!?=", b"\xe9", b"\xc3\xa9", b"\x80", b"\xff",
        b"<a@b.c>", b"x@y", b"G:", b";", b",", b"(c)", b'"q w"', b"=?", b"?=", b"@",
    ]
)  # fmt: skip


@given(st.lists(PIECES, max_size=40))
def test_any_header_block_decodes_one_way(pieces: list[bytes]) -> None:
    _both_agree(b"".join(pieces) + b"\r\n\r\n")
