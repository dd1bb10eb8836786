"""MIME helpers: charsets, transfer encodings, RFC 2047/2231 words, part numbering and choice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.imap.responses import BodyPart
from switchboard.server import mime


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"plain ascii", "plain ascii"),
        ("Grüße €".encode(), "Grüße €"),
        ("Grüße".encode("latin-1"), "Grüße"),
        (b"\x80 \x97 \x9f", "€ — Ÿ"),  # Windows-1252, not C1 controls
        (b"\x81\x8d\x8f\x90\x9d", "\x81\x8d\x8f\x90\x9d"),  # cp1252 holes keep their byte
    ],
)
def test_decode_lossless(data: bytes, expected: str) -> None:
    assert mime.decode_lossless(data) == expected


@given(st.binary(max_size=200))
def test_decode_lossless_never_loses_a_byte(data: bytes) -> None:
    text = mime.decode_lossless(data)
    assert "\ufffd" not in text or "\ufffd".encode() in data
    assert len(text) >= len(data.decode("utf-8", "replace").replace("\ufffd", ""))


def test_decode_raw_by_line() -> None:
    data = "utf-8 é\r\n".encode() + "latin-1 é\r\n".encode("latin-1")
    assert mime.decode_raw(data) == "utf-8 é\r\nlatin-1 é\r\n"
    assert mime.decode_raw(b"ok\r\n") == "ok\r\n"


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        ("é".encode("latin-1"), "ISO-8859-1", "é"),
        (b"\x80", "iso-8859-1", "€"),  # ISO-8859-1 mail is Windows-1252 in practice
        ("ж".encode("koi8-r"), "koi8-r", "ж"),
        ("é".encode(), '"UTF-8"', "é"),
        ("é".encode(), "utf-8*fr", "é"),  # RFC 2231 language suffix
        ("é".encode("latin-1"), "us-ascii", "é"),  # mislabelled 8-bit text
        ("é".encode(), None, "é"),
        ("é".encode("latin-1"), None, "é"),
        ("中".encode("gb18030"), "gb2312", "中"),
        (b"caf\xc3\xa9", "x-no-such-charset", "café"),
        (b"caf\xe9", "x-no-such-charset", "caf\ufffd"),
        (b"abc", "base64", "abc"),  # a codec that is not a text encoding is unknown
    ],
)
def test_decode_text(data: bytes, charset: str | None, expected: str) -> None:
    assert mime.decode_text(data, charset) == expected


@pytest.mark.parametrize("charset", ["utf-8", None])
def test_decode_text_prefix_drops_a_cut_character(charset: str | None) -> None:
    assert mime.decode_text("aé".encode()[:-1], charset, final=False) == "a"


def test_decode_text_prefix_of_undeclared_latin1() -> None:
    assert mime.decode_text("é!".encode("latin-1"), None, final=False) == "é!"


@pytest.mark.parametrize(
    ("data", "encoding", "expected"),
    [
        (b"aGVsbG8=", "BASE64", b"hello"),
        (b"aGVs\r\nbG8=\r\n", "base64", b"hello"),
        (b"aGVsbG8", "base64", b"hello"),  # padding missing
        (b"aGVsbG", "base64", b"hell"),  # cut: the whole bytes only
        (b"aGVsbG8gd", "base64", b"hello "),
        (b"!!", "base64", b""),
        (b"caf=C3=A9 soft=\r\nbreak", "Quoted-Printable", "café softbreak".encode()),
        (b"as is=41", "8bit", b"as is=41"),
        (b"as is", None, b"as is"),
    ],
)
def test_decode_transfer(data: bytes, encoding: str | None, expected: bytes) -> None:
    assert mime.decode_transfer(data, encoding) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"plain", "plain"),
        (b"=?UTF-8?Q?Bj=C3=B6rn?=", "Björn"),
        (b"=?utf-8?q?a_b?=", "a b"),
        (b"=?UTF-8?B?w5xtbGF1dCBzdWJqZWN0?=", "Ümlaut subject"),
        (b"=?UTF-8?B?w5xtbGF1dCBzdWJqZWN0?=  =?UTF-8?Q?_tail?=", "Ümlaut subject tail"),
        # One character split over two words of the same charset.
        (b"=?UTF-8?B?w4==?= =?UTF-8?B?nA==?=", "Ü"),
        (b"=?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrCDDoQ==?= tail", "Café € á tail"),
        (b"x =?UTF-8?Q?=C3=A9?= y", "x é y"),
        (b"=?UTF-8?X?bad?= ok", "=?UTF-8?X?bad?= ok"),
        (b"=?\xff?Q?a?= b", "=?\xff?Q?a?= b"),  # a non-ASCII charset label: not a word
        ("Grüße".encode("latin-1"), "Grüße"),
        ("Grüße", "Grüße"),
    ],
)
def test_decode_header_words(value: bytes | str, expected: str) -> None:
    assert mime.decode_header_words(value) == expected


@given(st.binary(max_size=200))
def test_decode_header_words_never_raises(data: bytes) -> None:
    mime.decode_header_words(data)
    mime.decode_header_words(b"=?utf-8?b?" + data + b"?=")


def _leaf(maintype: str, subtype: str, **fields: object) -> BodyPart:
    return BodyPart(maintype, subtype, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        (_leaf("application", "pdf"), None),
        (_leaf("application", "pdf", params={"name": b"a.pdf"}), "a.pdf"),
        (
            _leaf(
                "application",
                "pdf",
                params={"name": b"ignored.pdf"},
                disposition=("attachment", {"filename": b"used.pdf"}),
            ),
            "used.pdf",
        ),
        (
            _leaf(
                "text",
                "plain",
                disposition=(
                    "attachment",
                    {
                        "filename*1": b"b.txt",
                        "filename*0*": b"utf-8'en'%C3%A9%20",
                        "filename": b"fallback.txt",
                    },
                ),
            ),
            "é b.txt",
        ),
        (
            _leaf("image", "png", disposition=("attachment", {"filename*": b"%C3%A9.png"})),
            "é.png",  # no charset'lang' prefix: bytes as UTF-8, else Windows-1252
        ),
        (_leaf("image", "png", params={"name*": b"iso-8859-1''%E9.png"}), "é.png"),
        (_leaf("image", "png", params={"name": b"=?UTF-8?B?Zm90w7YuanBn?="}), "fotö.jpg"),
    ],
)
def test_part_filename(part: BodyPart, expected: str | None) -> None:
    assert mime.part_filename(part) == expected


def _multi(subtype: str, *parts: BodyPart) -> BodyPart:
    return BodyPart("multipart", subtype, parts=parts)


# The tree of RFC 3501 §6.4.5's example, leaves named after their part id.
RFC3501_EXAMPLE = _multi(
    "mixed",
    _leaf("text", "plain", description=b"1"),
    _leaf("application", "octet-stream", description=b"2"),
    _leaf(
        "message",
        "rfc822",
        description=b"3",
        body=_multi("mixed", _leaf("text", "plain"), _leaf("application", "octet-stream")),
    ),
    _multi(
        "mixed",
        _leaf("image", "gif", description=b"4.1"),
        _leaf("message", "rfc822", description=b"4.2"),
    ),
)


def test_body_leaves_number_parts_as_rfc3501() -> None:
    leaves = list(mime.body_leaves(RFC3501_EXAMPLE))
    assert [(part_id, part.description) for part_id, part in leaves] == [
        ("1", b"1"),
        ("2", b"2"),
        ("3", b"3"),
        ("4.1", b"4.1"),
        ("4.2", b"4.2"),
    ]
    assert list(mime.body_leaves(_leaf("text", "plain"))) == [("1", _leaf("text", "plain"))]


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        (_leaf("text", "plain"), False),
        (_leaf("text", "html"), False),
        (_leaf("text", "plain", disposition=("ATTACHMENT", {})), True),
        (_leaf("text", "calendar"), False),
        (_leaf("text", "calendar", params={"name": b"invite.ics"}), True),
        (_leaf("message", "rfc822"), True),
        (_leaf("application", "pdf"), True),
        (_leaf("image", "png", disposition=("inline", {})), True),
        (_leaf("image", "png", content_id=b"<logo@x>"), False),
        (_leaf("image", "png", content_id=b"<x>", disposition=("inline", {})), False),
        (_leaf("image", "png", content_id=b"<x>", disposition=("attachment", {})), True),
    ],
)
def test_is_attachment(part: BodyPart, expected: bool) -> None:
    assert mime.is_attachment(part) is expected


def test_find_text_part_skips_attachments_and_forwarded_messages() -> None:
    body = _multi(
        "mixed",
        _leaf("text", "plain", disposition=("attachment", {"filename": b"a.txt"})),
        _leaf("message", "rfc822", body=_leaf("text", "html")),
        _multi("alternative", _leaf("text", "plain"), _leaf("text", "html")),
    )
    assert mime.find_text_part(body, "plain") == ("3.1", _leaf("text", "plain"))
    assert mime.find_text_part(body, "html") == ("3.2", _leaf("text", "html"))
    assert mime.find_text_part(_leaf("image", "png"), "html") is None


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>a</p><p>b</p>", "a b"),
        ("<head><title>T</title><style>x{}</style></head><body>seen</body>", "seen"),
        ("<script>if (a < b) { x = '<p>no</p>' }</script>yes", "yes"),
        ("A&amp;B&nbsp;C &eacute; &#233;", "A&B C é é"),
        ("line<br>break", "line break"),
        ("unclosed <b>bold", "unclosed bold"),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert mime.collapse_whitespace(mime.html_to_text(html, max_chars=1000)) == expected


def test_html_to_text_stops_collecting() -> None:
    text = mime.html_to_text("<p>word</p>" * 1000, max_chars=20)
    assert 20 <= len(text.replace(" ", "")) < 40


def test_collapse_whitespace() -> None:
    assert mime.collapse_whitespace(" a\r\n\t b\u00a0c  ") == "a b c"
