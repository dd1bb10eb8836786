"""getMessages rendering: the FETCH items a request needs and the JSON objects it returns.

Most rows run the server's whole flow on real Dovecot data (``dovecot_fetch``): build the plan,
answer its first fetch with exactly the items it asked for, answer its second fetch from
captured part bytes (a plan asking for a part that was not captured fails), render. The rest
are Fetch objects built by hand from the original server's recorded frames and for edge cases.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from switchboard.imap.parser import ResponseParser
from switchboard.imap.responses import Address, BodyPart, Envelope, Fetch
from switchboard.protocol import wirejson
from switchboard.protocol.ids import MailboxId, MessageId
from switchboard.protocol.methods import SUPPORTED_PROPERTIES
from switchboard.server.messages import (
    PREVIEW_CHARS,
    PREVIEW_SOURCE_BYTES,
    PROPERTIES,
    MessagePlan,
)

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
    return items[1:-1].split()


def _answer_first(full: Fetch, items: str) -> Fetch:
    """What Dovecot answers to ``UID FETCH uid <items>``: only the items asked for."""
    tokens = _items(items)
    sections = {
        token.replace(".PEEK", ""): full.sections[token.replace(".PEEK", "")]
        for token in tokens
        if token.startswith("BODY.PEEK[")
    }
    return Fetch(
        seq=full.seq,
        uid=full.uid,
        flags=full.flags if "FLAGS" in tokens else None,
        size=full.size if "RFC822.SIZE" in tokens else None,
        envelope=full.envelope if "ENVELOPE" in tokens else None,
        bodystructure=full.bodystructure if "BODYSTRUCTURE" in tokens else None,
        sections=sections,
    )


def _answer_second(uid: int, items: str) -> Fetch:
    sections: dict[str, bytes | None] = {}
    for token in _items(items)[1:]:
        # BODY.PEEK[1]<0.16384> is answered as BODY[1]<0> (RFC 3501 §7.4.2).
        key = token.replace(".PEEK", "").replace(f"<0.{PREVIEW_SOURCE_BYTES}>", "<0>")
        assert key in PARTS.get(uid, {}), f"UID {uid}: plan asked for {token}, not captured"
        sections[key] = PARTS[uid][key]
    return Fetch(seq=uid, uid=uid, sections=sections)


def _run(uid: int, properties: list[str]) -> dict[str, Any]:
    """The server's flow for one message of the Dovecot fixture."""
    plan = MessagePlan(properties)
    first = _answer_first(FIRST[uid], plan.first_items)
    items = plan.second_items(first)
    second = _answer_second(uid, items) if items is not None else None
    return plan.render(MessageId(INBOX, uid), first, second)


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
    assert plan.first_items == "(UID BODY.PEEK[])"
    out = plan.render(MessageId(INBOX, 3), Fetch(seq=3, uid=3, sections={"BODY[]": raw}), None)
    assert wirejson.dumps(out) == (
        r'{"raw":"From: Latency Probe <probe@example.com>\r\nTo: user1@localhost\r\nSubject: app'
        r"ended 0\r\nDate: Wed, 04 Jan 2017 12:00:00 +0000\r\nMessage-ID: <appended-0@example.c"
        r'om>\r\n\r\nbody of appended 0\r\n"}'
    )


def _addr(name: bytes | None, mailbox: bytes | None, host: bytes | None) -> Address:
    return Address(name, None, mailbox, host)


def _envelope(**fields: Any) -> Envelope:
    values: dict[str, Any] = dict.fromkeys(
        ("date", "subject", "from_", "sender", "reply_to", "to", "cc", "bcc"), None
    )
    values.update(in_reply_to=None, message_id=None)
    values.update(fields)
    return Envelope(**values)


