"""Turn the bytes an IMAP server sends into typed responses, without doing any I/O.

The parser is sans-I/O (docs/architecture.md, "Conventions"): the connection feeds it bytes with
:meth:`ResponseParser.receive_data` and :meth:`ResponseParser.receive_eof` and takes
:mod:`switchboard.imap.responses` values out with :meth:`ResponseParser.next_response` until it
returns ``None`` (need more data). Nothing here imports asyncio, socket, ssl, threading or time.

How it works:

1. *Framing.* A response is one or more lines; a line ending in ``{n}`` (or ``{n+}``) is
   followed by an n-byte literal and the response continues on the line after it (RFC 3501
   §4.3). The framer keeps the read it got (``bytes``) and an offset into it, and slices each
   line out once. A literal inside the read is one slice; one that spans reads is kept as those
   reads (views, not copies) and joined once when complete, so a 50 MB ``BODY[]`` arriving in
   many small reads costs one copy and linear time. Only a long partial line growing by small
   reads is appended to a ``bytearray``.
2. *The usual responses.* ``* n FETCH (``, ``* n EXISTS``, ``* n EXPUNGE``, ``* n RECENT`` and
   ``* SEARCH ...`` in their usual spelling are read with a few regexes straight from the line
   (:mod:`switchboard.imap._fetch_scan`, :mod:`~switchboard.imap._envelope_scan`,
   :mod:`~switchboard.imap._body_scan`), without building generic values.
3. *Everything else*, and any FETCH item those patterns do not take, goes through the generic
   reader (:mod:`switchboard.imap._values`: one regex cuts a line into tokens, a loop with an
   explicit stack builds atoms, strings, literals, NIL and lists) and the interpreters of
   :mod:`switchboard.imap._fetch` and :mod:`~switchboard.imap._frame` (one framed response to
   its value). The usual path gives exactly what the generic path gives for the same text;
   property tests check both against the parser this one replaced
   (``tests/unit/imap/test_parser_equivalence.py``).

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

from switchboard.imap._frame import parse_frame
from switchboard.imap.errors import ConnectionLost, ImapProtocolError, InvalidState, LimitExceeded
from switchboard.imap.responses import Response

__all__ = ["ResponseParser"]

_NO_LITERALS: list[bytes] = []  # shared, never modified

# A literal header ends the line: "{123}" or the non-synchronising "{123+}" (RFC 7888). Servers
# send only "{n}"; we accept both. Looked for in the last 24 bytes of a line only.
_WINDOW = 24
_LITERAL_HEADER = re.compile(rb"\{([0-9]+)\+?\}\Z")
# Reads of a literal shorter than this are gathered in one bytearray rather than kept apart.
_SMALL_READ = 4096
# Lines whose text is free-form (resp-text): continuation, or "<tag> OK|NO|BAD|BYE|PREAUTH".
_TEXT_LINE = re.compile(rb"\+|[^ ]+ +(?:OK|NO|BAD|BYE|PREAUTH)(?:[ \[]|\Z)", re.IGNORECASE)


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

    __slots__ = (
        "_buf",
        "_eof",
        "_error",
        "_lines",
        "_literal_have",
        "_literal_parts",
        "_literal_size",
        "_literals",
        "_pos",
        "_response_bytes",
        "_scan",
        "max_line_bytes",
        "max_literal_bytes",
        "max_response_bytes",
    )

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
        # Received bytes not yet framed start at _pos. Usually the very object data_received
        # got; a bytearray (from offset 0) only while a long partial line grows in small reads.
        self._buf: bytes | bytearray = b""
        self._pos = 0
        # Where the search for the next LF resumes (the bytes before it hold none).
        self._scan = 0
        # The lines and literals of a response still waiting for its last line, and how many
        # bytes of it were framed so far (for max_response_bytes).
        self._lines: list[bytes] = []
        self._literals: list[bytes] = []
        self._response_bytes = 0
        # The literal being waited for: its size (-1 when none), the reads that hold its start,
        # and how many bytes they hold.
        self._literal_size = -1
        self._literal_parts: list[bytes | bytearray | memoryview] = []
        self._literal_have = 0
        self._eof = False
        self._error: ImapProtocolError | None = None

    @property
    def eof(self) -> bool:
        """Whether :meth:`receive_eof` was called."""
        return self._eof

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
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
        if data.__class__ is not bytes:
            data = bytes(data)  # our own immutable copy of a bytearray or memoryview
        if self._literal_size >= 0:
            # Inside a literal: keep the reads as they are and join them once, when complete.
            # Small reads are gathered in a bytearray instead, so that a literal trickling in
            # byte by byte costs its size in memory, not a list entry and an object per byte.
            parts = self._literal_parts
            if len(data) >= _SMALL_READ:
                parts.append(data)
            elif parts and isinstance(parts[-1], bytearray):
                parts[-1] += data
            else:
                parts.append(bytearray(data))
            self._literal_have += len(data)
            if self._literal_have >= self._literal_size:
                self._end_literal()
            return
        buf, pos = self._buf, self._pos
        pending = len(buf) - pos
        if not pending:
            self._buf = data
            self._pos = self._scan = 0
        elif buf.__class__ is bytearray:
            buf += data  # in place, amortised
        elif pending <= len(data):
            # A partial line (usually short) and the next read: one copy, at most twice the read.
            self._buf = buf[pos:] + data
            self._scan -= pos
            self._pos = 0
        else:
            # A long partial line growing by small reads: append in place from now on, so that
            # the cost stays linear however the line is split.
            grown = bytearray(memoryview(buf)[pos:])
            grown += data
            self._buf = grown
            self._scan -= pos
            self._pos = 0

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
        if self._error is not None:
            self._check_usable()
        try:
            while True:
                if self._literal_size >= 0:
                    self._check_eof()
                    return None
                line = self._next_line()
                if line is None:
                    self._check_eof()
                    return None
                if self._lines:
                    lines, literals = self._lines, self._literals
                    lines.append(line)
                    self._lines, self._literals, self._response_bytes = [], [], 0
                    response = parse_frame(lines, literals)
                else:
                    response = parse_frame([line], _NO_LITERALS)
                if response is not None:
                    return response
        except ImapProtocolError as exc:
            self._error = exc
            raise

    def _next_line(self) -> bytes | None:
        """Frame up to the last line of a response; return it, or ``None`` for more data.

        The lines before it, and the literals after them, go to ``_lines`` and ``_literals``.

        Raises:
            LimitExceeded: a line, a literal or the response is too long.
        """
        buf, pos = self._buf, self._pos
        scan = self._scan
        while True:
            newline = buf.find(b"\n", scan)
            if newline < 0:
                # +1: a CR may already be here, waiting for its LF; it is not counted.
                if len(buf) - pos > self.max_line_bytes + 1:
                    raise self._line_too_long()
                self._scan = len(buf)
                self._pos = pos
                return None
            if isinstance(buf, bytearray):
                # The long line is complete: back to an immutable buffer (one copy).
                self._buf = buf = bytes(buf)
            end = newline - 1 if newline > pos and buf[newline - 1] == 0x0D else newline
            if end - pos > self.max_line_bytes:
                raise self._line_too_long()
            line = buf[pos:end]
            start = newline + 1
            if (
                end > pos
                and buf[end - 1] == 0x7D  # "}": a literal header may end the line
                and (self._lines or not _TEXT_LINE.match(line))
            ):
                # "{n}" or "{n+}" at the end, starting in the last _WINDOW bytes.
                window = end - pos - _WINDOW
                header = _LITERAL_HEADER.search(line, window if window > 0 else 0)
                if header is not None:
                    size = int(header[1])
                    # The limits, checked here rather than by a call: a response of small
                    # literals (Dovecot's 8-bit envelope strings) frames a line per literal.
                    framed = self._response_bytes + start - pos
                    if size > self.max_literal_bytes or framed + size > self.max_response_bytes:
                        raise self._literal_too_large(size, framed)
                    self._lines.append(line)
                    self._response_bytes = framed + size
                    pos = scan = start + size
                    if pos <= len(buf):
                        # The whole literal is here: one slice.
                        self._literals.append(buf[start:pos])
                        continue
                    self._wait_for_literal(buf, start, size)
                    return None
            if start == len(buf):
                # All framed: drop the read so an idle connection holds no buffer.
                self._buf = b""
                start = 0
            self._pos = self._scan = start
            return line

    def _check_eof(self) -> None:
        """Before "need more data": raise if the stream ended in the middle of a response."""
        if self._eof and (self._literal_size >= 0 or self._lines or len(self._buf) > self._pos):
            pending = len(self._buf) - self._pos + self._literal_have + self._response_bytes
            raise ConnectionLost(
                f"connection closed in the middle of a response ({pending} bytes pending)"
            )

    def _literal_too_large(self, size: int, framed: int) -> LimitExceeded:
        """The error for a ``{size}`` header after ``framed`` bytes of its response."""
        if size > self.max_literal_bytes:
            return LimitExceeded(
                f"literal of {size} bytes exceeds max_literal_bytes={self.max_literal_bytes}",
                limit_name="max_literal_bytes",
                limit=self.max_literal_bytes,
            )
        return LimitExceeded(
            f"response exceeds max_response_bytes={self.max_response_bytes}",
            limit_name="max_response_bytes",
            limit=self.max_response_bytes,
        )

    def _wait_for_literal(self, buf: bytes, start: int, size: int) -> None:
        """Wait for the rest of a literal whose first bytes are ``buf[start:]``."""
        self._literal_size = size
        have = len(buf) - start
        # A view, not a copy: the literal is copied once, when its reads are joined.
        self._literal_parts = [memoryview(buf)[start:]] if have else []
        self._literal_have = have
        self._buf = b""
        self._pos = self._scan = 0

    def _end_literal(self) -> None:
        """The awaited literal is complete: join its reads; the excess starts the next line."""
        parts = self._literal_parts
        last = parts[-1]
        # Only the last read can hold bytes past the literal (the one before did not complete
        # it); they become the buffer.
        cut = len(last) - (self._literal_have - self._literal_size)
        buf: bytes | bytearray = b""
        pos = 0
        if cut < len(last):
            if isinstance(last, bytes):
                parts[-1] = memoryview(last)[:cut]
                buf, pos = last, cut  # no copy: the read stays the buffer
            else:
                parts[-1] = last[:cut]
                buf = bytes(last[cut:])
        # One copy of the literal; none when it arrived in a single read.
        self._literals.append(b"".join(parts))
        self._literal_parts = []
        self._literal_have = 0
        self._literal_size = -1
        self._buf = buf
        self._pos = self._scan = pos

    def _check_usable(self) -> None:
        if self._error is not None:
            raise ImapProtocolError(f"parser unusable after an earlier error: {self._error}")

    def _line_too_long(self) -> LimitExceeded:
        return LimitExceeded(
            f"line exceeds max_line_bytes={self.max_line_bytes}",
            limit_name="max_line_bytes",
            limit=self.max_line_bytes,
        )
