"""Property tests: the parser returns what the parser it replaced returned, for any input.

The previous parser is kept, unchanged, in ``tests/support/imap_reference_parser`` as the
oracle. Hypothesis builds server responses from their grammar -- FETCH with envelopes, addresses,
body structures (single part, multipart, message/rfc822), sections as literals or quoted strings,
strings with escapes and 8-bit bytes, odd spellings and spacing; status responses with codes;
EXISTS, SEARCH, LIST, STATUS, CAPABILITY -- sometimes mutated by a few byte edits, and feeds
the same bytes, split at the same random points, to both parsers. Both must give the same
responses in the same order, then the same outcome: more data needed, or the same error class
(and for a limit, the same limit). ``PARSER_EQUIVALENCE_EXAMPLES`` sets how many examples each
property tries (300 by default, to stay quick in the unit suite).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard.imap.errors import ImapError, LimitExceeded
from switchboard.imap.parser import ResponseParser
from tests.support.imap_reference_parser import ResponseParser as ReferenceParser
from tests.unit.imap.test_parser import ALL_DOVECOT, GMAIL_CASES, MALFORMED


@dataclass(frozen=True)
class Lit:
    """A literal in a response being built: rendered as ``{n}`` CRLF and the bytes."""

    data: bytes
    plus: bool = False


Piece = bytes | Lit


def render(pieces: list[Piece]) -> bytes:
    out = []
    for piece in pieces:
        if isinstance(piece, Lit):
            out.append(b"{%d%s}\r\n" % (len(piece.data), b"+" if piece.plus else b""))
            out.append(piece.data)
        else:
            out.append(piece)
    return b"".join(out)


# ---------------------------------------------------------------- values

SEP = st.sampled_from([b" "] * 12 + [b"  ", b""])
WORDS = st.sampled_from(
    [
        b"text",
        b"plain",
        b"TEXT",
        b"html",
        b"utf-8",
        b"7bit",
        b"base64",
        b"alice",
        b"example.com",
        b"",
        b"NIL",
        b"Jo\xc3\xabl",
        b"Gr\xfc\xdfe",
        b"a b",
        b'q"uote',
        b"back\\slash",
        b"(paren)",
        b"{5}",
        b"[Gmail]/All",
        b"=?UTF-8?B?SGVsbG8=?=",
    ]
)
CONTENT = st.one_of(WORDS, WORDS, st.binary(max_size=8))
ATOMS = st.sampled_from(
    [b"abc", b"NIL", b"nil", b"Nil", b"123", b"0", b"\\Seen", b"$Label", b"x[y]z", b"a[b",
     b"\xc3\xa9"]
)


@st.composite
def quoted(draw: st.DrawFn, data: bytes | None = None) -> bytes:
    if data is None:
        data = draw(CONTENT)
    escaped = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    if draw(st.integers(0, 9)) == 0 and escaped:
        # RFC 3501 allows only \" and \\; an escape of any other byte is tolerated.
        at = draw(st.integers(0, len(escaped) - 1))
        if escaped[at : at + 1] not in (b"\\", b'"'):
            escaped = escaped[:at] + b"\\" + escaped[at:]
    if draw(st.integers(0, 30)) == 0:
        escaped = escaped.replace(b"\\", b"", 1)  # an escape dropped: maybe unterminated
    return b'"' + escaped + b'"'


# What servers usually send: NIL and plain quoted strings (the parser's fast path reads these).
PLAIN = st.sampled_from(
    [b"text", b"plain", b"utf-8", b"alice", b"example.com", b"", b"NIL", b"Jo\xc3\xabl", b"a b",
     b"(paren)", b"{5}", b"[Gmail]/All", b"=?UTF-8?B?SGVsbG8=?="]
)


@st.composite
def nstring(draw: st.DrawFn, canonical: bool = False, escapes: bool = False) -> list[Piece]:
    if canonical:
        if draw(st.integers(0, 3)) == 0:
            return [b"NIL"]
        if escapes and draw(st.integers(0, 15)) == 0:
            # Dovecot sends 8-bit text as a literal.
            return [Lit(draw(st.one_of(PLAIN, st.binary(max_size=10))))]
        if escapes and draw(st.integers(0, 9)) == 0:
            return [draw(quoted(draw(st.sampled_from([b'say "hi"', b"a\\b", b"\\"]))))]
        return [b'"' + draw(PLAIN) + b'"']
    kind = draw(st.sampled_from(["NIL", "nil", "q", "q", "q", "q", "lit", "atom"]))
    if kind in ("NIL", "nil"):
        return [kind.encode()]
    if kind == "q":
        return [draw(quoted())]
    if kind == "lit":
        return [Lit(draw(st.binary(max_size=12)), plus=draw(st.integers(0, 5)) == 0)]
    return [draw(ATOMS)]


def plist(items: list[list[Piece]], seps: list[bytes]) -> list[Piece]:
    out: list[Piece] = [b"("]
    for index, item in enumerate(items):
        if index:
            out.append(seps[index % len(seps)])
        out.extend(item)
    out.append(b")")
    return out


@st.composite
def list_of(draw: st.DrawFn, element: st.SearchStrategy[list[Piece]], min_size: int = 0,
            max_size: int = 4) -> list[Piece]:
    items = draw(st.lists(element, min_size=min_size, max_size=max_size))
    seps = draw(st.lists(SEP, min_size=1, max_size=3))
    return plist(items, seps)


@st.composite
def number(draw: st.DrawFn) -> list[Piece]:
    kind = draw(st.integers(0, 20))
    if kind == 0:
        return [b"NIL"]
    if kind == 1:
        return [b'"%d"' % draw(st.integers(0, 99))]
    if kind == 2:
        return [draw(ATOMS)]
    if kind == 3:
        return [b"0%d" % draw(st.integers(0, 99))]
    return [b"%d" % draw(st.integers(0, 2**40))]


ADDRESS = st.one_of(
    list_of(nstring(), min_size=4, max_size=4),
    list_of(nstring(), min_size=4, max_size=4),
    list_of(nstring(), min_size=3, max_size=5),
)
CANONICAL_ADDRESS = st.lists(nstring(True, True), min_size=4, max_size=4).map(
    lambda fields: plist(fields, [b" "])
)


@st.composite
def address_list(draw: st.DrawFn, canonical: bool = False) -> list[Piece]:
    if canonical:
        if draw(st.integers(0, 3)) == 0:
            return [b"NIL"]
        children = draw(st.lists(CANONICAL_ADDRESS, min_size=1, max_size=3))
        out: list[Piece] = [b"("]
        for child in children:
            out.extend(child)
        return [*out, b")"]
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return [b"NIL"]
    if kind == 1:
        return [b"()"]
    if kind == 2:
        return draw(nstring())
    children = draw(st.lists(ADDRESS, min_size=1, max_size=3))
    sep = draw(st.sampled_from([b"", b"", b" "]))
    out = [b"("]
    for index, child in enumerate(children):
        if index:
            out.append(sep)
        out.extend(child)
    out.append(b")")
    return out


@st.composite
def envelope(draw: st.DrawFn, canonical: bool = False) -> list[Piece]:
    fields = [draw(nstring(canonical, canonical)), draw(nstring(canonical, canonical))]
    same = draw(st.booleans())
    from_ = draw(address_list(canonical))
    fields += [from_, from_ if same else draw(address_list(canonical)),
               from_ if same else draw(address_list(canonical))]
    fields += [draw(address_list(canonical)) for _ in range(3)]
    fields += [draw(nstring(canonical, canonical)), draw(nstring(canonical, canonical))]
    if canonical:
        return plist(fields, [b" "])
    count = draw(st.sampled_from([10] * 12 + [9, 11]))
    fields = [*fields, [b"NIL"]][:count]
    seps = [b" "] if draw(st.integers(0, 4)) else draw(st.lists(SEP, min_size=1, max_size=3))
    return plist(fields, seps)


MIME = st.sampled_from([b'"TEXT"', b'"text"', b'"IMAGE"', b'"application"', b"NIL", b'"MULTIPART"'])
SUBTYPE = st.sampled_from([b'"PLAIN"', b'"html"', b'"png"', b'"pdf"', b"NIL", b'"MIXED"'])


@st.composite
def params(draw: st.DrawFn) -> list[Piece]:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return [b"NIL"]
    if kind == 1:
        return [b"()"]
    return draw(list_of(nstring(), max_size=5))


@st.composite
def extension(draw: st.DrawFn) -> list[list[Piece]]:
    count = draw(st.integers(0, 5))
    disposition = draw(
        st.one_of(
            st.just([b"NIL"]),
            nstring(),
            st.tuples(nstring(), params()).map(lambda t: plist([t[0], t[1]], [b" "])),
            st.just([b"()"]),
        )
    )
    language = draw(st.one_of(st.just([b"NIL"]), nstring(), list_of(nstring(), max_size=3)))
    return [draw(nstring()), disposition, language, draw(nstring()), draw(number())][:count]


def body_part() -> st.SearchStrategy[list[Piece]]:
    return st.recursive(leaf(), lambda children: st.one_of(multipart(children),
                                                              message(children)), max_leaves=5)


@st.composite
def leaf(draw: st.DrawFn) -> list[Piece]:
    maintype = draw(MIME)
    fields: list[list[Piece]] = [[maintype], [draw(SUBTYPE)], draw(params()), draw(nstring()),
                                 draw(nstring()), draw(nstring()), draw(number())]
    if maintype.lower() == b'"text"' and draw(st.integers(0, 5)):
        fields.append(draw(number()))
    fields += draw(extension())
    if draw(st.integers(0, 15)) == 0:
        fields = fields[: draw(st.integers(0, len(fields)))]
    return plist(fields, [b" "] if draw(st.integers(0, 5)) else [draw(SEP)])


@st.composite
def message(draw: st.DrawFn, children: st.SearchStrategy[list[Piece]]) -> list[Piece]:
    fields: list[list[Piece]] = [[b'"MESSAGE"'], [draw(st.sampled_from([b'"RFC822"',
                                 b'"global"', b'"delivery-status"']))], draw(params()),
                                 draw(nstring()), draw(nstring()), draw(nstring()), draw(number())]
    if draw(st.integers(0, 5)):
        fields += [draw(envelope()), draw(children), draw(number())]
    fields += draw(extension())
    return plist(fields, [b" "])


@st.composite
def multipart(draw: st.DrawFn, children: st.SearchStrategy[list[Piece]]) -> list[Piece]:
    parts = draw(st.lists(children, min_size=1, max_size=3))
    out: list[Piece] = [b"("]
    sep = draw(st.sampled_from([b"", b"", b" "]))
    for index, part in enumerate(parts):
        if index:
            out.append(sep)
        out.extend(part)
    if draw(st.integers(0, 8)):
        out += [b" ", draw(SUBTYPE)]
        for field in draw(extension())[:4]:
            out += [b" ", *field]
    out.append(b")")
    return out


CANONICAL_PARAMS = st.one_of(
    st.just([b"NIL"]),
    st.just([b"()"]),
    st.lists(st.tuples(st.sampled_from([b'"charset"', b'"NAME"', b'"boundary"', b'"x"']),
                       nstring(canonical=True).filter(lambda v: v != [b"NIL"])),
             min_size=1, max_size=3).map(
        lambda pairs: plist([[k, b" ", *v] for k, v in pairs], [b" "])),
)


@st.composite
def canonical_extension(draw: st.DrawFn, multipart: bool = False) -> list[list[Piece]]:
    disposition = draw(st.one_of(
        st.just([b"NIL"]),
        st.tuples(st.sampled_from([b'"attachment"', b'"INLINE"']), CANONICAL_PARAMS).map(
            lambda t: plist([[t[0]], t[1]], [b" "])),
    ))
    language = draw(st.one_of(
        st.just([b"NIL"]), nstring(canonical=True),
        st.lists(nstring(canonical=True).filter(lambda v: v != [b"NIL"]), min_size=1,
                 max_size=2).map(lambda tags: plist(tags, [b" "])),
    ))
    first = draw(CANONICAL_PARAMS) if multipart else draw(nstring(canonical=True))
    fields = [first, disposition, language, draw(nstring(canonical=True))]
    return fields[: draw(st.integers(0, 4))]


def canonical_body() -> st.SearchStrategy[list[Piece]]:
    return st.recursive(canonical_leaf(), lambda children: st.one_of(
        canonical_multipart(children), canonical_message(children)), max_leaves=4)


CANONICAL_NUMBER = st.one_of(st.just(b"NIL"), st.integers(0, 10**9).map(b"%d".__mod__))


@st.composite
def canonical_leaf(draw: st.DrawFn) -> list[Piece]:
    maintype = draw(st.sampled_from([b'"TEXT"', b'"text"', b'"image"', b"NIL", b'"message"']))
    fields: list[list[Piece]] = [
        [maintype], [draw(st.sampled_from([b'"PLAIN"', b'"png"', b"NIL", b'"delivery-status"']))],
        draw(CANONICAL_PARAMS), draw(nstring(canonical=True)), draw(nstring(canonical=True)),
        draw(nstring(canonical=True)), [draw(CANONICAL_NUMBER)],
    ]
    if maintype.lower() in (b'"text"', b"nil") and draw(st.integers(0, 5)):
        fields.append([draw(CANONICAL_NUMBER)])
    fields += draw(canonical_extension())
    return plist(fields, [b" "])


@st.composite
def canonical_message(draw: st.DrawFn, children: st.SearchStrategy[list[Piece]]) -> list[Piece]:
    fields: list[list[Piece]] = [
        [b'"MESSAGE"'], [draw(st.sampled_from([b'"RFC822"', b'"global"']))],
        draw(CANONICAL_PARAMS), draw(nstring(canonical=True)), draw(nstring(canonical=True)),
        draw(nstring(canonical=True)), [draw(CANONICAL_NUMBER)],
        draw(envelope(canonical=True)), draw(children), [draw(CANONICAL_NUMBER)],
    ]
    fields += draw(canonical_extension())
    return plist(fields, [b" "])


@st.composite
def canonical_multipart(draw: st.DrawFn, children: st.SearchStrategy[list[Piece]]) -> list[Piece]:
    parts = draw(st.lists(children, min_size=1, max_size=3))
    out: list[Piece] = [b"("]
    for index, part in enumerate(parts):
        if index and draw(st.integers(0, 5)) == 0:
            out.append(b" ")
        out.extend(part)
    if draw(st.integers(0, 8)):
        out += [b" ", draw(st.sampled_from([b'"MIXED"', b'"alternative"', b"NIL"]))]
        for field in draw(canonical_extension(multipart=True)):
            out += [b" ", *field]
    out.append(b")")
    return out


FLAG = st.sampled_from(
    [b"\\Seen", b"\\Answered", b"$Forwarded", b"\\Recent", b"NIL", b'"\\\\Quoted"', b"\\*",
     b"Junk", b"\xc3\xa9t\xc3\xa9", b"(x)", b"a{2}"]
)
SECTION_NAMES = st.sampled_from(
    [b"BODY[]", b"BODY[TEXT]", b"BODY[HEADER]", b"BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]",
     b"BODY[1.2]<0>", b"BODY[]<100>", b"BINARY[1]", b"RFC822", b"RFC822.HEADER", b"RFC822.TEXT",
     b"body[text]", b"BODY[HEADER.FIELDS (X.PEEK)]", b"BINARY.SIZE[1]"]
)


CANONICAL_FLAGS = st.lists(st.sampled_from([b"\\Seen", b"\\Answered", b"$Forwarded",
                                             b"\\Recent", b"Junk", b"NILX", b"\\*"]),
                           max_size=3).map(lambda flags: b"(" + b" ".join(flags) + b")")


@st.composite
def canonical_item(draw: st.DrawFn) -> list[Piece]:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return [b"UID %d" % draw(st.integers(0, 2**32))]
    if kind == 1:
        return [b"FLAGS " + draw(CANONICAL_FLAGS)]
    if kind == 2:
        return [b"RFC822.SIZE %d" % draw(st.integers(0, 2**32))]
    if kind == 3:
        return [b'INTERNALDATE "' + draw(PLAIN) + b'"']
    if kind == 4:
        return [b"MODSEQ (%d)" % draw(st.integers(0, 2**63))]
    if kind in (5, 6):
        return [b"ENVELOPE ", *draw(envelope(canonical=True))]
    if kind == 7:
        return [draw(st.sampled_from([b"BODYSTRUCTURE ", b"BODY "])), *draw(canonical_body())]
    value = draw(st.one_of(st.just([b"NIL"]), nstring(canonical=True),
                           st.binary(max_size=20).map(lambda data: [Lit(data)])))
    return [draw(SECTION_NAMES), b" ", *value]


@st.composite
def fetch_item(draw: st.DrawFn) -> list[Piece]:
    kind = draw(st.integers(0, 13))
    if kind == 0:
        return [draw(st.sampled_from([b"UID", b"uid"])), b" ", *draw(number())]
    if kind == 1:
        flags = draw(st.lists(FLAG, max_size=4))
        sep = draw(st.sampled_from([b" "] * 5 + [b"  "]))
        return [b"FLAGS ", b"(" + sep.join(flags) + b")"]
    if kind == 2:
        return [b"RFC822.SIZE ", *draw(number())]
    if kind == 3:
        date = draw(st.one_of(st.just([b'"24-Nov-2026 21:13:59 +0000"']), nstring()))
        return [b"INTERNALDATE ", *date]
    if kind == 4:
        return [b"MODSEQ ", *draw(st.one_of(list_of(number(), min_size=1, max_size=1),
                                              list_of(number(), max_size=2), number()))]
    if kind in (5, 6, 7):
        return [b"ENVELOPE ", *draw(envelope())]
    if kind in (8, 9):
        return [draw(st.sampled_from([b"BODYSTRUCTURE", b"BODY"])), b" ", *draw(body_part())]
    if kind in (10, 11):
        return [draw(SECTION_NAMES), b" ", *draw(nstring())]
    if kind == 12:
        return [b"X-GM-LABELS ", *draw(list_of(nstring()))]
    return [draw(ATOMS), b" ", *draw(nstring())]


@st.composite
def canonical_fetch(draw: st.DrawFn) -> list[Piece]:
    # Canonical items, now and then one of any kind among them.
    items = draw(st.lists(st.one_of(*[canonical_item()] * 8, fetch_item()), max_size=5))
    return [b"* %d FETCH " % draw(st.integers(0, 2**32)), *plist(items, [b" "])]


@st.composite
def fetch(draw: st.DrawFn) -> list[Piece]:
    if draw(st.booleans()):
        return draw(canonical_fetch())
    else:
        items = draw(st.lists(fetch_item(), max_size=5))
        seps = draw(st.lists(st.sampled_from([b" "] * 8 + [b"  ", b""]), min_size=1,
                             max_size=3))
        head = draw(st.sampled_from([b"* %d FETCH ", b"* %d fetch ", b"*  %d FETCH "]))
    out: list[Piece] = [head % draw(st.integers(0, 2**32))]
    out += plist(items, seps)
    if draw(st.integers(0, 10)) == 0:
        out.append(draw(st.sampled_from([b" ", b" trailing", b' "x', b" (", b")"])))
    return out


CODES = st.sampled_from(
    [b"[UIDVALIDITY 3857529045] ", b"[UIDNEXT 4] ", b"[UNSEEN 1] ", b"[HIGHESTMODSEQ 9] ",
     b"[READ-WRITE] ", b"[ALERT]", b"[CAPABILITY IMAP4rev1 IDLE  LITERAL+] ",
     b"[PERMANENTFLAGS (\\Seen \\*)] ", b"[PERMANENTFLAGS ()] ", b"[PERMANENTFLAGS \\Seen] ",
     b"[APPENDUID 1 2] ", b"[X-FOO a {3}] ", b"[UIDNEXT x] ", b"[] ", b"[ALERT ", b""]
)
TEXT = st.sampled_from([b"done", b"", b"Gr\xc3\xbc\xc3\x9fe", b"Gr\xfc\xdfe", b"going {5}",
                        b"x (y) z", b"[not a code]"])


@st.composite
def status(draw: st.DrawFn) -> list[Piece]:
    tag = draw(st.sampled_from([b"*", b"A1", b"a22", b"+", b"*  "]))
    word = draw(st.sampled_from([b"OK", b"NO", b"BAD", b"BYE", b"PREAUTH", b"ok", b"MAYBE"]))
    return [tag + b" " + word + draw(st.sampled_from([b" ", b""])) + draw(CODES) + draw(TEXT)]


@st.composite
def other(draw: st.DrawFn) -> list[Piece]:
    kind = draw(st.integers(0, 9))
    n = draw(st.integers(0, 10**6))
    if kind == 0:
        word = draw(st.sampled_from([b"EXISTS", b"RECENT", b"EXPUNGE", b"exists", b"XFOO",
                                     b"EXISTS(", b"EXISTS[x]"]))
        return [b"* %d %s" % (n, word)]
    if kind == 1:
        ids = draw(st.lists(st.integers(0, 10**9), max_size=6))
        tail = draw(st.sampled_from([b"", b" ", b" (MODSEQ 4)", b" x", b"  "]))
        return [draw(st.sampled_from([b"* SEARCH", b"* search"]))
                + b"".join(b" %d" % i for i in ids) + tail]
    if kind == 2:
        flags = draw(list_of(st.one_of(nstring(), st.just([b"\\HasNoChildren"]))))
        delimiter = draw(st.one_of(st.just([b'"/"']), st.just([b"NIL"]), nstring()))
        return [draw(st.sampled_from([b"* LIST ", b"* LSUB "])), *flags, b" ", *delimiter,
                b" ", *draw(nstring())]
    if kind == 3:
        pairs = draw(st.lists(st.tuples(st.sampled_from([b"MESSAGES", b"UIDNEXT", b"unseen"]),
                                        number()), max_size=4))
        items: list[list[Piece]] = []
        for name, value in pairs:
            items += [[name], value]
        if draw(st.integers(0, 10)) == 0:
            items.append([b"RECENT"])
        return [b"* STATUS ", *draw(nstring()), b" ", *plist(items, [b" "])]
    if kind == 4:
        return [b"* CAPABILITY IMAP4rev1 IDLE " + draw(ATOMS)]
    if kind == 5:
        return [b"* FLAGS ", *draw(list_of(st.one_of(nstring(), st.just([b"\\Seen"]))))]
    if kind == 6:
        return [b"+ " + draw(TEXT)]
    if kind == 7:
        return [b"* ENABLED CONDSTORE"]
    if kind == 8:
        return [b"* ID ", *draw(list_of(nstring()))]
    return [draw(st.sampled_from([b"", b"   ", b"*", b"* ", b"A1", b"* 3", b"* (x)"]))]


RESPONSE = st.one_of(fetch(), fetch(), fetch(), status(), other())
ENDINGS = st.sampled_from([b"\r\n"] * 10 + [b"\n"])


@st.composite
def stream(draw: st.DrawFn) -> bytes:
    responses = draw(st.lists(RESPONSE, min_size=1, max_size=4))
    data = b"".join(render(r) + draw(ENDINGS) for r in responses)
    for _ in range(draw(st.sampled_from([0] * 6 + [1, 2, 3]))):
        at = draw(st.integers(0, len(data)))
        delete = draw(st.integers(0, 3))
        data = data[:at] + draw(st.binary(max_size=3)) + data[at + delete :]
    if draw(st.integers(0, 5)) == 0:
        data = data[: draw(st.integers(0, len(data)))]  # cut short: maybe mid-response
    return data


LIMITS = st.sampled_from(
    [
        {},
        {"max_line_bytes": 120, "max_literal_bytes": 10},
        {"max_line_bytes": 60, "max_literal_bytes": 8, "max_response_bytes": 90},
        {"max_line_bytes": 10},
    ]
)


# ---------------------------------------------------------------- running both

# Examples per property; raise it for a long hunt, e.g. PARSER_EQUIVALENCE_EXAMPLES=20000.
EXAMPLES = int(os.environ.get("PARSER_EQUIVALENCE_EXAMPLES", "300"))


def outcome(parser_class: type[ResponseParser] | type[ReferenceParser], chunks: list[bytes],
            limits: dict[str, int], eof: bool) -> list[object]:
    """What the caller sees: each response, then the error class (and limit), if any."""
    parser = parser_class(**limits)
    out: list[object] = []
    try:
        for chunk in chunks:
            parser.receive_data(chunk)
            while (response := parser.next_response()) is not None:
                out.append(response)
        if eof:
            parser.receive_eof()
            while (response := parser.next_response()) is not None:
                out.append(response)
    except ImapError as exc:
        limit = exc.limit_name if isinstance(exc, LimitExceeded) else None
        out.append(("raised", type(exc).__name__, limit))
        # What the next call does: a protocol error makes the parser unusable.
        try:
            out.append(("then", parser.next_response()))
        except ImapError as again:
            out.append(("then raised", type(again).__name__))
    return out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)] or [b""]


def assert_same(data: bytes, cuts: list[int], limits: dict[str, int], eof: bool) -> None:
    chunks = split(data, cuts)
    ours = outcome(ResponseParser, chunks, limits, eof)
    theirs = outcome(ReferenceParser, chunks, limits, eof)
    assert ours == theirs, (data, chunks)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(canonical_fetch(), min_size=1, max_size=3), st.lists(st.integers(0, 400),
       max_size=6), st.booleans())
def test_usual_fetch_responses_parse_as_before(responses: list[list[Piece]], cuts: list[int],
                                               eof: bool) -> None:
    # What servers usually send, where the parser reads FETCH items without its generic reader.
    data = b"".join(render(response) + b"\r\n" for response in responses)
    assert_same(data, cuts, {}, eof)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream(), st.lists(st.integers(0, 400), max_size=6), LIMITS, st.booleans())
def test_generated_responses_parse_as_before(data: bytes, cuts: list[int],
                                             limits: dict[str, int], eof: bool) -> None:
    assert_same(data, cuts, limits, eof)


@settings(max_examples=3 * EXAMPLES, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=4), LIMITS, st.booleans())
def test_arbitrary_bytes_parse_or_fail_as_before(data: bytes, cuts: list[int],
                                                 limits: dict[str, int], eof: bool) -> None:
    assert_same(data, cuts, limits, eof)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, len(ALL_DOVECOT)), max_size=8), st.booleans())
def test_real_transcripts_in_any_split_parse_as_before(cuts: list[int], eof: bool) -> None:
    assert_same(ALL_DOVECOT, cuts, {}, eof)


def test_provider_lines_and_malformed_lines_parse_as_before() -> None:
    for data, _ in GMAIL_CASES:
        assert_same(data, [], {}, True)
    for data in MALFORMED:
        assert_same(data + b"* 1 EXISTS\r\n", [], {}, True)


def test_large_literals_in_small_reads_parse_as_before() -> None:
    payload = bytes(range(256)) * 400
    data = (b"* 1 FETCH (UID 9 BODY[] {%d}\r\n%s BODY[HEADER] {0}\r\n)\r\nA1 OK done\r\n"
            % (len(payload), payload))
    for size in (1, 7, 1000, 16384):
        assert_same(data, list(range(0, len(data), size)), {}, True)
