"""getMessages rendering: what a request needs fetched and the JSON objects it returns.

Most rows run the server's whole flow on real Dovecot data (``dovecot_fetch``): build the plan,
answer its first stage with exactly the items it asks for (as the engine's reader would get
them from Dovecot), answer its second stage from captured part bytes (a plan asking for a part
that was not captured fails), render. The rest are messages built by hand from the original
server's recorded frames and for edge cases.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from switchboard.engine.fetchplan import fetch_items, fetched_message, section_items, with_sections
from switchboard.imap.parser import ResponseParser
from switchboard.imap.responses import Fetch
from switchboard.mail.render import (
    MAX_SAFE_INTEGER,
    PREVIEW_CHARS,
    PREVIEW_SOURCE_BYTES,
    PROPERTIES,
    MessagePlan,
)
from switchboard.model.mail import BodyPart, BodySection, FetchedMessage
from switchboard.protocol import wirejson
from switchboard.protocol.ids import MailboxId, MessageId
from switchboard.protocol.methods import SUPPORTED_PROPERTIES

from . import dovecot_fetch

INBOX = MailboxId("INBOX", 200)


def _parse(data: bytes) -> dict[int, Fetch]:
    parser = ResponseParser()
    parser.receive_data(data)
    found: dict[int, Fetch] = {}
    while (response := parser.next_response()) is not None:
        if isinstance(response, Fetch):
            assert response.uid is not None
            found[response.uid] = response
    return found


FIRST = _parse(dovecot_fetch.FETCH_ALL)
HEADER_FIELDS = _parse(dovecot_fetch.HEADER_FIELDS)
PARTS: dict[int, dict[str, bytes | None]] = {}
for _capture in (
    dovecot_fetch.SECOND_3,
    dovecot_fetch.SECOND_4_5,
    dovecot_fetch.SECOND_1_2_6_8,
    dovecot_fetch.SECOND_7,
):
    for _uid, _fetch in _parse(_capture).items():
        PARTS.setdefault(_uid, {}).update(_fetch.sections)


def _items(items: str) -> list[str]:
    assert items.startswith("(UID") and items.endswith(")"), items
    # "BODY.PEEK[HEADER.FIELDS (A B)]" is one item.
    return items[1:-1].replace("FIELDS (", "FIELDS(").split()


def _answer_first(uid: int, plan: MessagePlan) -> FetchedMessage:
    """What the reader gets from Dovecot for ``plan``'s first stage: only the items asked for."""
    full = FIRST[uid]
    items = fetch_items(plan.fetch)
    tokens = _items(items)
    sections: dict[str, bytes | None] = {}
    for token in tokens:
        if token.startswith("BODY.PEEK[HEADER.FIELDS"):
            sections.update(HEADER_FIELDS[uid].sections)
        elif token.startswith("BODY.PEEK["):
            key = token.replace(".PEEK", "")
            sections[key] = full.sections[key]
    response = Fetch(
        seq=full.seq,
        uid=full.uid,
        flags=full.flags if "FLAGS" in tokens else None,
        size=full.size if "RFC822.SIZE" in tokens else None,
        bodystructure=full.bodystructure if "BODYSTRUCTURE" in tokens else None,
        sections=sections,
    )
    return fetched_message(response, plan.fetch)


def _second_items(plan: MessagePlan, first: FetchedMessage) -> str | None:
    stage = plan.fetch.second_stage
    sections = stage(first) if stage is not None else ()
    return section_items(sections) if sections else None


def _answer_second(plan: MessagePlan, first: FetchedMessage) -> FetchedMessage:
    """The first stage's message with what Dovecot answers to the second stage's FETCH."""
    stage = plan.fetch.second_stage
    sections = stage(first) if stage is not None else ()
    if not sections:
        return first
    uid = first.uid
    answered: dict[str, bytes | None] = {}
    for token in _items(section_items(sections))[1:]:
        # BODY.PEEK[1]<0.16384> is answered as BODY[1]<0> (RFC 3501 §7.4.2).
        key = token.replace(".PEEK", "").replace(f"<0.{PREVIEW_SOURCE_BYTES}>", "<0>")
        assert key in PARTS.get(uid, {}), f"UID {uid}: plan asked for {token}, not captured"
        answered[key] = PARTS[uid][key]
    return with_sections(first, Fetch(seq=uid, uid=uid, sections=answered), sections)


