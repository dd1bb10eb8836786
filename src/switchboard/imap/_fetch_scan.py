"""Read a FETCH response as servers usually write it, with a few regexes over the raw line.

Private to :mod:`switchboard.imap.parser`. Most FETCH responses Switchboard sees are canonical:
single spaces, upper-case item names, ``NIL`` and plain quoted strings in the ENVELOPE, a section
value as a literal. For those, one regex match reads a whole run of simple items (``UID``,
``RFC822.SIZE``, ``FLAGS``, ``INTERNALDATE``, ``MODSEQ``), one reads a whole ENVELOPE with every
field in a group (``match.groups()`` gives ``None`` for NIL, straight from C), and one reads each
section. No generic value is built for them.

Anything else -- BODYSTRUCTURE, extra spaces, lower-case names, escapes, literals inside the
ENVELOPE, unknown items -- is not an error here: the scanner stops at the item it does not
recognise and hands the rest of the item list to the generic reader and interpreter
(:func:`~switchboard.imap._values.tokenize`, :func:`~switchboard.imap._fetch.apply_items`),
which apply the parser's full grammar and tolerances and raise its errors. Every pattern below
accepts only text that the generic path reads the same way, so both give equal results (the
property tests in ``tests/unit/imap/test_parser_equivalence.py`` check this against the old
parser); where a pattern is stricter than the grammar, the generic path takes over.

See Also:
    RFC 3501 §7.4.2 (FETCH response), §9 (``msg-att``, ``envelope``).
"""

from __future__ import annotations

import re

from switchboard.imap._build import make_address, make_envelope
from switchboard.imap._fetch import (
    ENVELOPE,
    FLAGS,
    INTERNALDATE,
    MODSEQ,
    SECTIONS,
    SIZE,
    UID,
    apply_items,
    build_fetch,
    new_fields,
)
from switchboard.imap._values import decode_text, read_list, tokenize
from switchboard.imap.errors import ImapProtocolError
from switchboard.imap.responses import Address, Envelope, Fetch

__all__ = ["scan_fetch"]

# An atom that is a flag: printable ASCII but the characters that end an atom or start a string,
# literal or section ('"', '(', ')', '[', '{'), and not NIL (which the grammar reads as NIL).
_FLAG = rb"(?![Nn][Ii][Ll][ )])[!#-'*-Z\\\]^-z|}~]+"
# A run of simple items, each followed by a space or the list's ")". A repeated group keeps its
# last match, so a repeated item keeps its last value, as in the generic path.
_SIMPLE_RUN = re.compile(
    rb"(?:(?:UID ([0-9]+)"
    rb"|RFC822\.SIZE ([0-9]+)"
    rb"|FLAGS \(((?:" + _FLAG + rb"(?: " + _FLAG + rb")*+)?)\)"
    rb'|INTERNALDATE "([^"\\]*)"'
    rb"|MODSEQ \(([0-9]+)\))"
    rb"(?: |(?=\))))*+"
)
# An nstring without escapes: NIL gives the group None, a string its bytes.
_NSTRING = rb'(?:NIL|"([^"\\]*)")'
_NSTRING_UNCAPTURED = rb'(?:NIL|"[^"\\]*")'
_ADDRESS = rb"\(" + rb" ".join([_NSTRING] * 4) + rb"\)"
_ADDRESS_UNCAPTURED = rb"\(" + rb" ".join([_NSTRING_UNCAPTURED] * 4) + rb"\)"
# An address list: NIL; one address, flagged by an empty group, its four fields in groups; or
# several, captured whole (read again with _ADDRESS). Six groups.
_ADDRESS_LIST = (
    rb"(?:NIL|\(\(()"
    + rb" ".join([_NSTRING] * 4)
    + rb"\)\)|(\((?:"
    + _ADDRESS_UNCAPTURED
    + rb" ?)+\)))"
)
# RFC 3501 envelope: date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to,
# message-id. Groups: 2 + 6 * 6 + 2.
_ENVELOPE = re.compile(
    rb"ENVELOPE \("
    + rb" ".join([_NSTRING, _NSTRING, *[_ADDRESS_LIST] * 6, _NSTRING, _NSTRING])
    + rb"\)"
)
_ADDRESS_RE = re.compile(_ADDRESS)
# A section item (BODY[...]<origin>, BINARY[...], RFC822...) and its value: NIL, a plain string
# or a literal (which ends the line; the framer holds its bytes).
_SECTION = re.compile(
    rb"((?:BODY|BINARY)(?:\.PEEK)?\[[^\]]*\](?:<[0-9]+>)?|RFC822(?:\.HEADER|\.TEXT)?) "
    rb'(?:(NIL)(?=[ )])|"([^"\\]*)"|\{([0-9]+)\+?\}\Z)'
)
_SPACE, _RPAREN, _E, _B, _R = 0x20, 0x29, 0x45, 0x42, 0x52


