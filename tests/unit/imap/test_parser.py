"""Tests for switchboard.imap.parser: real Dovecot transcripts, Gmail-style lines, limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.imap.errors import (
    ConnectionLost,
    ImapProtocolError,
    InvalidState,
    LimitExceeded,
)
from switchboard.imap.parser import ResponseParser
from switchboard.imap.responses import (
    Address,
    BodyPart,
    Capability,
    Continuation,
    Enabled,
    Envelope,
    Exists,
    Expunge,
    Fetch,
    Flags,
    ListItem,
    MailboxStatus,
    Recent,
    Response,
    ResponseCode,
    Search,
    Status,
    StatusResponse,
    TaggedResponse,
    Unknown,
)

OK, NO, BAD, BYE = Status.OK, Status.NO, Status.BAD, Status.BYE


def parse_all(data: bytes, **limits: int) -> list[Response]:
    parser = ResponseParser(**limits)
    parser.receive_data(data)
    out: list[Response] = []
    while (response := parser.next_response()) is not None:
        out.append(response)
    parser.receive_eof()
    assert parser.next_response() is None  # nothing left over
    return out


def parse_one(data: bytes) -> Response:
    (response,) = parse_all(data)
    return response


def parse_split(data: bytes, size: int) -> list[Response]:
    parser = ResponseParser()
    out: list[Response] = []
    for i in range(0, len(data), size):
        parser.receive_data(data[i : i + size])
        while (response := parser.next_response()) is not None:
            out.append(response)
    parser.receive_eof()
    assert parser.next_response() is None
    return out


def addr(name: bytes | None, mailbox: bytes | None, host: bytes | None) -> Address:
    return Address(name, None, mailbox, host)


DOVECOT_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_CAPS_LINE = (
    "IMAP4REV1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES "
    "WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW "
    "STATUS=SIZE SAVEDATE LITERAL+ NOTIFY"
)
DOVECOT_CAPS = frozenset(_CAPS_LINE.split(" "))

# ---------------------------------------------------------------- Dovecot 2.3 (Debian) lines
# Captured from the fixture server (dovecot-fixture.sh), byte for byte.

GREETING = (
    b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
    b"AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.\r\n"
)
CAPABILITY = (
    b"* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY "
    b"THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE "
    b"UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH "
    b"ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY "
    b"PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY\r\n"
    b"a2 OK Capability completed (0.001 + 0.000 secs).\r\n"
)
SELECT = (
    b"* OK [CLOSED] Previous mailbox closed.\r\n"
    b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
    b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
    b"Flags permitted.\r\n"
    b"* 1 EXISTS\r\n"
    b"* 1 RECENT\r\n"
    b"* OK [UNSEEN 1] First unseen.\r\n"
    b"* OK [UIDVALIDITY 1795554840] UIDs valid\r\n"
    b"* OK [UIDNEXT 2] Predicted next UID\r\n"
    b"* OK [HIGHESTMODSEQ 2] Highest\r\n"
    b"d7 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n"
)
EXAMINE_TAIL = (
    b"* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n"
    b"d8 OK [READ-ONLY] Examine completed (0.001 + 0.000 secs).\r\n"
)
LIST = (
    b'* LIST (\\HasNoChildren) "." "with space"\r\n'
    b'* LIST (\\HasNoChildren) "." "A \\"quoted\\" &- name"\r\n'
    b'* LIST (\\Noselect \\HasChildren) "." Archive\r\n'
    b'* LIST (\\HasNoChildren) "." Archive.2024\r\n'
    b'* LIST (\\HasNoChildren) "." Entw&APw-rfe\r\n'
    b'* LIST (\\HasNoChildren) "." INBOX\r\n'
    b"a4 OK List completed (0.001 + 0.000 secs).\r\n"
)
STATUS = (
    b"* STATUS INBOX (MESSAGES 3 RECENT 3 UIDNEXT 4 UIDVALIDITY 1795554841 UNSEEN 0 "
    b"HIGHESTMODSEQ 4)\r\n"
    b"c3 OK Status completed (0.001 + 0.000 secs).\r\n"
)
SEARCHES = (
    b"* SEARCH 1 2 3\r\n"
    b"d2 OK Search completed (0.001 + 0.000 secs).\r\n"
    b"* SEARCH\r\n"
    b"d3 OK Search completed (0.001 + 0.000 secs).\r\n"
    b"* SEARCH 1 2 3 (MODSEQ 4)\r\n"
    b"d4 OK Search completed (0.001 + 0.000 secs).\r\n"
)
MISC = (
    b"* ENABLED CONDSTORE\r\n"
    b"* 1 FETCH (MODSEQ (5) FLAGS (\\Deleted \\Seen \\Recent))\r\n"
    b"* 1 EXPUNGE\r\n"
    b"* 2 RECENT\r\n"
    b"+ idling\r\n"
    b"* OK Still here\r\n"
    b"i1 OK Idle completed (0.001 + 0.001 secs).\r\n"
    b"a0 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
    b"a7 NO Mailbox doesn't exist: NoSuch (0.001 + 0.000 secs).\r\n"
    b"d9 BAD Error in IMAP command BAD: Unknown command (0.001 + 0.000 secs).\r\n"
    b"b0 OK [APPENDUID 1795554841 1] Append completed (0.002 + 0.001 secs).\r\n"
    b"* BYE Logging out\r\n"
    b"z OK Logout completed (0.001 + 0.000 secs).\r\n"
)
FETCH_ENVELOPE = (
    b'* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) RFC822.SIZE 686 INTERNALDATE "24-Nov-2026 '
    b'21:13:59 +0000" MODSEQ (2) ENVELOPE ("Mon, 23 Nov 2026 10:00:00 +0000" '
    b'"=?UTF-8?B?SGVsbG8g8J+YgA==?=" (("Alice" NIL "alice" "example.com")) (("Alice" NIL '
    b'"alice" "example.com")) (("Alice" NIL "alice" "example.com")) (("Bob" NIL "bob" '
    b'"example.org")(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ((NIL NIL "Team" '
    b'NIL)(NIL NIL "carol" "example.com")(NIL NIL "dave" "example.com")(NIL NIL NIL NIL)) NIL '
    b'NIL "<m1@example.com>"))\r\n'
    b'* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent) RFC822.SIZE 505 INTERNALDATE "24-Nov-2026 '
    b'21:13:59 +0000" MODSEQ (3) ENVELOPE ("Tue, 24 Nov 2026 10:00:00 +0100" NIL (({12}\r\n'
    b'Weird "Name" NIL "w" "example.com")) (({12}\r\nWeird "Name" NIL "w" "example.com")) '
    b'(({12}\r\nWeird "Name" NIL "w" "example.com")) ((NIL NIL "x" "example.com")) NIL NIL '
    b"NIL NIL))\r\n"
    b'* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent) RFC822.SIZE 131 INTERNALDATE "24-Nov-2026 '
    b'21:13:59 +0000" MODSEQ (4) ENVELOPE ("Wed, 25 Nov 2026 08:00:00 +0000" {17}\r\n'
    b'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln (({5}\r\nJ\xc3\xb6rg NIL "joerg" "example.de")) '
    b'(({5}\r\nJ\xc3\xb6rg NIL "joerg" "example.de")) (({5}\r\nJ\xc3\xb6rg NIL "joerg" '
    b'"example.de")) NIL NIL NIL NIL NIL))\r\n'
    b"c7 OK Fetch completed (0.001 + 0.000 secs).\r\n"
)
FETCH_BODYSTRUCTURE = (
    b'* 1 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 13 1 NIL '
    b'NIL NIL NIL)("application" "pdf" ("name" {12}\r\nr\xc3\xa9sum\xc3\xa9.pdf) NIL NIL '
    b'"base64" 12 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("attachment" ("filename" "report.pdf")) ("en" '
    b'"de") "http://x.example/r.pdf") "mixed" ("boundary" "b1") NIL NIL NIL))\r\n'
    b'* 2 FETCH (BODYSTRUCTURE ((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 '
    b'NIL NIL NIL NIL)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 11 0 NIL NIL NIL '
    b'NIL) "alternative" ("boundary" "a") NIL NIL NIL)("message" "rfc822" NIL NIL "forwarded" '
    b'"7bit" 95 (NIL "inner subject" (("Inner" NIL "inner" "example.net")) (("Inner" NIL '
    b'"inner" "example.net")) (("Inner" NIL "inner" "example.net")) NIL NIL NIL NIL NIL) '
    b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0 NIL NIL NIL NIL) 4 NIL NIL '
    b'NIL NIL) "mixed" ("boundary" "o") NIL NIL NIL))\r\n'
    b'* 3 FETCH (BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 24 1 NIL '
    b"NIL NIL NIL))\r\n"
    b"c8 OK Fetch completed (0.001 + 0.000 secs).\r\n"
)
FETCH_BODY = (
    b'* 1 FETCH (BODY (("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 13 1)("application" '
    b'"pdf" ("name" {12}\r\nr\xc3\xa9sum\xc3\xa9.pdf) NIL NIL "base64" 12) "mixed"))\r\n'
)
MESSAGE_3 = (
    b"From: J\xc3\xb6rg <joerg@example.de>\r\nSubject: Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\n"
    b"To: \r\nDate: Wed, 25 Nov 2026 08:00:00 +0000\r\n\r\n8-bit headers, no mime\r\n"
)
FETCH_SECTIONS = (
    b"* 3 FETCH (UID 3 BODY[] {131}\r\n" + MESSAGE_3 + b" BODY[HEADER.FIELDS (SUBJECT FROM)] "
    b"{62}\r\nFrom: J\xc3\xb6rg <joerg@example.de>\r\nSubject: Gr\xc3\xbc\xc3\x9fe aus "
    b"K\xc3\xb6ln\r\n\r\n BODY[1]<0> {5}\r\n8-bit BODY[9] {0}\r\n)\r\n"
    b"d1 OK Fetch completed (0.001 + 0.000 secs).\r\n"
)

ALICE = (addr(b"Alice", b"alice", b"example.com"),)
WEIRD = (addr(b'Weird "Name"', b"w", b"example.com"),)
JOERG = (addr("Jörg".encode(), b"joerg", b"example.de"),)
INNER = (addr(b"Inner", b"inner", b"example.net"),)


def text_part(subtype: str, charset: bytes, encoding: str, size: int, lines: int) -> BodyPart:
    return BodyPart(
        "text", subtype, {"charset": charset}, encoding=encoding, size=size, lines=lines
    )


PLAIN_1 = text_part("plain", b"utf-8", "8BIT", 13, 1)
PDF_BODY = BodyPart(
    "application", "pdf", {"name": "résumé.pdf".encode()}, encoding="BASE64", size=12
)
PDF_FULL = BodyPart(
    "application",
    "pdf",
    {"name": "résumé.pdf".encode()},
    encoding="BASE64",
    size=12,
    md5=b"Q2hlY2sgSW50ZWdyaXR5IQ==",
    disposition=("attachment", {"filename": b"report.pdf"}),
    language=("en", "de"),
    location=b"http://x.example/r.pdf",
)
INNER_ENVELOPE = Envelope(None, b"inner subject", INNER, INNER, INNER, *[None] * 5)
NESTED = BodyPart(
    "multipart",
    "mixed",
    {"boundary": b"o"},
    parts=(
        BodyPart(
            "multipart",
            "alternative",
            {"boundary": b"a"},
            parts=(
                text_part("plain", b"us-ascii", "7BIT", 5, 0),
                text_part("html", b"us-ascii", "7BIT", 11, 0),
            ),
        ),
        BodyPart(
            "message",
            "rfc822",
            description=b"forwarded",
            encoding="7BIT",
            size=95,
            envelope=INNER_ENVELOPE,
            body=text_part("plain", b"us-ascii", "7BIT", 10, 0),
            lines=4,
        ),
    ),
)

DOVECOT_CASES: list[tuple[str, bytes, list[Response]]] = [
    (
        "greeting",
        GREETING,
        [
            StatusResponse(
                OK,
                ResponseCode(
                    "CAPABILITY",
                    (
                        "IMAP4REV1",
                        "SASL-IR",
                        "LOGIN-REFERRALS",
                        "ID",
                        "ENABLE",
                        "IDLE",
                        "LITERAL+",
                        "STARTTLS",
                        "AUTH=PLAIN",
                        "AUTH=LOGIN",
                    ),
                ),
                "Dovecot (Debian) ready.",
            )
        ],
    ),
    (
        "capability",
        CAPABILITY,
        [
            Capability(DOVECOT_CAPS),
            TaggedResponse("a2", OK, None, "Capability completed (0.001 + 0.000 secs)."),
        ],
    ),
    (
        "select",
        SELECT,
        [
            StatusResponse(OK, ResponseCode("CLOSED"), "Previous mailbox closed."),
            Flags(DOVECOT_FLAGS),
            StatusResponse(
                OK, ResponseCode("PERMANENTFLAGS", (*DOVECOT_FLAGS, "\\*")), "Flags permitted."
            ),
            Exists(1),
            Recent(1),
            StatusResponse(OK, ResponseCode("UNSEEN", 1), "First unseen."),
            StatusResponse(OK, ResponseCode("UIDVALIDITY", 1795554840), "UIDs valid"),
            StatusResponse(OK, ResponseCode("UIDNEXT", 2), "Predicted next UID"),
            StatusResponse(OK, ResponseCode("HIGHESTMODSEQ", 2), "Highest"),
            TaggedResponse(
                "d7", OK, ResponseCode("READ-WRITE"), "Select completed (0.001 + 0.000 secs)."
            ),
        ],
    ),
    (
        "examine",
        EXAMINE_TAIL,
        [
            StatusResponse(OK, ResponseCode("PERMANENTFLAGS", ()), "Read-only mailbox."),
            TaggedResponse(
                "d8", OK, ResponseCode("READ-ONLY"), "Examine completed (0.001 + 0.000 secs)."
            ),
        ],
    ),
    (
        "list",
        LIST,
        [
            ListItem("LIST", ("\\HasNoChildren",), ".", "with space"),
            ListItem("LIST", ("\\HasNoChildren",), ".", 'A "quoted" &- name'),
            ListItem("LIST", ("\\Noselect", "\\HasChildren"), ".", "Archive"),
            ListItem("LIST", ("\\HasNoChildren",), ".", "Archive.2024"),
            ListItem("LIST", ("\\HasNoChildren",), ".", "Entw&APw-rfe"),
            ListItem("LIST", ("\\HasNoChildren",), ".", "INBOX"),
            TaggedResponse("a4", OK, None, "List completed (0.001 + 0.000 secs)."),
        ],
    ),
    (
        "status",
        STATUS,
        [
            MailboxStatus(
                "INBOX",
                {
                    "MESSAGES": 3,
                    "RECENT": 3,
                    "UIDNEXT": 4,
                    "UIDVALIDITY": 1795554841,
                    "UNSEEN": 0,
                    "HIGHESTMODSEQ": 4,
                },
            ),
            TaggedResponse("c3", OK, None, "Status completed (0.001 + 0.000 secs)."),
        ],
    ),
    (
        "search",
        SEARCHES,
        [
            Search((1, 2, 3)),
            TaggedResponse("d2", OK, None, "Search completed (0.001 + 0.000 secs)."),
            Search(()),
            TaggedResponse("d3", OK, None, "Search completed (0.001 + 0.000 secs)."),
            Search((1, 2, 3)),
            TaggedResponse("d4", OK, None, "Search completed (0.001 + 0.000 secs)."),
        ],
    ),
    (
        "misc",
        MISC,
        [
            Enabled(frozenset({"CONDSTORE"})),
            Fetch(1, modseq=5, flags=("\\Deleted", "\\Seen", "\\Recent")),
            Expunge(1),
            Recent(2),
            Continuation("idling"),
            StatusResponse(OK, None, "Still here"),
            TaggedResponse("i1", OK, None, "Idle completed (0.001 + 0.001 secs)."),
            TaggedResponse(
                "a0", NO, ResponseCode("AUTHENTICATIONFAILED"), "Authentication failed."
            ),
            TaggedResponse("a7", NO, None, "Mailbox doesn't exist: NoSuch (0.001 + 0.000 secs)."),
            TaggedResponse(
                "d9", BAD, None, "Error in IMAP command BAD: Unknown command (0.001 + 0.000 secs)."
            ),
            TaggedResponse(
                "b0",
                OK,
                ResponseCode("APPENDUID", "1795554841 1"),
                "Append completed (0.002 + 0.001 secs).",
            ),
            StatusResponse(BYE, None, "Logging out"),
            TaggedResponse("z", OK, None, "Logout completed (0.001 + 0.000 secs)."),
        ],
    ),
    (
        "fetch envelope",
        FETCH_ENVELOPE,
        [
            Fetch(
                1,
                uid=1,
                flags=("\\Seen", "\\Recent"),
                size=686,
                internaldate="24-Nov-2026 21:13:59 +0000",
                modseq=2,
                envelope=Envelope(
                    b"Mon, 23 Nov 2026 10:00:00 +0000",
                    b"=?UTF-8?B?SGVsbG8g8J+YgA==?=",
                    ALICE,
                    ALICE,
                    ALICE,
                    # "undisclosed-recipients:;" is an empty group: start and end markers.
                    (
                        addr(b"Bob", b"bob", b"example.org"),
                        addr(None, b"undisclosed-recipients", None),
                        addr(None, None, None),
                    ),
                    (
                        addr(None, b"Team", None),
                        addr(None, b"carol", b"example.com"),
                        addr(None, b"dave", b"example.com"),
                        addr(None, None, None),
                    ),
                    None,
                    None,
                    b"<m1@example.com>",
                ),
            ),
            Fetch(
                2,
                uid=2,
                flags=("\\Seen", "\\Recent"),
                size=505,
                internaldate="24-Nov-2026 21:13:59 +0000",
                modseq=3,
                envelope=Envelope(
                    b"Tue, 24 Nov 2026 10:00:00 +0100",
                    None,  # no Subject header
                    WEIRD,
                    WEIRD,
                    WEIRD,
                    (addr(None, b"x", b"example.com"),),
                    None,
                    None,
                    None,
                    None,
                ),
            ),
            Fetch(
                3,
                uid=3,
                flags=("\\Seen", "\\Recent"),
                size=131,
                internaldate="24-Nov-2026 21:13:59 +0000",
                modseq=4,
                envelope=Envelope(
                    b"Wed, 25 Nov 2026 08:00:00 +0000",
                    "Grüße aus Köln".encode(),  # 8-bit header, sent as a literal
                    JOERG,
                    JOERG,
                    JOERG,
                    None,
                    None,
                    None,
                    None,
                    None,
                ),
            ),
            TaggedResponse("c7", OK, None, "Fetch completed (0.001 + 0.000 secs)."),
        ],
    ),
    (
        "fetch bodystructure",
        FETCH_BODYSTRUCTURE,
        [
            Fetch(
                1,
                bodystructure=BodyPart(
                    "multipart", "mixed", {"boundary": b"b1"}, parts=(PLAIN_1, PDF_FULL)
                ),
            ),
            Fetch(2, bodystructure=NESTED),
            Fetch(3, bodystructure=text_part("plain", b"us-ascii", "7BIT", 24, 1)),
            TaggedResponse("c8", OK, None, "Fetch completed (0.001 + 0.000 secs)."),
        ],
    ),
    (
        "fetch body",
        FETCH_BODY,
        [Fetch(1, bodystructure=BodyPart("multipart", "mixed", parts=(PLAIN_1, PDF_BODY)))],
    ),
    (
        "fetch sections",
        FETCH_SECTIONS,
        [
            Fetch(
                3,
                uid=3,
                sections={
                    "BODY[]": MESSAGE_3,
                    "BODY[HEADER.FIELDS (SUBJECT FROM)]": (
                        "From: Jörg <joerg@example.de>\r\nSubject: Grüße aus Köln\r\n\r\n"
                    ).encode(),
                    "BODY[1]<0>": b"8-bit",
                    "BODY[9]": b"",
                },
            ),
            TaggedResponse("d1", OK, None, "Fetch completed (0.001 + 0.000 secs)."),
        ],
    ),
]

ALL_DOVECOT = b"".join(data for _, data, _ in DOVECOT_CASES)
ALL_EXPECTED = [r for _, _, expected in DOVECOT_CASES for r in expected]


@pytest.mark.parametrize(
    ("data", "expected"), [c[1:] for c in DOVECOT_CASES], ids=[c[0] for c in DOVECOT_CASES]
)
def test_dovecot_transcripts(data: bytes, expected: list[Response]) -> None:
    assert parse_all(data) == expected


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000])
def test_any_split_gives_the_same_responses(size: int) -> None:
    assert parse_split(ALL_DOVECOT, size) == ALL_EXPECTED


def test_bare_lf_line_endings_and_empty_lines_are_tolerated() -> None:
    # Only transcripts without literals: a literal's size counts its own CRLFs.
    assert parse_all(SELECT.replace(b"\r\n", b"\n")) == DOVECOT_CASES[2][2]
    assert parse_all(b"* 3 EXISTS\n\r\n\n* SEARCH 1\n") == [Exists(3), Search((1,))]


# ---------------------------------------------------------------- Gmail-style and RFC lines

GMAIL_CASES: list[tuple[bytes, Response]] = [
    # Gmail quotes every mailbox name and uses "/" as delimiter.
    (
        b'* LIST (\\HasNoChildren \\All) "/" "[Gmail]/All Mail"\r\n',
        ListItem("LIST", ("\\HasNoChildren", "\\All"), "/", "[Gmail]/All Mail"),
    ),
    # A mailbox name as a literal, NIL delimiter, LSUB.
    (
        b'* LSUB () NIL {8}\r\nfoo"bar\\\r\n',
        ListItem("LSUB", (), None, 'foo"bar\\'),
    ),
    # An atom name with brackets (Dovecot does send [Gmail]-like names unquoted when safe).
    (b'* LIST () "/" [Gmail]/Sent\r\n', ListItem("LIST", (), "/", "[Gmail]/Sent")),
    # Gmail's FETCH extras are read and ignored; items may come in any order.
    (
        b"* 12 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334865 "
        b'X-GM-LABELS ("\\\\Important" Work) UID 48 FLAGS ())\r\n',
        Fetch(12, uid=48, flags=()),
    ),
    # Trailing space before ")" (Exchange) and a quoted number tolerated.
    (
        b'* STATUS "Sent Items" (MESSAGES 3 UIDNEXT "9" )\r\n',
        MailboxStatus("Sent Items", {"MESSAGES": 3, "UIDNEXT": 9}),
    ),
    # Exchange-style trailing space on SEARCH.
    (b"* SEARCH 4 \r\n", Search((4,))),
    # Status without text, and without a space after the code.
    (b"A1 OK\r\n", TaggedResponse("A1", OK, None, "")),
    (b"* OK [ALERT]\r\n", StatusResponse(OK, ResponseCode("ALERT"), "")),
    (b"* NO [ALERT]Quota\r\n", StatusResponse(NO, ResponseCode("ALERT"), "Quota")),
    (b"a ok [trycreate] x\r\n", TaggedResponse("a", OK, ResponseCode("TRYCREATE"), "x")),
    (
        b"A3 NO [NONEXISTENT] Unknown Mailbox: x (Failure)\r\n",
        TaggedResponse("A3", NO, ResponseCode("NONEXISTENT"), "Unknown Mailbox: x (Failure)"),
    ),
    (b"* PREAUTH hi\r\n", StatusResponse(Status.PREAUTH, None, "hi")),
    # Unknown response codes keep their text; a status text ending in {n} is no literal.
    (
        b"* BYE [X-FOO a b] going {5}\r\n",
        StatusResponse(BYE, ResponseCode("X-FOO", "a b"), "going {5}"),
    ),
    (b"+\r\n", Continuation("")),
    (b"+ dXNlcj0=\r\n", Continuation("dXNlcj0=")),
    # Capability code in a tagged OK.
    (
        b"A0 OK [CAPABILITY IMAP4rev1 IDLE] Thats all she wrote! b4mr8\r\n",
        TaggedResponse(
            "A0",
            OK,
            ResponseCode("CAPABILITY", ("IMAP4REV1", "IDLE")),
            "Thats all she wrote! b4mr8",
        ),
    ),
    # 8-bit text in a status response, decoded as UTF-8 or else Latin-1.
    (b"* OK Gr\xc3\xbc\xc3\x9fe\r\n", StatusResponse(OK, None, "Grüße")),
    (b"* OK Gr\xfc\xdfe\r\n", StatusResponse(OK, None, "Grüße")),
    # Unknown untagged responses, even with literals, are kept, never an error.
    (b'* ID ("name" "Dovecot")\r\n', Unknown(b'* ID ("name" "Dovecot")')),
    (b"* 3 XFOO {2}\r\nab bar\r\n", Unknown(b"* 3 XFOO {2}\r\nab bar")),
    (b"* (weird)\r\n", Unknown(b"* (weird)")),
    (b"* VANISHED (EARLIER) 1:3\r\n", Unknown(b"* VANISHED (EARLIER) 1:3")),
    # Non-synchronising literals accepted from a server too; quoted NIL is a string.
    (
        b'* 1 FETCH (BODY[TEXT] {3+}\r\nabc RFC822.HEADER "NIL" BODY[HEADER] NIL)\r\n',
        Fetch(1, sections={"BODY[TEXT]": b"abc", "RFC822.HEADER": b"NIL", "BODY[HEADER]": None}),
    ),
    # Escapes in quoted strings; INTERNALDATE; lower-case item names; .PEEK dropped.
    (
        b'* 2 fetch (uid 7 body.peek[header] "a\\"b\\\\c" '
        b'internaldate "1-Jan-2020 00:00:00 +0000")\r\n',
        Fetch(
            2, uid=7, internaldate="1-Jan-2020 00:00:00 +0000", sections={"BODY[HEADER]": b'a"b\\c'}
        ),
    ),
]


@pytest.mark.parametrize(("data", "expected"), GMAIL_CASES)
def test_rfc_and_provider_lines(data: bytes, expected: Response) -> None:
    assert parse_one(data) == expected


def body(data: bytes) -> BodyPart:
    response = parse_one(b"* 1 FETCH (BODYSTRUCTURE " + data + b")\r\n")
    assert isinstance(response, Fetch) and response.bodystructure is not None
    return response.bodystructure


def test_bodystructure_quirks() -> None:
    # NIL where strings are expected (Exchange/Gmail): type defaults, NIL encoding and size.
    assert body(b"(NIL NIL NIL NIL NIL NIL NIL)") == BodyPart("text", "plain")
    # A multipart sent as a bare single part without children.
    assert body(b'("MULTIPART" "MIXED" ("BOUNDARY" "x"))') == BodyPart(
        "multipart", "mixed", {"boundary": b"x"}
    )
    # message/rfc822 without envelope/body/lines: read as a basic part.
    assert body(b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 10 NIL)') == BodyPart(
        "message", "rfc822", encoding="7BIT", size=10
    )
    # Disposition as a bare string; language as one string; odd param list; () params.
    part = body(b'("IMAGE" "PNG" ("NAME" "a.png" "X") "<id>" NIL "BASE64" 4 NIL "INLINE" "en")')
    assert part == BodyPart(
        "image",
        "png",
        {"name": b"a.png"},
        content_id=b"<id>",
        encoding="BASE64",
        size=4,
        disposition=("inline", {}),
        language=("en",),
    )
    assert body(b'("TEXT" "PLAIN" () NIL NIL "7BIT" 0 0)').params == {}
    # Multipart with its subtype missing; multipart extension data complete.
    assert body(b'(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1))') == BodyPart(
        "multipart", "mixed", parts=(BodyPart("text", "plain", encoding="7BIT", size=1, lines=1),)
    )
    assert body(
        b'(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1) "MIXED" ("B" "1") ("INLINE" NIL) '
        b'("de" "fr") "loc" 5)'
    ) == BodyPart(
        "multipart",
        "mixed",
        {"b": b"1"},
        parts=(BodyPart("text", "plain", encoding="7BIT", size=1, lines=1),),
        disposition=("inline", {}),
        language=("de", "fr"),
        location=b"loc",
    )


def test_spaces_between_multipart_children_are_tolerated() -> None:
    # Exchange and Stalwart separate the children with spaces; RFC 3501 has "1*body".
    child = b'("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "QUOTED-PRINTABLE" 10 2 NIL NIL NIL)'
    part = BodyPart(
        "text", "plain", {"charset": b"UTF-8"}, encoding="QUOTED-PRINTABLE", size=10, lines=2
    )
    assert body(b"(" + child + b" " + child + b' "ALTERNATIVE")') == BodyPart(
        "multipart", "alternative", parts=(part, part)
    )


def test_more_body_tolerances() -> None:
    # A NIL parameter name is dropped; an empty disposition list reads as NIL; a NIL
    # language list member is skipped.
    assert body(b'("TEXT" "PLAIN" (NIL "x" "A" "b") NIL NIL NIL 1 1 NIL () ("en" NIL))') == (
        BodyPart("text", "plain", {"a": b"b"}, size=1, lines=1, language=("en",))
    )


def test_complete_lines_over_the_limit_are_refused() -> None:
    with pytest.raises(LimitExceeded):
        parse_all(b"* OK " + b"x" * 100 + b"\r\n", max_line_bytes=40)


def test_envelope_with_empty_address_list_reads_as_nil() -> None:
    response = parse_one(b"* 1 FETCH (ENVELOPE (NIL NIL () NIL NIL NIL NIL NIL NIL NIL))\r\n")
    assert isinstance(response, Fetch) and response.envelope is not None
    assert response.envelope.from_ is None


# ---------------------------------------------------------------- errors and limits

MALFORMED = [
    b"A1 MAYBE done\r\n",  # tagged without OK/NO/BAD
    b"A1\r\n",  # tag alone
    b"* 1 FETCH (UID)\r\n",  # odd item list
    b"* 1 FETCH (UID x)\r\n",  # not a number
    b"* 1 FETCH UID 1\r\n",  # not a list
    b"* FLAGS \\Seen\r\n",
    b'* LIST () "/" (x)\r\n',  # name is a list
    b"* STATUS x (MESSAGES)\r\n",
    b'* 1 FETCH (ENVELOPE ("a"))\r\n',
    b'* 1 FETCH (BODYSTRUCTURE ("TEXT"))\r\n',
    b'* 1 FETCH (BODY[] "unterminated)\r\n',
    b"* 1 FETCH (UID 1\r\n",  # unterminated list
    b"* OK [UIDNEXT abc] x\r\n",
    b"* OK [ALERT x\r\n",
    b"* 1 FETCH (BODY[] {3}x)\r\n",  # literal header not at end of line
    b"* 1 FETCH " + b"(" * 200 + b")" * 200 + b"\r\n",  # nesting bound
    b"* 1 FETCH ((X) 1)\r\n",  # item name not an atom
    b"* 1 FETCH (FLAGS \\Seen)\r\n",
    b"* 1 FETCH (MODSEQ 5)\r\n",
    b"* 1 FETCH (BODYSTRUCTURE ())\r\n",
    b"* 1 FETCH (BODY[] (x))\r\n",  # a list where an nstring belongs
    b"* 1 FETCH (UID NIL)\r\n",
    b"* 1 FETCH )\r\n",
    b"* FLAGS\r\n",  # ends where a value is expected
    b"* OK [] x\r\n",
    b"* OK [PERMANENTFLAGS] x\r\n",
    b"* OK [PERMANENTFLAGS \\Seen] x\r\n",
    b'* LIST x "/" y\r\n',
    b"* LIST () (x) y\r\n",
    b"* 1 FETCH (ENVELOPE (NIL NIL x NIL NIL NIL NIL NIL NIL NIL))\r\n",
    b"* 1 FETCH (ENVELOPE (NIL NIL ((NIL NIL)) NIL NIL NIL NIL NIL NIL NIL))\r\n",
    b'* 1 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" x NIL NIL NIL 1))\r\n',
]


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_input_raises_protocol_error_then_refuses(data: bytes) -> None:
    parser = ResponseParser()
    parser.receive_data(data + b"* 1 EXISTS\r\n")
    with pytest.raises(ImapProtocolError):
        parser.next_response()
    with pytest.raises(ImapProtocolError):
        parser.next_response()
    with pytest.raises(ImapProtocolError):
        parser.receive_data(b"* 2 EXISTS\r\n")


def test_line_limit_applies_between_literals() -> None:
    line = b"* 1 FETCH (BODY[] {100}\r\n" + b"x" * 100 + b" UID 1)\r\n"
    # The 100-byte literal does not count against a 40-byte line limit.
    assert parse_all(line, max_line_bytes=40) == [Fetch(1, uid=1, sections={"BODY[]": b"x" * 100})]
    exactly = b"* OK " + b"x" * 35  # 40 bytes: at the limit, accepted, also when split
    assert parse_all(exactly + b"\r\n", max_line_bytes=40) == [StatusResponse(OK, None, "x" * 35)]
    parser = ResponseParser(max_line_bytes=40)
    parser.receive_data(exactly + b"\r")
    assert parser.next_response() is None
    parser.receive_data(b"\n")
    assert parser.next_response() == StatusResponse(OK, None, "x" * 35)
    parser.receive_data(b"* OK " + b"x" * 37)  # 42 bytes, no LF yet: already too long
    with pytest.raises(LimitExceeded) as info:
        parser.next_response()
    assert info.value.limit_name == "max_line_bytes"


def test_literal_limit_is_checked_on_the_header() -> None:
    parser = ResponseParser(max_literal_bytes=10)
    parser.receive_data(b"* 1 FETCH (BODY[] {11}\r\n")  # no literal byte buffered yet
    with pytest.raises(LimitExceeded) as info:
        parser.next_response()
    assert info.value.limit_name == "max_literal_bytes"


def test_response_limit_counts_all_literals() -> None:
    parser = ResponseParser(max_literal_bytes=10, max_response_bytes=30)
    parser.receive_data(b"* 1 FETCH (A {10}\r\n0123456789 B {10}\r\n0123456789 C {10}\r\n")
    with pytest.raises(LimitExceeded) as info:
        parser.next_response()
    assert info.value.limit_name == "max_response_bytes"


def test_eof_mid_response_is_connection_lost() -> None:
    parser = ResponseParser()
    parser.receive_data(b"* 1 EXISTS\r\n* 1 FETCH (BODY[] {10}\r\nabc")
    parser.receive_eof()
    assert parser.next_response() == Exists(1)
    with pytest.raises(ConnectionLost):
        parser.next_response()
    with pytest.raises(InvalidState):
        parser.receive_data(b"x")


def test_clean_eof_returns_none() -> None:
    parser = ResponseParser()
    parser.receive_data(b"* BYE bye\r\n")
    parser.receive_eof()
    assert parser.eof
    assert parser.next_response() == StatusResponse(BYE, None, "bye")
    assert parser.next_response() is None


def test_a_20_mb_literal_parses() -> None:
    payload = bytes(range(256)) * (20 * 1024 * 1024 // 256)
    parser = ResponseParser()
    parser.receive_data(b"* 1 FETCH (UID 9 BODY[] {%d}\r\n" % len(payload))
    assert parser.next_response() is None
    for i in range(0, len(payload), 16 * 1024):  # as a TLS socket delivers it
        parser.receive_data(payload[i : i + 16 * 1024])
    assert parser.next_response() is None
    parser.receive_data(b")\r\nA1 OK done\r\n")
    response = parser.next_response()
    assert isinstance(response, Fetch)
    assert response.uid == 9 and response.sections["BODY[]"] == payload
    assert parser.next_response() == TaggedResponse("A1", OK, None, "done")


# ---------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_protocol_errors(data: bytes) -> None:
    parser = ResponseParser(max_line_bytes=100, max_literal_bytes=50)
    parser.receive_data(data)
    # Each call either returns a response (having consumed input) or None: bounded work.
    for _ in range(len(data) + 1):
        try:
            if parser.next_response() is None:
                break
        except ImapProtocolError:
            break
    else:
        pytest.fail("next_response() did not run out of input")


IMAP_ALPHABET = st.sampled_from(
    [
        b"* ",
        b"A1 ",
        b"+ ",
        b"OK ",
        b"FETCH ",
        b"(",
        b")",
        b" ",
        b"NIL",
        b'"',
        b"\\",
        b"{3}\r\n",
        b"{0}\r\n",
        b"\r\n",
        b"\n",
        b"1",
        b"BODY[",
        b"]",
        b"<0>",
        b"[",
        b"UID",
        b"LIST",
        b"x",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(IMAP_ALPHABET, max_size=40).map(b"".join), st.integers(1, 9))
def test_imap_like_bytes_parse_the_same_in_any_split(data: bytes, size: int) -> None:
    def run(chunk: int) -> list[object]:
        parser = ResponseParser()
        out: list[object] = []
        for i in range(0, len(data), chunk):
            parser.receive_data(data[i : i + chunk])
            try:
                while (response := parser.next_response()) is not None:
                    out.append(response)
            except ImapProtocolError:
                out.append("error")
                return out
        return out

    assert run(size) == run(len(data) or 1)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(ALL_DOVECOT)), st.integers(0, 3), st.binary(max_size=3)),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_transcripts_only_raise_protocol_errors(
    edits: list[tuple[int, int, bytes]],
) -> None:
    # Real responses with a few bytes deleted or inserted reach the FETCH, ENVELOPE and
    # BODYSTRUCTURE interpreters with almost-right shapes, which random bytes rarely do.
    data = ALL_DOVECOT
    for offset, delete, insert in edits:
        data = data[:offset] + insert + data[offset + delete :]
    parser = ResponseParser()
    parser.receive_data(data)
    try:
        while parser.next_response() is not None:
            pass
    except ImapProtocolError:
        pass


@pytest.mark.parametrize(
    "module",
    [
        "parser",
        "_values",
        "_fetch",
        "_fetch_scan",
        "_envelope_scan",
        "_body_scan",
        "_build",
        "commands",
        "errors",
    ],
)
def test_sans_io_modules_import_no_io(module: str) -> None:
    import ast
    import importlib

    source = importlib.import_module(f"switchboard.imap.{module}").__file__
    assert source is not None
    with open(source, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"asyncio", "socket", "ssl", "threading", "time", "sqlite3"}