def _render(plan: MessagePlan, message: FetchedMessage, mailbox: MailboxId = INBOX) -> Any:
    message_id = MessageId(mailbox, message.uid)
    return plan.render(message, message_id=message_id.encode(), mailbox_id=mailbox.encode())


def _run(uid: int, properties: list[str]) -> dict[str, Any]:
    """The server's flow for one message of the Dovecot fixture."""
    plan = MessagePlan(properties)
    message = _answer_second(plan, _answer_first(uid, plan))
    result: dict[str, Any] = _render(plan, message)
    return result


def _strip_companions(value: Any) -> Any:
    """Drop the keys the original never sent, to compare with its frames."""
    if isinstance(value, dict):
        return {
            k: _strip_companions(v)
            for k, v in value.items()
            if k not in ("subjectDecoded", "decodedName")
        }
    if isinstance(value, list):
        return [_strip_companions(v) for v in value]
    return value


# A getMessages reply recorded from the original server: its two objects verbatim (keys in its
# reversed order).
FRAME_5_OBJECTS = [
    r'{"mailboxId":"INBOX!200","messageId":"INBOX!200?1","textBody":"Plain body line 1\r\nCafé'
    r' \"quoted\" back\\slash / tab\there\r\n","size":376,"date":"Mon, 02 Jan 2017 10:00:00 +00'
    r'00","cc":[{"name":"Carol","email":"carol@example.org"},{"name":"","email":"dave@example.n'
    r'et"}],"to":[{"name":"User One","email":"user1@localhost"}],"from":[{"name":"Alice Example'
    r'","email":"alice@example.com"}],"subject":"Hello from the seed"}',
    r'{"mailboxId":"INBOX!200","messageId":"INBOX!200?2","textBody":"--BOUNDARY\r\nContent-Typ'
    r"e: text/plain; charset=us-ascii\r\n\r\nSee attachment.\r\n--BOUNDARY\r\nContent-Type: app"
    r"lication/octet-stream; name=\"a.bin\"\r\nContent-Disposition: attachment; filename=\"a.b"
    r'in\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgc=\r\n--BOUNDARY--\r\n","size"'
    r':516,"date":"Tue, 03 Jan 2017 11:30:00 -0800","cc":null,"to":[{"name":"","email":"user1@l'
    r'ocalhost"}],"from":[{"name":"=?UTF-8?Q?Bj=C3=B6rn?=","email":"bjorn@example.com"}],"subj'
    r'ect":"=?UTF-8?B?w5xtbGF1dCBzdWJqZWN0?="}',
]
FRAME_5_REQUEST = [
    "subject",
    "from",
    "to",
    "cc",
    "date",
    "size",
    "textBody",
    "messageId",
    "mailboxId",
]


@pytest.mark.parametrize("uid", [1, 2])
def test_frame_5_values_match_the_original_byte_for_byte(uid: int) -> None:
    out = _run(uid, FRAME_5_REQUEST)
    original_order = {key: out[key] for key in reversed(FRAME_5_REQUEST)}
    assert wirejson.dumps(_strip_companions(original_order)) == FRAME_5_OBJECTS[uid - 1]


def test_frame_5_keys_in_request_order_with_decoded_companions() -> None:
    out = _run(2, FRAME_5_REQUEST)
    assert list(out) == [*FRAME_5_REQUEST, "subjectDecoded"]
    assert out["subject"] == "=?UTF-8?B?w5xtbGF1dCBzdWJqZWN0?="
    assert out["subjectDecoded"] == "Ümlaut subject"
    assert out["from"] == [
        {"name": "=?UTF-8?Q?Bj=C3=B6rn?=", "email": "bjorn@example.com", "decodedName": "Björn"}
    ]
    assert out["cc"] is None
    # An address whose name needs no decoding stays exactly the original's object.
    assert _run(1, ["from"])["from"] == [{"name": "Alice Example", "email": "alice@example.com"}]


