"""One framed IMAP response → its :mod:`switchboard.imap.responses` value (private to the parser).

:class:`switchboard.imap.parser.ResponseParser` frames the bytes into a response's lines and
literals and hands them to :func:`parse_frame`, which takes the usual responses the fast way
(:mod:`~switchboard.imap._fetch_scan`) and everything else through the generic reader
(:mod:`~switchboard.imap._values`) and the interpreters below and in
:mod:`~switchboard.imap._fetch`. The module docstring of :mod:`switchboard.imap.parser` says
which tolerances apply.
"""

from __future__ import annotations

import re

from switchboard.imap._build import make_code, make_status, make_tagged
from switchboard.imap._fetch import parse_fetch
from switchboard.imap._fetch_scan import SIMPLE_RUN, scan_fetch
from switchboard.imap._values import Reader, Value, decode_text, name_of, to_int
from switchboard.imap.errors import ImapProtocolError
from switchboard.imap.responses import (
    Capability,
    Continuation,
    Enabled,
    Exists,
    Expunge,
    Flags,
    ListItem,
    MailboxStatus,
    Recent,
    Response,
    ResponseCode,
    Search,
    Status,
    Unknown,
)

__all__ = ["parse_frame"]

_TAGGED_STATUS = re.compile(rb"(OK|NO|BAD)(?=[ \[]|\Z)", re.IGNORECASE)
_UNTAGGED_STATUS = re.compile(rb"\* +(OK|NO|BAD|BYE|PREAUTH)(?=[ \[]|\Z)", re.IGNORECASE)
_INT_CODES = frozenset({"UIDVALIDITY", "UIDNEXT", "UNSEEN", "HIGHESTMODSEQ"})
# "* n FETCH (", "* n EXISTS|EXPUNGE|RECENT" (the rest of the line is ignored, as the generic
# path ignores it) and "* SEARCH n n ..." spelt the usual way; any other spelling takes the
# generic path, which reads it the same way or raises.
# For FETCH, the match goes on over the run of simple items that usually starts the list
# (UID, RFC822.SIZE, FLAGS...: five groups, see _fetch_scan.SIMPLE_RUN).
_FAST_UNTAGGED = re.compile(
    rb"\* (?:([0-9]+) (?:FETCH \((" + SIMPLE_RUN + rb")|(EXISTS|EXPUNGE|RECENT)(?=[ ()]|\Z))"
    rb"|SEARCH((?: [0-9]+)*+) *+\Z)"
)
_STATUSES = {status.value.encode(): status for status in Status}
_NUMBERED: dict[bytes, type[Exists | Expunge | Recent]] = {
    b"EXISTS": Exists,
    b"EXPUNGE": Expunge,
    b"RECENT": Recent,
}


def parse_frame(lines: list[bytes], literals: list[bytes]) -> Response | None:
    """Turn one framed response into its dataclass; ``None`` for a skipped empty line."""
    first = lines[0]
    fast = _FAST_UNTAGGED.match(first)
    if fast is not None:
        # The most frequent responses, in their usual spelling, without the generic reader.
        number, run, uid, size, flags, date, modseq, kind, search = fast.groups()
        if run is not None:
            return scan_fetch(
                int(number), lines, literals, fast.end(), uid, size, flags, date, modseq
            )
        if kind is not None:
            return _NUMBERED[kind](int(number))
        return Search(tuple(map(int, search.split())))
    if not first.strip(b" "):
        return None  # tolerance: a stray empty line between responses (it has no literal)
    if first[:1] == b"+":
        after = first[1:]
        return Continuation(decode_text(after[1:] if after[:1] == b" " else after))
    tag, space, rest = first.partition(b" ")
    if not space:
        raise ImapProtocolError(f"response without a space after its tag: {first[:80]!r}")
    if tag == b"*":
        return _parse_untagged(lines, literals)
    match = _TAGGED_STATUS.match(rest.lstrip(b" "))
    if match is None:
        raise ImapProtocolError(f"tagged response without OK/NO/BAD: {first[:80]!r}")
    status = _STATUSES[match[1].upper()]
    code, text = _parse_resp_text(rest.lstrip(b" ")[match.end() :])
    return make_tagged(tag.decode("latin-1"), status, code, text)


def _parse_resp_text(data: bytes) -> tuple[ResponseCode | None, str]:
    """Parse ``[SP] ["[" code "]" [SP]] text`` (RFC 3501 ``resp-text``)."""
    data = data.lstrip(b" ")
    if not data.startswith(b"["):
        return None, decode_text(data)
    close = data.find(b"]")
    if close < 0:
        raise ImapProtocolError(f"unterminated response code: {data[:80]!r}")
    inner = data[1:close]
    text = data[close + 1 :]
    # Codes are immutable and come back often ([READ-WRITE], [CAPABILITY ...]): read once.
    code = _CODES.get(inner)
    if code is None:
        code = _parse_code(inner)
        if len(_CODES) >= _CODES_LIMIT:
            _CODES.clear()
        _CODES[inner] = code
    return code, decode_text(text[1:] if text[:1] == b" " else text)


