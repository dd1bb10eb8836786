"""Read an ENVELOPE as servers usually write it, with one regex match for all its fields.

Private to the FETCH and BODYSTRUCTURE scanners. The pattern has a group for each of the ten
fields (``match.groups()`` gives ``None`` for each ``NIL``, straight from C). An address list is
captured whole and looked up in a small table of the lists already read (senders and the
account owner come back in every envelope); a new one is read address by address. An envelope
costs one match, a few lookups and the envelope object.

Only the usual spelling is read: ``NIL`` in upper case, quoted strings (escapes allowed),
single spaces, ten fields. Anything else -- a literal, an atom, ``()``, a wrong count -- makes
:func:`read_envelope` return ``None``, and the caller reads the value with the generic reader
and :func:`~switchboard.imap._fetch.parse_envelope`. What is read here is interpreted exactly
as ``parse_envelope`` interprets the same text.

See Also:
    RFC 3501 §7.4.2 (ENVELOPE), §9 (``envelope``, ``address``).
"""

from __future__ import annotations

import re

from switchboard.imap._build import make_address, make_envelope
from switchboard.imap._values import unescape
from switchboard.imap.responses import Address, Envelope

__all__ = ["read_envelope", "read_envelope_across"]

# An nstring: NIL gives the group None, a quoted string its bytes (still escaped).
_NSTRING = rb'(?:NIL|"([^"\\]*+(?:\\.[^"\\]*+)*+)")'
_NSTRING_UNCAPTURED = rb'(?:NIL|"[^"\\]*+(?:\\.[^"\\]*+)*+")'
_ADDRESS = rb"\(" + rb" ".join([_NSTRING] * 4) + rb"\)"
_ADDRESS_UNCAPTURED = rb"\(" + rb" ".join([_NSTRING_UNCAPTURED] * 4) + rb"\)"
# An address list: NIL (the group is None) or a list of addresses, captured whole.
_ADDRESS_LIST = (
    rb"(?:NIL|(\(" + _ADDRESS_UNCAPTURED + rb"(?: ?" + _ADDRESS_UNCAPTURED + rb")*+\)))"
)
# RFC 3501 envelope: date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to,
# message-id; one group each.
_ENVELOPE = re.compile(
    rb"\(" + rb" ".join([_NSTRING, _NSTRING, *[_ADDRESS_LIST] * 6, _NSTRING, _NSTRING]) + rb"\)",
    re.DOTALL,
)
# The same for text without a backslash, where no escape can occur: quoted strings without the
# escape loop, which the regex engine would try (and fail) once per string (~15% of the match).
_PLAIN_NSTRING = rb'(?:NIL|"([^"\\]*+)")'
_PLAIN_ADDRESS = rb"\(" + rb" ".join([rb'(?:NIL|"[^"\\]*+")'] * 4) + rb"\)"
_PLAIN_ADDRESS_LIST = (
    rb"(?:NIL|(\(" + _PLAIN_ADDRESS + rb"(?: ?" + _PLAIN_ADDRESS + rb")*+\)))"
)
_PLAIN_ENVELOPE = re.compile(
    rb"\("
    + rb" ".join([_PLAIN_NSTRING] * 2 + [_PLAIN_ADDRESS_LIST] * 6 + [_PLAIN_NSTRING] * 2)
    + rb"\)"
)
_ADDRESS_RE = re.compile(_ADDRESS, re.DOTALL)
_BACKSLASH = b"\\"
_DQUOTE = b'"'
# Literals longer than this are no envelope field: not copied into the joined line.
_INLINE_LIMIT = 4096

_Addresses = tuple[Address, ...]

# Address lists already read, by their text. The same lists come back all the time (the account
# owner in To, a sender in From, Sender and Reply-To, which servers default to From), and what
# they hold is immutable, so a list is read once and its tuple shared. Bounded: emptied when full.
_ADDRESS_LISTS: dict[bytes, _Addresses] = {}
_ADDRESS_LISTS_LIMIT = 2048