def test_frame_4_raw_hand_built() -> None:
    raw = (
        b"From: Latency Probe <probe@example.com>\r\nTo: user1@localhost\r\nSubject: appended 0"
        b"\r\nDate: Wed, 04 Jan 2017 12:00:00 +0000\r\nMessage-ID: <appended-0@example.com>\r\n"
        b"\r\nbody of appended 0\r\n"
    )
    plan = MessagePlan(["raw"])
    assert fetch_items(plan.fetch) == "(UID BODY.PEEK[])"
    out = _render(plan, FetchedMessage(3, sections={BodySection(""): raw}))
    assert wirejson.dumps(out) == (
        r'{"raw":"From: Latency Probe <probe@example.com>\r\nTo: user1@localhost\r\nSubject: app'
        r"ended 0\r\nDate: Wed, 04 Jan 2017 12:00:00 +0000\r\nMessage-ID: <appended-0@example.c"
        r'om>\r\n\r\nbody of appended 0\r\n"}'
    )


ENVELOPE_ITEM = (
    "BODY.PEEK[HEADER.FIELDS (DATE SUBJECT FROM SENDER REPLY-TO TO CC BCC MESSAGE-ID)]"
)


def _headers(**fields: bytes) -> bytes:
    """A header block with ``fields`` (``reply_to=`` for Reply-To) in order."""
    lines = [
        name.replace("_", "-").title().encode() + b": " + value + b"\r\n"
        for name, value in fields.items()
    ]
    return b"".join(lines) + b"\r\n"


def test_section_8_case_9_hand_built() -> None:
    alice = b"Alice Example <alice@example.com>"
    first = {
        1: FetchedMessage(
            uid=1,
            size=180,
            headers=_headers(
                date=b"Tue, 03 Jun 2014 10:00:00 -0700",
                subject=b"Hello one",
                **{"from": alice},
                sender=alice,
                reply_to=alice,
                to=b"bob@example.com",
            ),
            sections={BodySection("TEXT"): b"First body\r\n"},
        ),
        2: FetchedMessage(
            uid=2,
            size=200,
            headers=_headers(
                subject=b"Second",
                **{"from": b"carol@example.com"},
                reply_to=b"carol@example.com",
                to=b"Bob <bob@example.com>, dave@example.com",
                cc=b"eve@example.com",
            ),
            sections={BodySection("TEXT"): b"x"},
        ),
    }
    request = ["messageId", "from", "to", "cc", "bcc", "replyTo", "subject", "date", "size"]
    request.append("textBody")
    plan = MessagePlan(request)
    assert fetch_items(plan.fetch) == f"(UID RFC822.SIZE {ENVELOPE_ITEM} BODY.PEEK[TEXT])"
    assert plan.fetch.second_stage is None
    inbox = MailboxId("INBOX", 1)
    one = _render(plan, first[1], inbox)
    assert one == {
        "messageId": "INBOX!1?1",
        "from": [{"name": "Alice Example", "email": "alice@example.com"}],
        "to": [{"name": "", "email": "bob@example.com"}],
        "cc": None,
        "bcc": None,
        "replyTo": [{"name": "Alice Example", "email": "alice@example.com"}],
        "subject": "Hello one",
        "subjectDecoded": "Hello one",
        "date": "Tue, 03 Jun 2014 10:00:00 -0700",
        "size": 180,
        "textBody": "First body\r\n",
    }
    assert list(one) == [*request, "subjectDecoded"]
    two = _render(plan, first[2], inbox)
    assert two["to"] == [
        {"name": "Bob", "email": "bob@example.com"},
        {"name": "", "email": "dave@example.com"},
    ]
    assert two["cc"] == [{"name": "", "email": "eve@example.com"}]
    assert two["date"] is None  # no Date: null, not a crash as in the original


