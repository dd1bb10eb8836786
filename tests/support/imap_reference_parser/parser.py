"""Turn the bytes an IMAP server sends into typed responses, without doing any I/O.

The parser has the sans-I/O doors (docs/architecture.md, "Conventions"): the connection feeds
it bytes with :meth:`ResponseParser.receive_data` and :meth:`ResponseParser.receive_eof` and takes
:mod:`switchboard.imap.responses` values out with :meth:`ResponseParser.next_response` until it
returns ``None`` (need more data). Nothing here imports asyncio, socket, ssl, threading or time.

How it works:

1. *Framing.* A response is one or more lines; a line ending in ``{n}`` (or ``{n+}``) is
   followed by an n-byte literal and the response continues on the line after it (RFC 3501
   §4.3). The framer keeps one ``bytearray`` and offsets into it, remembers where it stopped
   searching for LF, and waits for a literal by comparing one length, so a 50 MB ``BODY[]``
   arriving in many small reads costs linear time. Each literal is copied exactly once, when
   its response is complete. Consumed bytes are dropped from the front of the buffer only
   when they are at least half of it (amortised linear).
2. *Tokens.* :class:`_Reader` (in :mod:`switchboard.imap._values`) reads the generic IMAP
   value grammar over those lines and literals: atoms, quoted strings, literals, NIL,
   parenthesised lists.
3. *Meaning.* Each known response turns its values into the fixed dataclasses; FETCH,
   ENVELOPE and BODYSTRUCTURE live in :mod:`switchboard.imap._fetch`.

Limits: ``max_line_bytes`` bounds each stretch of text between literals, ``max_literal_bytes``
each literal (checked on its ``{n}`` header, before any byte of it is buffered), and
``max_response_bytes`` one whole response. The caller bounds the buffer by draining
:meth:`~ResponseParser.next_response` after every :meth:`~ResponseParser.receive_data`.

Tolerances (each seen from, or allowed for, real servers):

- a bare LF ends a line as well as CRLF;
- empty lines between responses are skipped;
- any run of spaces separates values, spaces before ``)`` and at the end of a line are
  ignored (e.g. ``* SEARCH `` and ``(MESSAGES 3 )``), and no space is needed after ``)``;
- a status response may omit its text (``A1 OK``, ``* OK [CLOSED]``) or the space after ``]``;
- a continuation may be a bare ``+``;
- anywhere a string is expected, an atom is accepted (Dovecot sends ``INBOX`` as an atom);
- ``\\`` in a quoted string escapes any byte, not only ``"`` and ``\\``; 8-bit bytes are kept;
- the status and continuation lines' text never starts a literal, even if it ends in ``{n}``
  (RFC 3501 ``text`` has no literals), so ``* BYE {5}`` cannot swallow the next response.

See Also:
    RFC 3501 §4 (data formats), §7 (responses), §9 (formal syntax).
"""

from __future__ import annotations

import re

from switchboard.imap.errors import (
    ConnectionLost,
    ImapProtocolError,
    InvalidState,
    LimitExceeded,
)
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
    StatusResponse,
    TaggedResponse,
    Unknown,
)

from ._fetch import parse_fetch
from ._values import Reader, Value, decode_text, name_of, to_int

__all__ = ["ResponseParser"]

# A literal header ends the line: "{123}" or the non-synchronising "{123+}" (RFC 7888). Servers
# send only "{n}"; we accept both. Searched in the last 24 bytes of a line only.
_LITERAL_AT_END = re.compile(rb"\{([0-9]+)\+?\}\Z")
_LITERAL_WINDOW_BYTES = 24
# Lines whose text is free-form (resp-text): continuation, or "<tag> OK|NO|BAD|BYE|PREAUTH".
_TEXT_LINE = re.compile(rb"\+|[^ ]+ +(?:OK|NO|BAD|BYE|PREAUTH)(?:[ \[]|\Z)", re.IGNORECASE)
_TAGGED_STATUS = re.compile(rb"(OK|NO|BAD)(?=[ \[]|\Z)", re.IGNORECASE)
_UNTAGGED_STATUS = re.compile(rb"\* +(OK|NO|BAD|BYE|PREAUTH)(?=[ \[]|\Z)", re.IGNORECASE)
_INT_CODES = frozenset({"UIDVALIDITY", "UIDNEXT", "UNSEEN", "HIGHESTMODSEQ"})