def test_section_8_case_9_hand_built() -> None:
    alice = (_addr(b"Alice Example", b"alice", b"example.com"),)
    carol = (_addr(None, b"carol", b"example.com"),)
    first = {
        1: Fetch(
            seq=1,
            uid=1,
            size=180,
            envelope=_envelope(
                date=b"Tue, 03 Jun 2014 10:00:00 -0700",
                subject=b"Hello one",
                from_=alice,
                sender=alice,
                reply_to=alice,
                to=(_addr(None, b"bob", b"example.com"),),
            ),
            sections={"BODY[TEXT]": b"First body\r\n"},
        ),
        2: Fetch(
            seq=2,
            uid=2,
            size=200,
            envelope=_envelope(
                subject=b"Second",
                from_=carol,
                reply_to=carol,
                to=(_addr(b"Bob", b"bob", b"example.com"), _addr(None, b"dave", b"example.com")),
                cc=(_addr(None, b"eve", b"example.com"),),
            ),
            sections={"BODY[TEXT]": b"x"},
        ),
    }
    request = ["messageId", "from", "to", "cc", "bcc", "replyTo", "subject", "date", "size"]
    request.append("textBody")
    plan = MessagePlan(request)
    assert plan.first_items == "(UID ENVELOPE RFC822.SIZE BODY.PEEK[TEXT])"
    assert not plan.needs_second_fetch
    inbox = MailboxId("INBOX", 1)
    one = plan.render(MessageId(inbox, 1), first[1], None)
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
    two = plan.render(MessageId(inbox, 2), first[2], None)
    assert two["to"] == [
        {"name": "Bob", "email": "bob@example.com"},
        {"name": "", "email": "dave@example.com"},
    ]
    assert two["cc"] == [{"name": "", "email": "eve@example.com"}]
    assert two["date"] is None  # NIL Date: null, not a crash as in the original


def test_section_8_case_11_mailbox_id_before_message_id() -> None:
    plan = MessagePlan(["mailboxId", "messageId", "subject"])
    sent = MailboxId("[Gmail]/Sent Mail", 7)
    first = Fetch(seq=1, uid=1, envelope=_envelope(subject=b"Sent one"))
    out = plan.render(MessageId(sent, 1), first, None)
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
    (8, "from", [{"name": "", "email": "bob@MISSING_DOMAIN"}]),
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
        (FRAME_5_REQUEST, "(UID ENVELOPE RFC822.SIZE BODY.PEEK[TEXT])", False),
        (["raw"], "(UID BODY.PEEK[])", False),
        (["raw", "textBody", "headers"], "(UID BODY.PEEK[])", False),
        (["headers"], "(UID BODY.PEEK[HEADER])", False),
        (["isFlagged", "unread"], "(UID FLAGS)", False),
        (["hasAttachment", "attachments"], "(UID BODYSTRUCTURE)", False),
        (["htmlBody"], "(UID BODYSTRUCTURE)", True),
        (["preview", "textBody"], "(UID BODYSTRUCTURE BODY.PEEK[TEXT])", True),
        (
            sorted(PROPERTIES),
            "(UID FLAGS ENVELOPE RFC822.SIZE BODYSTRUCTURE BODY.PEEK[])",
            True,
        ),
    ],
)
def test_minimal_first_fetch(properties: list[str], items: str, second: bool) -> None:
    plan = MessagePlan(properties)
    assert plan.first_items == items
    assert plan.needs_second_fetch is second


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
    first = _answer_first(FIRST[uid], plan.first_items)
    assert plan.second_items(first) == items


def test_repeated_property_rendered_once() -> None:
    plan = MessagePlan(["size", "messageId", "size"])
    assert plan.properties == ("size", "messageId")
    out = plan.render(MessageId(INBOX, 4), Fetch(seq=1, uid=4, size=9), None)
    assert out == {"size": 9, "messageId": "INBOX!200?4"}


def test_every_supported_property_is_rendered() -> None:
    # PROPERTIES is the protocol layer's list; a name it gains must get a renderer here.
    assert PROPERTIES is SUPPORTED_PROPERTIES
    out = MessagePlan(sorted(PROPERTIES)).render(MessageId(INBOX, 1), FIRST[1], None)
    assert set(out) == PROPERTIES | {"subjectDecoded"}
    assert {"unread", "isUnread", "attachments", "headers", "preview"} <= PROPERTIES


def test_plan_refuses_unchecked_names() -> None:
    with pytest.raises(ValueError, match="labels"):
        MessagePlan(["subject", "labels"])


def test_missing_items_render_null() -> None:
    plan = MessagePlan(sorted(PROPERTIES))
    out = plan.render(MessageId(INBOX, 5), Fetch(seq=1, uid=5), None)
    assert out["messageId"] == "INBOX!200?5"
    assert out["mailboxId"] == "INBOX!200"
    assert {k: v for k, v in out.items() if k not in ("messageId", "mailboxId")} == dict.fromkeys(
        [*sorted(PROPERTIES - {"messageId", "mailboxId"}), "subjectDecoded"]
    )