def test_section_8_case_11_mailbox_id_before_message_id() -> None:
    plan = MessagePlan(["mailboxId", "messageId", "subject"])
    sent = MailboxId("[Gmail]/Sent Mail", 7)
    out = _render(plan, FetchedMessage(1, headers=_headers(subject=b"Sent one")), sent)
    assert out == {
        "mailboxId": "[Gmail]/Sent Mail!7",
        "messageId": "[Gmail]/Sent Mail!7?1",
        "subject": "Sent one",
        "subjectDecoded": "Sent one",
    }
    assert list(out)[:2] == ["mailboxId", "messageId"]


@pytest.mark.parametrize(
    ("uid", "unread", "flagged", "draft", "answered"),
    [
        (1, False, False, False, False),
        (2, True, True, False, False),
        (3, True, False, False, False),
        (4, False, False, False, True),
        (6, True, True, True, False),
    ],
)
def test_flags_section_8_case_20(
    uid: int, unread: bool, flagged: bool, draft: bool, answered: bool
) -> None:
    out = _run(uid, ["isFlagged", "unread", "isUnread", "isDraft", "isAnswered"])
    assert out == {
        "isFlagged": flagged,
        "unread": unread,
        "isUnread": unread,
        "isDraft": draft,
        "isAnswered": answered,
    }


HTML_3 = (
    "<html><head><style>p {color: red}</style><title>T</title></head><body><p>Hello&nbsp;"
    '<b>reader</b>,</p><p>Café menu</p><img src="cid:logo@x"></body></html>'
)
HTML_7 = (
    "<html><head><script>var x = '<p>no</p>';</script></head><body><h1>Big&amp;news</h1>\r\n"
    "<p>Ünïcode   text</p></body></html>"
)

# (uid, property, expected value) on the Dovecot fixture; each row fetched on its own.
DOVECOT_ROWS: list[tuple[int, str, Any]] = [
    (1, "preview", 'Plain body line 1 Café "quoted" back\\slash / tab here'),
    (1, "htmlBody", None),
    (1, "hasAttachment", False),
    (1, "attachments", []),
    (1, "size", 376),
    (2, "preview", "See attachment."),
    (2, "hasAttachment", True),
    (
        2,
        "attachments",
        [{"name": "a.bin", "type": "application/octet-stream", "size": 12, "partId": "2"}],
    ),
    (3, "subject", "=?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrCDDoQ==?= plain tail"),
    (3, "htmlBody", HTML_3),
    (3, "preview", "Hello reader, Café menu: soup and bread."),
    (3, "replyTo", [{"name": "", "email": "replies@example.com"}]),
    (3, "bcc", [{"name": "", "email": "hidden@example.com"}]),
    (3, "from", [{"name": "Newsletter", "email": "news@example.com"}]),
    (3, "hasAttachment", False),  # the cid: image is part of the HTML, not a file
    (3, "attachments", []),
    (4, "preview", "Été report attached."),
    (4, "hasAttachment", True),
    (
        4,
        "attachments",
        [
            {"name": "été report.pdf", "type": "application/pdf", "size": 12, "partId": "2"},
            {"name": "long name parté.txt", "type": "text/plain", "size": 5, "partId": "3"},
            {"name": "fotö.jpg", "type": "image/jpeg", "size": 8, "partId": "4"},
        ],
    ),
    (
        4,
        "to",
        [
            {"name": "", "email": "user1@localhost"},
            {"name": "Second, Person", "email": "second@example.com"},
        ],
    ),
    (5, "subject", None),
    (5, "to", None),  # "undisclosed-recipients:;" is a group without members
    (
        5,
        "cc",
        [
            {"name": "", "email": "a@example.org"},
            {"name": "B Person", "email": "b@example.org"},
            {"name": "", "email": "solo@example.net"},
        ],
    ),
    (5, "preview", "See the forwarded message."),
    (5, "htmlBody", None),  # the HTML inside the forwarded message is not this body
    (
        5,
        "attachments",
        [{"name": None, "type": "message/rfc822", "size": 320, "partId": "2"}],
    ),
    (6, "subject", "Gr\ufffd\ufffde aus K\ufffdln"),  # raw as the original: UTF-8 with U+FFFD
    (
        6,
        "from",
        [
            {
                "name": "J\ufffdrg M\ufffdller",
                "email": "joerg@example.de",
                "decodedName": "Jörg Müller",
            }
        ],
    ),
    (6, "textBody", "Grüße,\r\nJörg — €\r\n"),
    (6, "preview", "Grüße, Jörg — €"),
    (7, "htmlBody", HTML_7),
    (7, "preview", "Big&news Ünïcode text"),
    (7, "hasAttachment", False),
    # Dovecot's ENVELOPE said "bob@MISSING_DOMAIN"; the header has no domain: "mailbox@".
    (8, "from", [{"name": "", "email": "bob@"}]),
    (8, "to", None),
    (8, "subject", ""),
    (8, "date", None),
    (8, "textBody", "x"),
    (8, "preview", "x"),
    (
        8,
        "headers",
        [
            {"name": "From", "value": "bob"},
            {"name": "To", "value": ""},
            {"name": "Subject", "value": ""},
        ],
    ),
]