class ResponseParser:
    """An incremental parser of IMAP server responses (sans-I/O).

    Feed bytes with :meth:`receive_data`, then call :meth:`next_response` until it returns
    ``None``. Once it has raised :class:`ImapProtocolError` the parser is unusable: every later
    call raises :class:`ImapProtocolError` again (the connection must be dropped).

    Args:
        max_line_bytes: the longest stretch of text between literals (without CRLF).
        max_literal_bytes: the largest literal (checked on its ``{n}`` header).
        max_response_bytes: the largest whole response including literals; defaults to
            ``2 * max_literal_bytes`` (room for a message and its headers in one FETCH).
    """

    def __init__(
        self,
        *,
        max_line_bytes: int = 64 * 1024,
        max_literal_bytes: int = 64 * 1024 * 1024,
        max_response_bytes: int | None = None,
    ) -> None:
        self.max_line_bytes = max_line_bytes
        self.max_literal_bytes = max_literal_bytes
        self.max_response_bytes = (
            2 * max_literal_bytes if max_response_bytes is None else max_response_bytes
        )
        # Everything received and not yet returned; offsets below index into it.
        self._buf = bytearray()
        # Start of the response being framed.
        self._pos = 0
        # Start of the current line, and where the search for its LF resumes.
        self._line_start = 0
        self._scan = 0
        # (start, end) of each complete line (end excludes the line ending) and literal.
        self._lines: list[tuple[int, int]] = []
        self._literals: list[tuple[int, int]] = []
        # End of the literal being waited for, or -1 when not inside a literal.
        self._literal_end = -1
        self._eof = False
        self._error: ImapProtocolError | None = None

    @property
    def eof(self) -> bool:
        """Whether :meth:`receive_eof` was called."""
        return self._eof

    def receive_data(self, data: bytes) -> None:
        """Append bytes received from the server.

        Args:
            data: any number of bytes, split anywhere.

        Raises:
            InvalidState: after :meth:`receive_eof`.
            ImapProtocolError: the parser already failed.
        """
        self._check_usable()
        if self._eof:
            raise InvalidState("receive_data() after receive_eof()")
        self._buf += data

    def receive_eof(self) -> None:
        """Record that the server closed the connection; idempotent."""
        self._eof = True

    def next_response(self) -> Response | None:
        """Return the next complete response, or ``None`` if more data is needed.

        After :meth:`receive_eof`, the responses still buffered are returned first; then
        ``None`` if the stream ended cleanly between responses.

        Returns:
            A tagged response, a continuation, or an untagged response; ``None`` when no
            complete response is buffered.

        Raises:
            ImapProtocolError: the server sent malformed data (the parser is now unusable).
            LimitExceeded: a line, literal or response exceeded its limit (a subclass of
                ImapProtocolError, with the same consequence).
            ConnectionLost: end-of-file arrived in the middle of a response; the data was
                truncated, which is a broken connection rather than bad syntax.

        Anything else is a bug.
        """
        self._check_usable()
        try:
            while True:
                frame = self._next_frame()
                if frame is None:
                    if self._eof and len(self._buf) > self._pos:
                        raise ConnectionLost(
                            "connection closed in the middle of a response "
                            f"({len(self._buf) - self._pos} bytes pending)"
                        )
                    return None
                response = _parse_frame(*frame)
                if response is not None:
                    return response
        except ImapProtocolError as exc:
            self._error = exc
            raise

    def _check_usable(self) -> None:
        if self._error is not None:
            raise ImapProtocolError(f"parser unusable after an earlier error: {self._error}")

    def _next_frame(self) -> tuple[list[bytes], list[bytes]] | None:
        """Find the next complete response in the buffer; return its lines and literals."""
        buf = self._buf
        while True:
            if self._literal_end >= 0:
                if len(buf) < self._literal_end:
                    return None
                self._literals.append((self._line_start, self._literal_end))
                self._line_start = self._scan = self._literal_end
                self._literal_end = -1
            line_start = self._line_start
            newline = buf.find(b"\n", self._scan)
            if newline < 0:
                # +1: a CR may already be here, waiting for its LF; it is not counted.
                if len(buf) - line_start > self.max_line_bytes + 1:
                    raise self._line_too_long()
                self._scan = len(buf)
                return None
            end = newline - 1 if newline > line_start and buf[newline - 1] == 0x0D else newline
            if end - line_start > self.max_line_bytes:
                raise self._line_too_long()
            self._lines.append((line_start, end))
            next_start = newline + 1
            literal = None
            if len(self._lines) > 1 or not _TEXT_LINE.match(buf, line_start, end):
                literal = _LITERAL_AT_END.search(
                    buf, max(line_start, end - _LITERAL_WINDOW_BYTES), end
                )
            if literal is not None:
                size = int(literal[1])
                if size > self.max_literal_bytes:
                    raise LimitExceeded(
                        f"literal of {size} bytes exceeds max_literal_bytes="
                        f"{self.max_literal_bytes}",
                        limit_name="max_literal_bytes",
                        limit=self.max_literal_bytes,
                    )
                if next_start + size - self._pos > self.max_response_bytes:
                    raise LimitExceeded(
                        f"response exceeds max_response_bytes={self.max_response_bytes}",
                        limit_name="max_response_bytes",
                        limit=self.max_response_bytes,
                    )
                self._line_start = self._scan = next_start
                self._literal_end = next_start + size
                continue
            return self._take_frame(next_start)

    def _take_frame(self, next_start: int) -> tuple[list[bytes], list[bytes]]:
        buf = self._buf
        lines = [bytes(buf[a:b]) for a, b in self._lines]
        with memoryview(buf) as view:
            # One copy per literal: straight from the buffer into an immutable bytes.
            literals = [bytes(view[a:b]) for a, b in self._literals]
        self._lines = []
        self._literals = []
        self._pos = self._line_start = self._scan = next_start
        if next_start >= len(buf) // 2:
            # Drop consumed bytes only when they are at least half the buffer, so the cost of
            # moving the unconsumed rest is amortised over the bytes consumed.
            del buf[:next_start]
            self._pos = self._line_start = self._scan = 0
        return lines, literals

    def _line_too_long(self) -> LimitExceeded:
        return LimitExceeded(
            f"line exceeds max_line_bytes={self.max_line_bytes}",
            limit_name="max_line_bytes",
            limit=self.max_line_bytes,
        )