def scan_fetch(seq: int, lines: list[bytes], literals: list[bytes], pos: int) -> Fetch:
    """Read the FETCH item list that starts just after ``(`` at ``pos`` of ``lines[0]``.

    Args:
        seq: the message sequence number.
        lines: the response's text lines; line ``k`` is followed by ``literals[k]`` if any.
        literals: the literal bytes, in order.
        pos: the offset in ``lines[0]`` just after the item list's ``(``.

    Raises:
        ImapProtocolError: the item list is malformed (found by the generic path).
    """
    fields = new_fields()
    line = lines[0]
    k = 0
    end = len(line)
    while True:
        run = _SIMPLE_RUN.match(line, pos)
        assert run is not None  # it matches the empty string
        if run.end() != pos:
            pos = run.end()
            uid, size, flags, date, modseq = run.groups()
            if uid is not None:
                fields[UID] = int(uid)
            if size is not None:
                fields[SIZE] = int(size)
            if flags is not None:
                fields[FLAGS] = tuple(flags.decode("ascii").split(" ")) if flags else ()
            if date is not None:
                fields[INTERNALDATE] = decode_text(date)
            if modseq is not None:
                fields[MODSEQ] = int(modseq)
        char = line[pos] if pos < end else -1
        if char == _RPAREN:
            return build_fetch(seq, fields)
        if char == _E and (match := _ENVELOPE.match(line, pos)) is not None:
            fields[ENVELOPE] = _envelope(match.groups())
            pos = match.end()
        elif char in (_B, _R) and (match := _SECTION.match(line, pos)) is not None:
            name, _nil, text, literal = match.groups()
            value: bytes | None = text
            if literal is not None:
                if k >= len(literals):
                    break  # a header the framer did not take: the generic path says so
                value = literals[k]
                k += 1
                line = lines[k]
                end = len(line)
                pos = 0
            else:
                pos = match.end()
            fields[SECTIONS][name.decode("latin-1").upper().replace(".PEEK", "")] = value  # type: ignore[index]
        else:
            break
        char = line[pos] if pos < end else -1
        if char == _SPACE:
            pos += 1
        elif char == _RPAREN:
            return build_fetch(seq, fields)
        else:
            break
    # The rest of the item list, from an item name on, goes through the generic reader.
    rest = read_list(iter(tokenize(lines[k:], literals[k:], pos)), 0)
    if len(rest) % 2:
        raise ImapProtocolError("FETCH without a list of name/value pairs")
    apply_items(fields, rest)
    return build_fetch(seq, fields)


def _envelope(groups: tuple[bytes | None, ...]) -> Envelope:
    from_ = _addresses(groups, 2)
    # RFC 3501 §7.4.2: the server defaults sender and reply-to to from, so they usually repeat
    # it word for word: share the (immutable) tuple instead of building it again.
    sender = from_ if groups[8:14] == groups[2:8] else _addresses(groups, 8)
    reply_to = (
        sender if groups[14:20] == groups[8:14] else _addresses(groups, 14)
    )
    return make_envelope(
        groups[0],
        groups[1],
        from_,
        sender,
        reply_to,
        _addresses(groups, 20),
        _addresses(groups, 26),
        _addresses(groups, 32),
        groups[38],
        groups[39],
    )


def _addresses(groups: tuple[bytes | None, ...], i: int) -> tuple[Address, ...] | None:
    if groups[i] is not None:
        return (make_address(groups[i + 1], groups[i + 2], groups[i + 3], groups[i + 4]),)
    several = groups[i + 5]
    if several is None:
        return None
    return tuple([make_address(*m.groups()) for m in _ADDRESS_RE.finditer(several)])