def read_envelope(line: bytes, pos: int) -> tuple[Envelope, int] | None:
    """Read the envelope whose ``(`` is at ``pos``; return it and the offset after its ``)``.

    Returns:
        ``None`` if the envelope is not in the usual spelling.
    """
    # A backslash anywhere after pos (usually none: FLAGS, with theirs, come before ENVELOPE)?
    escapes = line.find(_BACKSLASH, pos) >= 0
    match = (_ENVELOPE if escapes else _PLAIN_ENVELOPE).match(line, pos)
    if match is None:
        return None
    date, subject, from_, sender, reply_to, to, cc, bcc, in_reply_to, message_id = (
        match.groups()
    )
    end = match.end()
    if escapes and line.find(_BACKSLASH, pos, end) >= 0:
        # An escape somewhere: undo it in the strings (address lists do so when first read).
        date, subject = _text(date), _text(subject)
        in_reply_to, message_id = _text(in_reply_to), _text(message_id)
    known = _ADDRESS_LISTS
    # get() of None is None: a NIL list stays None without a test.
    envelope = make_envelope(
        date,
        subject,
        known.get(from_) or _addresses(from_),
        known.get(sender) or _addresses(sender),
        known.get(reply_to) or _addresses(reply_to),
        known.get(to) or _addresses(to),
        known.get(cc) or _addresses(cc),
        known.get(bcc) or _addresses(bcc),
        in_reply_to,
        message_id,
    )
    return envelope, end


def read_envelope_across(
    lines: list[bytes], literals: list[bytes], k: int, pos: int
) -> tuple[Envelope, int, int] | None:
    """Read the envelope at ``pos`` of ``lines[k]`` whose strings may be literals.

    Dovecot sends 8-bit header text (a subject, a name) as literals, so the envelope runs over
    several lines. The lines are joined with each literal written in place of its ``{n}`` header
    as the quoted string it could have been -- a short literal without ``"`` or ``\\``, whose
    bytes a quoted string holds as they are -- and the envelope is read from that one text. The
    text stops at the first literal that cannot be written so: an envelope that goes on past it
    is not read here.

    Returns:
        The envelope, the index of the line it ends on, and the offset after its ``)`` there;
        ``None`` if it is not in the usual spelling.
    """
    last = len(literals)
    # The usual case: every literal from k on can be written so, checked at once -- unless the
    # last is large (a BODY[] after the envelope, not to be copied only to be checked).
    rest = b"".join(literals[k:]) if len(literals[-1]) <= _INLINE_LIMIT else _DQUOTE
    if _inlinable(rest):  # all of them together fit one quoted string
        stop = last
    else:
        stop = k
        while stop < last and _inlinable(literals[stop]):
            stop += 1
    # pieces: the text of line k from pos to its header, its literal, the text of line k+1 up to
    # its header, its literal... then the last line whole, or the text up to the first literal
    # that cannot be written as a quoted string; joined with '"', each literal is quoted.
    pieces = []
    first = pos
    for j in range(k, stop + 1 if stop < last else last):
        line = lines[j]
        brace = line.rfind(b"{")
        # The header must be a value of its own, after a space or "(" (always so from real
        # servers); anything else is left to the generic reader, which knows what it means.
        if brace <= first or line[brace - 1] not in b" (":
            return None
        pieces.append(line[first:brace])
        if j < stop:
            pieces.append(literals[j])
        first = 0
    if stop == last:
        pieces.append(lines[last][first:] if first else lines[last])
    joined = _DQUOTE.join(pieces)
    read = read_envelope(joined, 0)
    if read is None:
        return None
    envelope, end = read
    tail = len(joined) - len(pieces[-1])
    if stop == last and end >= tail:
        # It ends on the last line (nothing else of the response is a literal).
        return envelope, last, end - tail + (pos if last == k else 0)
    # Find the line the envelope ends on: a line's text is pieces[2 * i], after which come a
    # quote, the literal and a quote (the envelope's ")" is in a line's text, never a literal).
    offset = 0
    for index in range(0, len(pieces), 2):
        text_end = offset + len(pieces[index])
        if end <= text_end:
            j = index // 2
            return envelope, k + j, end - offset + (pos if j == 0 else 0)
        offset = text_end + len(pieces[index + 1]) + 2
    raise AssertionError("the envelope ends past the text it was read from")


def _inlinable(literal: bytes) -> bool:
    # Whether a literal can be written as a quoted string holding its bytes as they are. find(),
    # not "in": bytes.__contains__ first tries its argument as an int, and the TypeError it
    # raises and clears costs more than the search.
    return (
        len(literal) <= _INLINE_LIMIT
        and literal.find(_DQUOTE) < 0
        and literal.find(_BACKSLASH) < 0
    )


def _addresses(text: bytes | None) -> _Addresses | None:
    if text is None:
        return None
    addresses = tuple(
        [
            make_address(*[_text(field) for field in match.groups()])
            for match in _ADDRESS_RE.finditer(text)
        ]
    )
    if len(_ADDRESS_LISTS) >= _ADDRESS_LISTS_LIMIT:
        _ADDRESS_LISTS.clear()
    _ADDRESS_LISTS[text] = addresses
    return addresses


def _text(value: bytes | None) -> bytes | None:
    return value if value is None or value.find(_BACKSLASH) < 0 else unescape(value)