@pytest.mark.parametrize(("uid", "name", "expected"), DOVECOT_ROWS)
def test_property_on_dovecot_data(uid: int, name: str, expected: Any) -> None:
    assert _run(uid, [name])[name] == expected


@pytest.mark.parametrize(
    ("uid", "expected"),
    [
        (1, "Hello from the seed"),
        (2, "Ümlaut subject"),
        (3, "Café € á plain tail"),
        (5, None),
        (6, "Grüße aus Köln"),
        (8, ""),
    ],
)
def test_subject_decoded(uid: int, expected: str | None) -> None:
    assert _run(uid, ["subject"])["subjectDecoded"] == expected


def test_headers_unfolded_in_order_and_8bit_kept() -> None:
    headers = _run(6, ["headers"])["headers"]
    assert [h["name"] for h in headers] == [
        "From",
        "To",
        "Subject",
        "Date",
        "X-Long-Header",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
    ]
    assert headers[0] == {"name": "From", "value": "Jörg Müller <joerg@example.de>"}
    assert headers[4] == {"name": "X-Long-Header", "value": "first part\tfolded second part"}


def test_raw_with_latin1_bytes_loses_no_character() -> None:
    raw = _run(6, ["raw"])["raw"]
    assert "\ufffd" not in raw
    assert raw.startswith("From: Jörg Müller <joerg@example.de>\r\n")
    assert raw.endswith("\r\n\r\nGrüße,\r\nJörg — €\r\n")
    assert _run(1, ["raw"])["raw"] == dovecot_fetch.MESSAGES[0].decode()


@pytest.mark.parametrize("uid", sorted(FIRST))
def test_raw_serves_text_body_and_headers_like_their_own_sections(uid: int) -> None:
    from_sections = _run(uid, ["textBody", "headers"])
    from_raw = _run(uid, ["raw", "textBody", "headers"])
    assert from_raw["textBody"] == from_sections["textBody"]
    assert from_raw["headers"] == from_sections["headers"]


@pytest.mark.parametrize("uid", sorted(FIRST))
def test_values_do_not_depend_on_request_order(uid: int) -> None:
    names = sorted(PROPERTIES)
    alone = {name: _run(uid, [name])[name] for name in names}
    shuffled = names[:]
    random.Random(uid).shuffle(shuffled)
    together = _run(uid, shuffled)
    assert list(together) == [*shuffled, "subjectDecoded"]
    assert {k: together[k] for k in names} == alone
    wirejson.dumps(together)  # JSON-able as a whole


