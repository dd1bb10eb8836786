"""Bounded fuzzing for CI: the decoders that read peer bytes never raise an undocumented error.

The parsers' own property tests (tests/unit) check meaning; these throw many malformed inputs,
built from each grammar's tokens plus random bytes and split at random points, at the three
entry points that take bytes from a peer — the server's frame decoder, the IMAP response parser
and the client's frame classifier — and check that only documented errors come out, and that
each call returns promptly (hypothesis' ``deadline``; pytest-timeout bounds the whole file).
Total run time is a few seconds.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard.client.session import ClientSession, Dropped, Pushes, Reply, Unmatched
from switchboard.imap.errors import ConnectionLost, ImapProtocolError
from switchboard.imap.parser import ResponseParser
from switchboard.protocol.frames import DecodedFrame, decode_frame

pytestmark = pytest.mark.timeout(60)

FUZZ = settings(max_examples=2000, deadline=500, suppress_health_check=[HealthCheck.too_slow])

IMAP_TOKENS = [
    b"* ", b"+ ", b"A1 ", b"OK", b"NO", b"BAD", b"BYE", b"PREAUTH", b"FETCH", b"EXISTS",
    b"EXPUNGE", b"RECENT", b"LIST", b"LSUB", b"STATUS", b"SEARCH", b"CAPABILITY", b"FLAGS",
    b"ENVELOPE", b"BODYSTRUCTURE", b"BODY[]", b"BODY[HEADER]", b"RFC822.SIZE", b"UID",
    b"INTERNALDATE", b"[UIDVALIDITY 3]", b"[UIDNEXT 4]", b"[", b"]", b"(", b")", b"{",
    b"}", b"{0}", b"{3}", b"{5+}", b"{99999999999}", b"NIL", b'"', b"\\", b" ", b"\r\n",
    b"\n", b"\r", b"1", b"42", b"4294967296", b"-1", b'"a b"', b"\x00", b"\xff", b"~{2}",
    b"(\\Seen \\Answered)", b'"01-Jan-2020 00:00:00 +0000"',
]
JSON_TOKENS = [
    "[", "]", "{", "}", ",", ":", '"', "\\", "\\u", "d800", "null", "true", "false", "0",
    "-1", "1e999", "NaN", "Infinity", "1.5", "12345678901234567890", '"watchAll"', '"connect"',
    '"getMessages"', '"ack"', '"eventIds"', '"since"', '"group"', '"account"', '"list"',
    '"ids"', "{}", "[]", " ", "\u00e9", "\ud7ff", "\ufffd",
]


def imap_stream() -> st.SearchStrategy[bytes]:
    token = st.one_of(st.sampled_from(IMAP_TOKENS), st.binary(max_size=8))
    return st.lists(token, max_size=60).map(b"".join)


def json_text() -> st.SearchStrategy[str]:
    token = st.one_of(st.sampled_from(JSON_TOKENS), st.text(max_size=6))
    return st.lists(token, max_size=60).map("".join)


@FUZZ
@given(data=imap_stream(), cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=6),
       eof=st.booleans())
def test_imap_parser_raises_only_documented_errors(data: bytes, cuts: list[int],
                                                   eof: bool) -> None:
    parser = ResponseParser(max_line_bytes=256, max_literal_bytes=1024)
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    # Each response consumes at least one byte, so more responses than bytes would be a loop.
    budget = len(data) + 2
    try:
        for start, end in itertools.pairwise(bounds):
            parser.receive_data(data[start:end])
            while parser.next_response() is not None:
                budget -= 1
                assert budget > 0, "the parser returns responses without consuming input"
        if eof:
            parser.receive_eof()
            while parser.next_response() is not None:
                budget -= 1
                assert budget > 0
    except (ImapProtocolError, ConnectionLost):
        pass  # documented: malformed data, a limit, or a truncated response


@FUZZ
@given(text=json_text())
def test_frame_decoder_never_raises(text: str) -> None:
    decoded = decode_frame(text, max_frame_bytes=4096, max_batch=16, max_depth=8)
    assert isinstance(decoded, DecodedFrame)
    raw = text.encode("utf-8", "surrogatepass")
    assert isinstance(decode_frame(raw, max_frame_bytes=4096), DecodedFrame)


@FUZZ
@given(text=json_text(), raw=st.binary(max_size=64))
def test_client_frame_classifier_never_raises(text: str, raw: bytes) -> None:
    session: ClientSession[None] = ClientSession(max_pending_groups=4)
    session.connection_made(lambda: None)
    session.send([("watchAll", {})], None)
    for data in (text, raw):
        event = session.receive(data)
        assert isinstance(event, Reply | Pushes | Unmatched | Dropped)
