"""Read a FETCH response as servers usually write it, with a few regexes over the raw line.

Private to :mod:`switchboard.imap.parser`. Most FETCH responses Switchboard sees are canonical:
single spaces, upper-case item names, ``NIL`` and plain quoted strings, a section value as a
literal. For those, one regex match reads a whole run of simple items (``UID``,
``RFC822.SIZE``, ``FLAGS``, ``INTERNALDATE``, ``MODSEQ``), one reads a whole ENVELOPE
(:mod:`~switchboard.imap._envelope_scan`), a few read a BODYSTRUCTURE
(:mod:`~switchboard.imap._body_scan`), one reads each section. No generic value is built for
them.

Anything else -- extra spaces, lower-case names, literals inside the ENVELOPE or BODYSTRUCTURE,
unknown items -- is not an error here: the scanner stops at the item it does not
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

from switchboard.imap._body_scan import scan_body
from switchboard.imap._build import make_fetch
from switchboard.imap._envelope_scan import read_envelope, read_envelope_across
from switchboard.imap._fetch import apply_items, build_fetch
from switchboard.imap._values import decode_text, read_list, tokenize
from switchboard.imap.errors import ImapProtocolError
from switchboard.imap.responses import BodyPart, Envelope, Fetch

__all__ = ["SIMPLE_RUN", "scan_fetch"]

# An atom that is a flag: printable ASCII but the characters that end an atom or start a string,
# literal or section ('"', '(', ')', '[', '{'), and not NIL (which the grammar reads as NIL).
_FLAG = rb"(?![Nn][Ii][Ll][ )])[!#-'*-Z\\\]^-z|}~]+"
# A run of simple items, each followed by a space or the list's ")". A repeated group keeps its
# last match, so a repeated item keeps its last value, as in the generic path. Five groups: UID,
# RFC822.SIZE, FLAGS, INTERNALDATE, MODSEQ. SIMPLE_RUN is its text, which the caller's pattern for
# "* n FETCH (" embeds, so that the run at the start of the list costs no match of its own.
SIMPLE_RUN = (
    rb"(?:(?:UID ([0-9]+)"
    rb"|RFC822\.SIZE ([0-9]+)"
    rb"|FLAGS \(((?:" + _FLAG + rb"(?: " + _FLAG + rb")*+)?)\)"
    rb'|INTERNALDATE "([^"\\]*)"'
    rb"|MODSEQ \(([0-9]+)\))"
    rb"(?: |(?=\))))*+"
)
_SIMPLE_RUN = re.compile(SIMPLE_RUN)
# A section item (BODY[...]<origin>, BINARY[...], RFC822...) and its value: NIL, a plain string
# or a literal (which ends the line; the framer holds its bytes).
_SECTION = re.compile(
    rb"((?:BODY|BINARY)(?:\.PEEK)?\[[^\]]*\](?:<[0-9]+>)?|RFC822(?:\.HEADER|\.TEXT)?) "
    rb'(?:(NIL)(?=[ )])|"([^"\\]*)"|\{([0-9]+)\+?\}\Z)'
)
_SPACE, _RPAREN, _E, _B, _R, _S = 0x20, 0x29, 0x45, 0x42, 0x52, 0x53


# Flag lists already read, by their text (a mailbox uses a handful); tuples of str, immutable.
_FLAG_LISTS: dict[bytes, tuple[str, ...]] = {}
_FLAG_LISTS_LIMIT = 256


def scan_fetch(
    seq: int,
    lines: list[bytes],
    literals: list[bytes],
    pos: int,
    uid_text: bytes | None,
    size_text: bytes | None,
    flags_text: bytes | None,
    date_text: bytes | None,
    modseq_text: bytes | None,
) -> Fetch:
    """Read the FETCH item list of ``lines[0]`` from ``pos`` on.

    Args:
        seq: the message sequence number.
        lines: the response's text lines; line ``k`` is followed by ``literals[k]`` if any.
        literals: the literal bytes, in order.
        pos: the offset in ``lines[0]`` after the run of simple items that starts the list
            (just after its ``(`` if there is none).
        uid_text: that run's groups (:data:`SIMPLE_RUN`), as the caller's match found them.
        size_text: see ``uid_text``.
        flags_text: see ``uid_text``.
        date_text: see ``uid_text``.
        modseq_text: see ``uid_text``.

    Raises:
        ImapProtocolError: the item list is malformed (found by the generic path).
    """
    uid = None if uid_text is None else int(uid_text)
    size = None if size_text is None else int(size_text)
    flags = None if flags_text is None else _FLAG_LISTS.get(flags_text) or _flags(flags_text)
    date = None if date_text is None else decode_text(date_text)
    modseq = None if modseq_text is None else int(modseq_text)
    envelope: Envelope | None = None
    body: BodyPart | None = None
    sections: dict[str, bytes | None] = {}
    line = lines[0]
    k = 0
    end = len(line)
    char = line[pos] if pos < end else -1
    while True:
        if char == _RPAREN:
            return make_fetch(seq, uid, flags, size, date, envelope, body, modseq, sections)
        if char == _E and line.startswith(b"ENVELOPE (", pos):
            read = read_envelope(line, pos + 9)
            if read is not None:
                envelope, pos = read
            elif k < len(literals):
                # Maybe strings sent as literals (Dovecot does so for 8-bit text).
                across = read_envelope_across(lines, literals, k, pos + 9)
                if across is None:
                    break
                envelope, k, pos = across
                line = lines[k]
                end = len(line)
            else:
                break
        elif char == _B and (
            line.startswith(b"BODYSTRUCTURE (", pos) or line.startswith(b"BODY (", pos)
        ):
            scanned = scan_body(line, pos + 14 if line[pos + 4] == _S else pos + 5)
            if scanned is None:
                break
            body, pos = scanned
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
            sections[name.decode("latin-1").upper().replace(".PEEK", "")] = value
        else:
            break
        char = line[pos] if pos < end else -1
        if char == _SPACE:
            pos += 1
            char = line[pos] if pos < end else -1
            # Then maybe another run of simple items (ENVELOPE and BODY... start none).
            if char != _E and char != _B:
                run = _SIMPLE_RUN.match(line, pos)
                assert run is not None  # it matches the empty string
                if run.end() != pos:
                    pos = run.end()
                    uid_text, size_text, flags_text, date_text, modseq_text = run.groups()
                    if uid_text is not None:
                        uid = int(uid_text)
                    if size_text is not None:
                        size = int(size_text)
                    if flags_text is not None:
                        flags = _FLAG_LISTS.get(flags_text) or _flags(flags_text)
                    if date_text is not None:
                        date = decode_text(date_text)
                    if modseq_text is not None:
                        modseq = int(modseq_text)
                    char = line[pos] if pos < end else -1
        elif char != _RPAREN:
            break
    # The rest of the item list, from an item name on, goes through the generic reader.
    rest = read_list(iter(tokenize(lines[k:], literals[k:], pos)), 0)
    if len(rest) % 2:
        raise ImapProtocolError("FETCH without a list of name/value pairs")
    fields: list[object] = [uid, flags, size, date, envelope, body, modseq, sections]
    apply_items(fields, rest)
    return build_fetch(seq, fields)


def _flags(text: bytes) -> tuple[str, ...]:
    flags = tuple(text.decode("ascii").split(" ")) if text else ()
    if len(_FLAG_LISTS) >= _FLAG_LISTS_LIMIT:
        _FLAG_LISTS.clear()
    _FLAG_LISTS[text] = flags
    return flags