@pytest.mark.parametrize(
    ("properties", "items", "second"),
    [
        (["messageId"], "(UID)", False),
        (["mailboxId", "messageId"], "(UID)", False),
        (FRAME_5_REQUEST, f"(UID RFC822.SIZE {ENVELOPE_ITEM} BODY.PEEK[TEXT])", False),
        (["subject"], f"(UID {ENVELOPE_ITEM})", False),
        (["raw"], "(UID BODY.PEEK[])", False),
        (["raw", "textBody", "headers"], "(UID BODY.PEEK[])", False),
        (["raw", "subject", "from"], "(UID BODY.PEEK[])", False),  # the header is in raw
        (["headers"], "(UID BODY.PEEK[HEADER])", False),
        (["headers", "replyTo"], "(UID BODY.PEEK[HEADER])", False),
        (["isFlagged", "unread"], "(UID FLAGS)", False),
        (["hasAttachment", "attachments"], "(UID BODYSTRUCTURE)", False),
        (["htmlBody"], "(UID BODYSTRUCTURE)", True),
        (["preview", "textBody"], "(UID BODYSTRUCTURE BODY.PEEK[TEXT])", True),
        (sorted(PROPERTIES), "(UID FLAGS RFC822.SIZE BODYSTRUCTURE BODY.PEEK[])", True),
    ],
)
def test_minimal_first_fetch(properties: list[str], items: str, second: bool) -> None:
    plan = MessagePlan(properties)
    assert fetch_items(plan.fetch) == items
    assert (plan.fetch.second_stage is not None) is second


@pytest.mark.parametrize(
    ("uid", "properties", "items"),
    [
        (1, ["htmlBody", "preview"], "(UID BODY.PEEK[1]<0.16384>)"),
        (1, ["preview", "textBody"], None),  # part 1 of a single-part message is its text
        (1, ["htmlBody"], None),  # no HTML part: nothing to fetch
        (2, ["preview"], "(UID BODY.PEEK[1]<0.16384>)"),
        (3, ["htmlBody", "preview"], "(UID BODY.PEEK[2.1] BODY.PEEK[1]<0.16384>)"),
        (3, ["htmlBody"], "(UID BODY.PEEK[2.1])"),
        (5, ["htmlBody", "preview"], "(UID BODY.PEEK[1]<0.16384>)"),
        (7, ["htmlBody", "preview"], "(UID BODY.PEEK[1])"),  # one part serves both
        (7, ["preview", "raw"], None),
        (7, ["subject"], None),
    ],
)
def test_second_fetch_items(uid: int, properties: list[str], items: str | None) -> None:
    plan = MessagePlan(properties)
    assert _second_items(plan, _answer_first(uid, plan)) == items


def test_repeated_property_rendered_once() -> None:
    plan = MessagePlan(["size", "messageId", "size"])
    assert plan.properties == ("size", "messageId")
    out = _render(plan, FetchedMessage(4, size=9))
    assert out == {"size": 9, "messageId": "INBOX!200?4"}


def test_a_size_no_client_reads_exactly_is_null() -> None:
    assert MAX_SAFE_INTEGER == wirejson.MAX_SAFE_INTEGER
    plan = MessagePlan(["size"])
    assert _render(plan, FetchedMessage(1, size=MAX_SAFE_INTEGER))["size"] == MAX_SAFE_INTEGER
    assert _render(plan, FetchedMessage(1, size=MAX_SAFE_INTEGER + 1))["size"] is None


def test_every_supported_property_is_rendered() -> None:
    # PROPERTIES must be the protocol layer's list; a name it gains must get a renderer here.
    assert PROPERTIES == SUPPORTED_PROPERTIES
    out = _run(1, sorted(PROPERTIES))
    assert set(out) == PROPERTIES | {"subjectDecoded"}
    assert {"unread", "isUnread", "attachments", "headers", "preview"} <= PROPERTIES


def test_plan_refuses_unchecked_names() -> None:
    with pytest.raises(ValueError, match="labels"):
        MessagePlan(["subject", "labels"])


