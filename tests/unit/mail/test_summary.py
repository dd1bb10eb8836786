from switchboard.engine.summary import decode_header_value, format_address, summarize
from switchboard.imap.responses import Address, Envelope, Fetch
from switchboard.model.events import MessageSummary


def envelope(subject, from_=None, date=b"Mon, 1 Jan 2024 10:00:00 +0000"):
    return Envelope(date, subject, from_, None, None, None, None, None, None, None)


def test_rfc2047_subject_is_decoded():
    assert decode_header_value(b"=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus =?iso-8859-1?b?S/Zsbg==?=") == (
        "Grüße aus Köln"
    )


def test_eight_bit_and_broken_words_never_fail():
    assert decode_header_value("Grüße".encode()) == "Grüße"
    assert decode_header_value(b"\xff\xfe caf\xe9") == "\ufffd\ufffd caf\ufffd"
    assert decode_header_value(b"=?x-unknown-charset?q?abc?=") is not None
    assert decode_header_value(None) is None


def test_whitespace_folded_and_length_bounded():
    assert decode_header_value(b"a\r\n  b\tc") == "a b c"
    assert len(decode_header_value(b"x" * 5000)) == 998


def test_address_formatting():
    assert format_address(Address(b"=?utf-8?q?J=C3=B6rg?=", None, b"j", b"example.de")) == (
        "Jörg <j@example.de>"
    )
    assert format_address(Address(None, None, b"bob", b"example.com")) == "bob@example.com"
    assert format_address(Address(None, None, b"group", None)) is None


def test_summarize_full_and_partial():
    fetch = Fetch(
        seq=1,
        uid=5,
        size=1234,
        envelope=envelope(
            b"Hello",
            (Address(None, None, b"undisclosed", None), Address(b"Ann", None, b"ann", b"x.org")),
        ),
    )
    assert summarize(fetch) == MessageSummary(
        subject="Hello", from_="Ann <ann@x.org>", date="Mon, 1 Jan 2024 10:00:00 +0000", size=1234
    )
    no_subject = summarize(Fetch(seq=1, uid=6, envelope=envelope(None, None, None)))
    assert no_subject == MessageSummary()
    assert summarize(Fetch(seq=1, uid=7, size=9)) == MessageSummary(size=9)
