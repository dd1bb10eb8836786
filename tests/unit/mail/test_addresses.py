"""Address lists from header bytes, their wire objects and the ``Name <address>`` form.

The parsing rows are what Dovecot 2.3's ENVELOPE gives for the same header values (recorded by
appending each to a throwaway Dovecot and fetching ENVELOPE), except where a row says otherwise:
the values getMessages showed before it read header bytes.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.mail.addresses import (
    Address,
    address_objects,
    email_of,
    first_address,
    format_address,
    parse_address_list,
    parse_addresses,
)

A = Address


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"alice@example.com", [A(None, b"alice", b"example.com")]),
        (b"Alice Example <alice@example.com>", [A(b"Alice Example", b"alice", b"example.com")]),
        (b'"Q, uoted" <q@x.org>', [A(b"Q, uoted", b"q", b"x.org")]),
        (b'"a\\"b" <c@d.e>', [A(b'a"b', b"c", b"d.e")]),  # quoted pairs unescaped
        (b'"Giant; \\"Big\\" Box" <s@x.net>', [A(b'Giant; "Big" Box', b"s", b"x.net")]),
        # Whitespace runs of a display name, quoted or not, become one space.
        (b'"Alice   Two\tSpaces" <a@x.y>, Bob  Smith <b@x.y>',
         [A(b"Alice Two Spaces", b"a", b"x.y"), A(b"Bob Smith", b"b", b"x.y")]),
        (b"A\r\n\tB <ab@x.y>", [A(b"A B", b"ab", b"x.y")]),  # folded inside the name
        (b'John Q. Public <jqp@x.y>, "Joe"Smith <c@x.y>',
         [A(b"John Q. Public", b"jqp", b"x.y"), A(b"Joe Smith", b"c", b"x.y")]),
        (b"Who? <one@y.test>", [A(b"Who?", b"one", b"y.test")]),
        # Encoded-words stay raw, whitespace between them made one space.
        (b"=?utf-8?q?a.b?= <a@x.y>", [A(b"=?utf-8?q?a.b?=", b"a", b"x.y")]),
        (b"=?utf-8?q?a?=  =?utf-8?q?b?= <a@x.y>",
         [A(b"=?utf-8?q?a?= =?utf-8?q?b?=", b"a", b"x.y")]),
        (b'Name\xc3\xa9 With "quote" part <n@x.y>',
         [A(b"Name\xc3\xa9 With quote part", b"n", b"x.y")]),
        # Comments: dropped from a display name; without one, the last one after the address.
        (b"A (c) B <b@x.y>", [A(b"A B", b"b", b"x.y")]),
        (b"Name (comment) <x@y.z>", [A(b"Name", b"x", b"y.z")]),
        (b"alice@example.com (Alice Comment)", [A(b"Alice Comment", b"alice", b"example.com")]),
        (b"a@x.y (first) (second)", [A(b"second", b"a", b"x.y")]),
        (b"x@y.z (c (nested) d)", [A(b"c (nested) d", b"x", b"y.z")]),
        (b"(just comment) c@d.e", [A(None, b"c", b"d.e")]),
        (b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
         [A(b"Pete", b"pete", b"silly.test")]),  # RFC 5322 appendix A.5
        (b"<@route,@r2:x@y.z>", [A(None, b"x", b"y.z")]),  # a source route is dropped
        (b"bob @ example.com", [A(None, b"bob", b"example.com")]),
        (b'a.b @ c . d, "a b"@x.y', [A(None, b"a.b", b"c.d"), A(None, b"a b", b"x.y")]),
        (b"bob.smith@[1.2.3.4]", [A(None, b"bob.smith", b"[1.2.3.4]")]),
        (b'"" <e@f.g>', [A(None, b"e", b"f.g")]),
        # Groups are flattened; an empty group and empty list elements add nothing.
        (b"Group: a@b.c, <d@e.f>;, solo@x.y",
         [A(None, b"a", b"b.c"), A(None, b"d", b"e.f"), A(None, b"solo", b"x.y")]),
        (b"undisclosed-recipients:;", []),
        (b"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
         b"         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end)",
         [A(b"Chris Jones", b"c", b"public.example"), A(None, b"joe", b"example.org"),
          A(b"John", b"jdoe", b"one.test")]),  # RFC 5322 appendix A.1.3
        (b", a@x.y,,b@x.y", [A(None, b"a", b"x.y"), A(None, b"b", b"x.y")]),
        # No domain: Dovecot writes "MISSING_DOMAIN", we leave the host out ("mailbox@").
        (b"bob", [A(None, b"bob", None)]),
        (b"a@", [A(None, b"a", None)]),
        (b"@b", [A(None, None, b"b")]),
        # Not addresses at all: nothing (Dovecot: "MISSING_MAILBOX@MISSING_DOMAIN").
        (b"<>", []),
        (b"", []),
        (b"   ", []),
        (b"(only a comment)", []),
        # Junk after ">" is ignored; the next address still counts (Dovecot loses it).
        (b"<a@x.y> trailing junk, d@e.f", [A(None, b"a", b"x.y"), A(None, b"d", b"e.f")]),
    ],
)  # fmt: skip
def test_parse_addresses(value: bytes, expected: list[Address]) -> None:
    assert list(parse_addresses(value)) == expected


@pytest.mark.parametrize(
    ("value", "grouped"),
    [(b"list:;", True), (b"G: a@b.c;", True), (b"a@b.c", False), (b"<a@b:c>", False)],
)
def test_parse_address_list_says_whether_a_group_was_named(value: bytes, grouped: bool) -> None:
    assert parse_address_list(value)[1] is grouped


@given(st.binary(max_size=200))
def test_parse_never_raises(value: bytes) -> None:
    for address in parse_addresses(value):
        assert address.mailbox is not None or address.host is not None


@given(
    st.lists(
        st.sampled_from(
            [b"a", b"b@c", b" ", b"\t", b",", b";", b":", b"<", b">", b"@", b".", b'"', b"\\",
             b"(", b")", b"[", b"]", b"\r\n ", b"=?utf-8?q?x?=", b"\xc3\xa9", b"\xff"]
        ),
        max_size=30,
    )
)  # fmt: skip
def test_parse_never_raises_on_specials(parts: list[bytes]) -> None:
    parse_address_list(b"".join(parts))


def test_wire_objects() -> None:
    addresses = [
        A(b"Alice Example", b"alice", b"example.com"),
        A(None, b"bob", None),
        A(b"=?UTF-8?Q?Bj=C3=B6rn?=", b"bjorn", b"example.com"),
        A(b"J\xf6rg M\xfcller", b"joerg", b"example.de"),
    ]
    assert address_objects(addresses) == [
        {"name": "Alice Example", "email": "alice@example.com"},
        {"name": "", "email": "bob@"},
        {"name": "=?UTF-8?Q?Bj=C3=B6rn?=", "email": "bjorn@example.com", "decodedName": "Björn"},
        {
            "name": "J\ufffdrg M\ufffdller",
            "email": "joerg@example.de",
            "decodedName": "Jörg Müller",
        },
    ]
    assert address_objects([]) is None


@pytest.mark.parametrize(
    ("address", "email", "formatted"),
    [
        (A(b"=?utf-8?q?J=C3=B6rg?=", b"j", b"example.de"), "j@example.de", "Jörg <j@example.de>"),
        (A(None, b"bob", b"example.com"), "bob@example.com", "bob@example.com"),
        (A(b"Ann", b"ann", None), "ann@", "Ann <ann@>"),
        (A(None, None, b"x.org"), "@x.org", "@x.org"),
        (A(b"=?utf-8?q?_?=", b"a", b"b"), "a@b", "a@b"),  # a name that decodes to nothing
    ],
)
def test_email_and_formatted(address: Address, email: str, formatted: str) -> None:
    assert email_of(address) == email
    assert format_address(address) == formatted


SIMPLE_PIECES = st.sampled_from(
    [b"a", b"b.c", b"x@y.z", b"<a@b>", b"<a.b@c.d>", b'"Q w"', b'"x, y"', b"Name", b"J.", b" ",
     b"  ", b"\t", b",", b", ", b"=?utf-8?q?x?=", b"\xc3\xa9", b"\xff", b"@", b"<", b">", b'"',
     b"(c)", b":", b";", b"[1.2]", b"\\", b'"a:b;(c)[d]@e<f>"', b'"\\""']
)  # fmt: skip


@given(st.lists(SIMPLE_PIECES, max_size=12))
def test_the_fast_path_reads_what_the_tokenizer_reads(parts: list[bytes]) -> None:
    from switchboard.mail.addresses import _parse_tokens, _simple_list

    value = b"".join(parts)
    slow = _parse_tokens(value)
    simple = _simple_list(value)
    if simple is not None:
        assert (tuple(simple), False) == slow
    assert first_address(value) == (slow[0][0] if slow[0] else None)