_CODES: dict[bytes, ResponseCode] = {}
_CODES_LIMIT = 256


def _parse_code(inner: bytes) -> ResponseCode:
    raw_name, _, raw_value = inner.strip(b" ").partition(b" ")
    name = raw_name.upper().decode("latin-1")
    raw_value = raw_value.strip(b" ")
    if not name:
        raise ImapProtocolError("empty response code")
    if name in _INT_CODES:
        return make_code(name, to_int(raw_value.decode("latin-1")))
    if name == "CAPABILITY":
        return make_code(name, tuple(a.upper() for a in _atoms(raw_value)))
    if name == "PERMANENTFLAGS":
        value = Reader([raw_value], []).value()
        if not isinstance(value, list):
            raise ImapProtocolError("PERMANENTFLAGS without a flag list")
        return make_code(name, tuple(name_of(v) for v in value))
    return make_code(name, decode_text(raw_value) if raw_value else None)


def _atoms(data: bytes) -> list[str]:
    return [w.decode("latin-1") for w in data.split(b" ") if w]


def _parse_untagged(lines: list[bytes], literals: list[bytes]) -> Response:
    status_match = _UNTAGGED_STATUS.match(lines[0])
    if status_match is not None:
        # Free text: parse the raw line, not tokens ("[" may follow the word directly).
        code, text = _parse_resp_text(lines[0][status_match.end() :])
        return make_status(_STATUSES[status_match[1].upper()], code, text)
    reader = Reader(lines, literals, start=2)
    first: Value = reader.value() if not reader.at_end() else None
    if not isinstance(first, str):
        return _unknown(lines, literals)
    if first.isascii() and first.isdigit():
        number = int(first)
        kind = reader.value() if not reader.at_end() else None
        kind = kind.upper() if isinstance(kind, str) else None
        if kind == "EXISTS":
            return Exists(number)
        if kind == "RECENT":
            return Recent(number)
        if kind == "EXPUNGE":
            return Expunge(number)
        if kind == "FETCH":
            return parse_fetch(number, reader.value())
        return _unknown(lines, literals)
    word = first.upper()
    if word in ("CAPABILITY", "ENABLED"):
        caps = frozenset(name_of(v).upper() for v in reader.rest())
        return Capability(caps) if word == "CAPABILITY" else Enabled(caps)
    if word == "FLAGS":
        flags = reader.value()
        if not isinstance(flags, list):
            raise ImapProtocolError("FLAGS without a flag list")
        return Flags(tuple(name_of(f) for f in flags))
    if word in ("LIST", "LSUB"):
        return _parse_list(word, reader)
    if word == "STATUS":
        return _parse_status(reader)
    if word == "SEARCH":
        # CONDSTORE appends "(MODSEQ n)" (RFC 7162 §3.1.5); it is not an id.
        return Search(tuple(to_int(v) for v in reader.rest() if not isinstance(v, list)))
    return _unknown(lines, literals)


def _parse_list(command: str, reader: Reader) -> ListItem:
    flags = reader.value()
    if not isinstance(flags, list):
        raise ImapProtocolError(f"{command} without a flag list")
    delimiter = reader.value()
    if isinstance(delimiter, list):
        raise ImapProtocolError(f"{command} with a list as hierarchy delimiter")
    name = reader.value()
    # RFC 5258 extended data may follow; Switchboard does not ask for it, so it is ignored.
    return ListItem(
        command,
        tuple(name_of(f) for f in flags),
        None if delimiter is None else name_of(delimiter),
        "NIL" if name is None else name_of(name),
    )


def _parse_status(reader: Reader) -> MailboxStatus:
    name = reader.value()
    items = reader.value()
    if not isinstance(items, list) or len(items) % 2:
        raise ImapProtocolError("STATUS without a list of name/value pairs")
    values = {name_of(k).upper(): to_int(v) for k, v in zip(items[::2], items[1::2], strict=True)}
    return MailboxStatus("NIL" if name is None else name_of(name), values)


def _unknown(lines: list[bytes], literals: list[bytes]) -> Unknown:
    # Rebuild the response as it came (with CRLF line ends) so nothing is lost.
    parts: list[bytes] = []
    for index, line in enumerate(lines):
        parts.append(line)
        if index < len(literals):
            parts.append(b"\r\n")
            parts.append(literals[index])
    return Unknown(b"".join(parts))
