"""FetchPlan to IMAP FETCH items, and FETCH responses back to the model's messages."""

from __future__ import annotations

import pytest

from switchboard.engine.fetchplan import (
    body_part,
    fetch_items,
    fetched_message,
    section_items,
    with_sections,
)
from switchboard.imap import responses
from switchboard.imap.parser import ResponseParser
from switchboard.model.mail import BodyPart, BodySection, FetchedMessage, FetchPlan


@pytest.mark.parametrize(
    ("plan", "items"),
    [
        (FetchPlan(), "(UID)"),
        (
            FetchPlan(flags=True, size=True, internal_date=True, body_structure=True),
            "(UID FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE)",
        ),
        (
            FetchPlan(header_fields=("SUBJECT", "FROM")),
            "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])",
        ),
        (
            FetchPlan(sections=(BodySection(""), BodySection("TEXT"), BodySection("2.1.MIME"))),
            "(UID BODY.PEEK[] BODY.PEEK[TEXT] BODY.PEEK[2.1.MIME])",
        ),
        (FetchPlan(sections=(BodySection("1", (0, 16384)),)), "(UID BODY.PEEK[1]<0.16384>)"),
    ],
)
def test_fetch_items(plan: FetchPlan, items: str) -> None:
    assert fetch_items(plan) == items


@pytest.mark.parametrize(
    "plan",
    [
        FetchPlan(header_fields=("SUBJECT)] BODY[",)),
        FetchPlan(header_fields=("",)),
        FetchPlan(sections=(BodySection("1 2"),)),
        FetchPlan(sections=(BodySection("0"),)),
        FetchPlan(sections=(BodySection("HEADER]"),)),
        FetchPlan(sections=(BodySection("1", (0, 0)),)),
        FetchPlan(sections=(BodySection("1", (-1, 5)),)),
    ],
)
def test_what_imap_cannot_carry_is_refused(plan: FetchPlan) -> None:
    with pytest.raises(ValueError, match="not"):
        fetch_items(plan)


def _fetch(data: bytes) -> responses.Fetch:
    parser = ResponseParser()
    parser.receive_data(data)
    response = parser.next_response()
    assert isinstance(response, responses.Fetch)
    return response


def test_a_response_read_back() -> None:
    plan = FetchPlan(
        flags=True,
        size=True,
        header_fields=("SUBJECT", "FROM"),
        body_structure=True,
        sections=(BodySection("TEXT"), BodySection("1", (0, 10))),
    )
    response = _fetch(
        b"* 3 FETCH (UID 7 FLAGS (\\Seen) RFC822.SIZE 99 "
        # The server names the field list its own way; the block is found all the same.
        b'BODY[HEADER.FIELDS ("Subject" from)] {14}\r\nSubject: x\r\n\r\n '
        b'BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 3 1 NIL NIL NIL NIL) '
        b"BODY[TEXT] {3}\r\nabc BODY[1]<0> {3}\r\nabc BODY[2] {1}\r\nz)\r\n"
    )
    message = fetched_message(response, plan)
    assert message == FetchedMessage(
        uid=7,
        flags=("\\Seen",),
        size=99,
        headers=b"Subject: x\r\n\r\n",
        body_structure=BodyPart(
            "text", "plain", {"charset": b"utf-8"}, encoding="7BIT", size=3, lines=1
        ),
        sections={BodySection("TEXT"): b"abc", BodySection("1", (0, 10)): b"abc"},
    )  # BODY[2] was not asked for: left out


def test_what_was_not_sent_stays_none() -> None:
    plan = FetchPlan(flags=True, header_fields=("SUBJECT",), sections=(BodySection("TEXT"),))
    assert fetched_message(_fetch(b"* 1 FETCH (UID 4)\r\n"), plan) == FetchedMessage(4)
    with pytest.raises(ValueError, match="UID"):
        fetched_message(_fetch(b"* 1 FETCH (FLAGS ())\r\n"), plan)


def test_a_second_stage_adds_its_sections() -> None:
    first = FetchedMessage(5, sections={BodySection("TEXT"): b"t"})
    later = [BodySection("2"), BodySection("1", (0, 100))]
    assert section_items(later) == "(UID BODY.PEEK[2] BODY.PEEK[1]<0.100>)"
    response = _fetch(b"* 1 FETCH (UID 5 BODY[2] {1}\r\nh BODY[1]<0> NIL)\r\n")
    assert with_sections(first, response, later).sections == {
        BodySection("TEXT"): b"t",
        BodySection("2"): b"h",
        BodySection("1", (0, 100)): None,
    }


def test_body_structure_becomes_the_models_tree() -> None:
    inner = responses.BodyPart("text", "html", {"charset": b"utf-8"}, size=5)
    forwarded = responses.BodyPart(
        "message",
        "rfc822",
        envelope=responses.Envelope(None, b"s", None, None, None, None, None, None, None, None),
        body=inner,
        size=300,
    )
    tree = responses.BodyPart(
        "multipart",
        "mixed",
        {"boundary": b"B"},
        parts=(
            responses.BodyPart(
                "application",
                "pdf",
                disposition=("attachment", {"filename": b"a.pdf"}),
                content_id=b"<c>",
                md5=b"m",
                language=("en",),
                location=b"l",
                description=b"d",
                encoding="BASE64",
            ),
            forwarded,
        ),
    )
    assert body_part(tree) == BodyPart(
        "multipart",
        "mixed",
        {"boundary": b"B"},
        parts=(
            BodyPart(
                "application",
                "pdf",
                disposition=("attachment", {"filename": b"a.pdf"}),
                content_id=b"<c>",
                md5=b"m",
                language=("en",),
                location=b"l",
                description=b"d",
                encoding="BASE64",
            ),
            BodyPart(
                "message", "rfc822", body=BodyPart("text", "html", {"charset": b"utf-8"}, size=5),
                size=300,
            ),
        ),
    )