@pytest.mark.parametrize(
    ("addresses", "expected"),
    [
        ((), None),
        ((_addr(b"G", b"group", None), _addr(None, None, None)), None),
        ((_addr(None, b"bob", None),), [{"name": "", "email": "bob@"}]),
        (
            (
                _addr(None, b"team", None),
                _addr(b"A", b"a", b"x.org"),
                _addr(None, None, None),
                _addr(None, b"nohost", None),
            ),
            [{"name": "A", "email": "a@x.org"}, {"name": "", "email": "nohost@"}],
        ),
        (
            (_addr(b"=?iso-8859-1?q?Ren=E9?= Dupont", b"r", b"x.fr"),),
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
def test_address_shapes(addresses: tuple[Address, ...], expected: Any) -> None:
    first = Fetch(seq=1, uid=1, envelope=_envelope(to=addresses))
    assert MessagePlan(["to"]).render(MessageId(INBOX, 1), first, None)["to"] == expected


def _text_part(**fields: Any) -> BodyPart:
    return BodyPart("text", "plain", {"charset": b"utf-8"}, encoding="8BIT", **fields)


def test_preview_is_cut_and_collapsed() -> None:
    body = ("word \r\n\t " * 200).encode()
    plan = MessagePlan(["preview"])
    first = Fetch(seq=1, uid=1, bodystructure=_text_part(size=len(body)))
    assert plan.second_items(first) == f"(UID BODY.PEEK[1]<0.{PREVIEW_SOURCE_BYTES}>)"
    second = Fetch(seq=1, uid=1, sections={"BODY[1]<0>": body})
    preview = plan.render(MessageId(INBOX, 1), first, second)["preview"]
    assert len(preview) == PREVIEW_CHARS
    assert preview.startswith("word word ")


def test_preview_of_a_prefix_cut_inside_a_character() -> None:
    # A prefix of exactly PREVIEW_SOURCE_BYTES that ends in the middle of "é" (2 bytes).
    prefix = ("é" * PREVIEW_SOURCE_BYTES).encode()[: PREVIEW_SOURCE_BYTES - 1] + b"\xc3"
    plan = MessagePlan(["preview"])
    first = Fetch(seq=1, uid=1, bodystructure=_text_part(size=10 * PREVIEW_SOURCE_BYTES))
    second = Fetch(seq=1, uid=1, sections={"BODY[1]<0>": prefix})
    assert plan.render(MessageId(INBOX, 1), first, second)["preview"] == "é" * PREVIEW_CHARS


def test_second_fetch_missing_gives_null_bodies() -> None:
    plan = MessagePlan(["htmlBody", "preview"])
    first = _answer_first(FIRST[3], plan.first_items)
    assert plan.render(MessageId(INBOX, 3), first, None) == {"htmlBody": None, "preview": None}


def test_parsed_and_hand_built_fetch_render_the_same() -> None:
    hand_built = Fetch(
        seq=1,
        uid=1,
        flags=("\\Seen",),
        size=376,
        envelope=_envelope(
            date=b"Mon, 02 Jan 2017 10:00:00 +0000",
            subject=b"Hello from the seed",
            from_=(_addr(b"Alice Example", b"alice", b"example.com"),),
            to=(_addr(b"User One", b"user1", b"localhost"),),
            cc=(_addr(b"Carol", b"carol", b"example.org"), _addr(None, b"dave", b"example.net")),
        ),
        sections={"BODY[TEXT]": dovecot_fetch.MESSAGES[0].split(b"\r\n\r\n", 1)[1]},
    )
    plan = MessagePlan([*FRAME_5_REQUEST, "isUnread"])
    message_id = MessageId(INBOX, 1)
    parsed = _answer_first(FIRST[1], plan.first_items)
    assert plan.render(message_id, hand_built, None) == plan.render(message_id, parsed, None)


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
    out = plan.render(MessageId(INBOX, 1), Fetch(seq=1, uid=1, sections={"BODY[]": raw}), None)
    assert out["textBody"] == text_body
    assert out["headers"] == headers