def test_missing_items_render_null() -> None:
    plan = MessagePlan(sorted(PROPERTIES))
    out = _render(plan, FetchedMessage(5))
    assert out["messageId"] == "INBOX!200?5"
    assert out["mailboxId"] == "INBOX!200"
    assert {k: v for k, v in out.items() if k not in ("messageId", "mailboxId")} == dict.fromkeys(
        [*sorted(PROPERTIES - {"messageId", "mailboxId"}), "subjectDecoded"]
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"", None),
        (b"G:;", None),
        (b"bob", [{"name": "", "email": "bob@"}]),
        (
            b"team: A <a@x.org>;, nohost",
            [{"name": "A", "email": "a@x.org"}, {"name": "", "email": "nohost@"}],
        ),
        (
            b"=?iso-8859-1?q?Ren=E9?= Dupont <r@x.fr>",
            [
                {
                    "name": "=?iso-8859-1?q?Ren=E9?= Dupont",
                    "email": "r@x.fr",
                    "decodedName": "René Dupont",
                }
            ],
        ),
    ],
)
def test_address_shapes(value: bytes, expected: Any) -> None:
    message = FetchedMessage(1, headers=_headers(to=value))
    assert _render(MessagePlan(["to"]), message)["to"] == expected


def _text_part(**fields: Any) -> BodyPart:
    return BodyPart("text", "plain", {"charset": b"utf-8"}, encoding="8BIT", **fields)


PREVIEW_PREFIX = BodySection("1", (0, PREVIEW_SOURCE_BYTES))


def test_preview_is_cut_and_collapsed() -> None:
    body = ("word \r\n\t " * 200).encode()
    plan = MessagePlan(["preview"])
    first = FetchedMessage(1, body_structure=_text_part(size=len(body)))
    assert _second_items(plan, first) == f"(UID BODY.PEEK[1]<0.{PREVIEW_SOURCE_BYTES}>)"
    second = FetchedMessage(1, body_structure=first.body_structure, sections={PREVIEW_PREFIX: body})
    preview = _render(plan, second)["preview"]
    assert len(preview) == PREVIEW_CHARS
    assert preview.startswith("word word ")


def test_preview_of_a_prefix_cut_inside_a_character() -> None:
    # A prefix of exactly PREVIEW_SOURCE_BYTES that ends in the middle of "é" (2 bytes).
    prefix = ("é" * PREVIEW_SOURCE_BYTES).encode()[: PREVIEW_SOURCE_BYTES - 1] + b"\xc3"
    plan = MessagePlan(["preview"])
    message = FetchedMessage(
        1,
        body_structure=_text_part(size=10 * PREVIEW_SOURCE_BYTES),
        sections={PREVIEW_PREFIX: prefix},
    )
    assert _render(plan, message)["preview"] == "é" * PREVIEW_CHARS


def test_second_fetch_missing_gives_null_bodies() -> None:
    plan = MessagePlan(["htmlBody", "preview"])
    first = _answer_first(3, plan)
    assert _render(plan, first) == {"htmlBody": None, "preview": None}


def test_fetched_and_hand_built_messages_render_the_same() -> None:
    hand_built = FetchedMessage(
        uid=1,
        flags=("\\Seen",),
        size=376,
        headers=(
            b"Date: Mon, 02 Jan 2017 10:00:00 +0000\r\nSubject: Hello from the seed\r\n"
            b"From: Alice Example <alice@example.com>\r\nTo: User One <user1@localhost>\r\n"
            b"Cc: Carol <carol@example.org>, dave@example.net\r\n\r\n"
        ),
        sections={BodySection("TEXT"): dovecot_fetch.MESSAGES[0].split(b"\r\n\r\n", 1)[1]},
    )
    plan = MessagePlan([*FRAME_5_REQUEST, "isUnread"])
    assert _render(plan, hand_built) == _render(plan, _answer_first(1, plan))


@pytest.mark.parametrize(
    ("raw", "text_body", "headers"),
    [
        (b"\r\nbody only", "body only", []),
        (b"Subject: no body", "", [{"name": "Subject", "value": "no body"}]),
        (
            b" stray fold\r\nFrom mbox-line\r\nX-A:  1 \r\n\t2\r\n: empty name\r\nJunk\r\n\r\nb",
            "b",
            [{"name": "X-A", "value": "1 \t2"}],
        ),
    ],
)
def test_split_and_header_edge_cases(raw: bytes, text_body: str, headers: Any) -> None:
    plan = MessagePlan(["textBody", "headers", "raw"])
    out = _render(plan, FetchedMessage(1, sections={BodySection(""): raw}))
    assert out["textBody"] == text_body
    assert out["headers"] == headers
