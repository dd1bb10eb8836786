"""The MIME walk: RFC 2231/2047 file names, part numbering, attachments, text parts, HTML text."""

from __future__ import annotations

import pytest

from switchboard.mail import mime
from switchboard.model.mail import BodyPart


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
