"""Tests for switchboard.imap._body_scan against the generic path (the parser's own)."""

from __future__ import annotations

import pytest

from switchboard.imap._body_scan import scan_body
from switchboard.imap._fetch import parse_body
from switchboard.imap._values import Reader

TEXT = b'("TEXT" "PLAIN" ("CHARSET" "utf-8" "FORMAT" "flowed") NIL NIL "7BIT" 42 3'
PDF = (b'("application" "pdf" ("name" "r.pdf") "<id>" "report" "base64" 1000 "md5" '
       b'("attachment" ("filename" "r.pdf")) ("en" "de") "http://x/r.pdf")')
ENVELOPE = b'(NIL "inner" (("A" NIL "a" "x")) NIL NIL NIL NIL NIL NIL NIL)'

USUAL = [
    TEXT + b")",
    TEXT + b' NIL ("inline" NIL) "en" NIL)',  # with extension data
    b'(NIL NIL NIL NIL NIL NIL NIL)',  # NIL type and subtype: text/plain, no lines
    PDF,
    b'("image" "png" () NIL NIL NIL NIL)',
    b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 500 ' + ENVELOPE + b" " + TEXT + b") 12)",
    b'("message" "rfc822" NIL NIL NIL "7bit" 500 NIL)',  # basic (Exchange): no envelope
    b"(" + TEXT + b")" + PDF + b' "MIXED" ("BOUNDARY" "b") ("inline" NIL) "fr" "loc")',
    b"(" + TEXT + b") " + PDF + b")",  # a space between children, no subtype
    b"((" + TEXT + b")" + TEXT + b') "alternative")' + PDF + b' "mixed")',
]


@pytest.mark.parametrize("text", USUAL)
def test_usual_structures_read_as_the_generic_path_reads_them(text: bytes) -> None:
    read = scan_body(text + b" UID 1)", 0)
    assert read is not None
    part, end = read
    assert end == len(text)
    assert part == parse_body(Reader([text], []).value())


@pytest.mark.parametrize(
    "text",
    [
        b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 5 "md5")',  # lines missing: generic path decides
        b'("text" "plain" ("a" NIL) NIL NIL NIL 1 1)',  # NIL parameter value
        b'("text" "plain" NIL NIL NIL "x\\"y" 1 1)',  # an escape
        b'("MULTIPART" "MIXED" ("BOUNDARY" "x"))',  # a bare multipart
        b'("message" "rfc822" NIL NIL NIL "7bit" 5 ' + ENVELOPE + b" NIL 1)",
        b"( " + TEXT + b"))",
        b'("a" "b" NIL NIL NIL NIL 1 NIL NIL NIL NIL NIL)',  # more extension data
    ],
)
def test_other_spellings_are_left_to_the_generic_path(text: bytes) -> None:
    assert scan_body(text, 0) is None


def test_deep_nesting_is_left_to_the_generic_path() -> None:
    text = b"(" * 40 + TEXT + b")" + b' "mixed")' * 39
    assert scan_body(text, 0) is None


def test_parts_read_from_the_same_text_share_no_mutable_value() -> None:
    # The heads and parameter lists of parts are remembered by their text; each part must still
    # get dicts of its own, so a caller changing one changes no other part.
    text = b"(" + TEXT + b")" + PDF + b' "MIXED" ("BOUNDARY" "b"))'
    first, _ = scan_body(text, 0)  # type: ignore[misc]
    first.parts[0].params["charset"] = b"changed"
    first.parts[1].params.clear()
    assert first.parts[1].disposition is not None
    first.parts[1].disposition[1].clear()
    second, _ = scan_body(text, 0)  # type: ignore[misc]
    assert second == parse_body(Reader([text], []).value())
    assert second.parts[0].params == {"charset": b"utf-8", "format": b"flowed"}
    assert second.parts[1].params == {"name": b"r.pdf"}
    assert second.parts[1].disposition == ("attachment", {"filename": b"r.pdf"})