def _parse_frame(lines: list[bytes], literals: list[bytes]) -> Response | None:
    """Turn one framed response into its dataclass; ``None`` for a skipped empty line."""
    first = lines[0]
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
    status = Status(match[1].upper().decode("ascii"))
    code, text = _parse_resp_text(rest.lstrip(b" ")[match.end() :])
    return TaggedResponse(tag.decode("latin-1"), status, code, text)


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
    return _parse_code(inner), decode_text(text[1:] if text[:1] == b" " else text)


def _parse_code(inner: bytes) -> ResponseCode:
    raw_name, _, raw_value = inner.strip(b" ").partition(b" ")
    name = raw_name.upper().decode("latin-1")
    raw_value = raw_value.strip(b" ")
    if not name:
        raise ImapProtocolError("empty response code")
    if name in _INT_CODES:
        return ResponseCode(name, to_int(raw_value.decode("latin-1")))
    if name == "CAPABILITY":
        return ResponseCode(name, tuple(a.upper() for a in _atoms(raw_value)))
    if name == "PERMANENTFLAGS":
        value = Reader([raw_value], []).value()
        if not isinstance(value, list):
            raise ImapProtocolError("PERMANENTFLAGS without a flag list")
        return ResponseCode(name, tuple(name_of(v) for v in value))
    return ResponseCode(name, decode_text(raw_value) if raw_value else None)


def _atoms(data: bytes) -> list[str]:
    return [w.decode("latin-1") for w in data.split(b" ") if w]


def _parse_untagged(lines: list[bytes], literals: list[bytes]) -> Response:
    status_match = _UNTAGGED_STATUS.match(lines[0])
    if status_match is not None:
        # Free text: parse the raw line, not tokens ("[" may follow the word directly).
        code, text = _parse_resp_text(lines[0][status_match.end() :])
        return StatusResponse(Status(status_match[1].upper().decode("ascii")), code, text)
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
