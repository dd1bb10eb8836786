"""Read the generic IMAP value grammar (atoms, strings, literals, NIL, lists) of one response.

Private to :mod:`switchboard.imap.parser`. A response arrives already framed as its text lines
(without line endings) and the literals that follow the lines ending in ``{n}``; the
:class:`Reader` walks them with a cursor and yields :data:`Value`:

- an atom is a ``str`` (decoded as Latin-1, so it maps back to its bytes exactly); a section
  such as ``BODY[HEADER.FIELDS (SUBJECT)]<0>`` is one atom, brackets and all;
- a quoted string or a literal is ``bytes`` (8-bit data kept as sent);
- the atom ``NIL`` (any case) is ``None``; a quoted ``"NIL"`` stays ``b"NIL"``;
- a parenthesised list is a ``list`` of values, nested at most ``MAX_NESTING`` deep.

How a value is *interpreted* (as a number, a mailbox name, an nstring) is up to the caller,
helped by :func:`to_int`, :func:`to_nstring`, :func:`name_of` and :func:`decode_text`.
"""

from __future__ import annotations

import re
from typing import TypeAlias

from switchboard.imap.errors import ImapProtocolError

__all__ = ["MAX_NESTING", "Reader", "Value", "decode_text", "name_of", "to_int", "to_nstring"]

Value: TypeAlias = "str | bytes | list[Value] | None"

# Deep enough for any real BODYSTRUCTURE (each MIME level is one list level), shallow enough
# that the recursive reader and interpreters stay far from Python's recursion limit.
MAX_NESTING = 100

# An atom runs to a space or parenthesis; a "[" with a "]" later on the line opens a section
# that may hold spaces and parentheses (BODY[HEADER.FIELDS (SUBJECT)]); a "[" without one is
# an ordinary atom character (it is an ATOM-CHAR, so a mailbox atom may hold one).
_ATOM = re.compile(rb"(?:[^ ()\[]|\[[^\]]*\]|\[)+")
# A quoted string: any byte but '"' and '\', or '\' and any byte (RFC 3501 allows only '\"'
# and '\\'; tolerating more loses nothing).
_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_UNESCAPE = re.compile(rb"\\(.)", re.DOTALL)
# A literal header must end its line; the framer already found it there.
_LITERAL = re.compile(rb"\{[0-9]+\+?\}\Z")

_SPACE, _LPAREN, _RPAREN, _DQUOTE, _LBRACE = 0x20, 0x28, 0x29, 0x22, 0x7B


class Reader:
    """A cursor over the lines and literals of one framed response.

    Args:
        lines: the response's text lines; line ``k`` is followed by ``literals[k]`` if any.
        literals: the literal bytes, in order.
        start: the offset in ``lines[0]`` to start reading at.
    """

    __slots__ = ("_i", "_k", "_line", "_lines", "_literals")

    def __init__(self, lines: list[bytes], literals: list[bytes], *, start: int = 0) -> None:
        self._lines = lines
        self._literals = literals
        self._k = 0
        self._line = lines[0]
        self._i = start

    def at_end(self) -> bool:
        """Skip spaces; return whether nothing but spaces is left in the response."""
        self._skip_spaces()
        return self._i >= len(self._line)

    def rest(self) -> list[Value]:
        """Read every remaining value.

        Raises:
            ImapProtocolError: a value is malformed.
        """
        values: list[Value] = []
        while not self.at_end():
            values.append(self.value())
        return values

    def value(self, depth: int = 0) -> Value:
        """Read one value.

        Args:
            depth: the list nesting depth of this value (callers leave it at 0).

        Raises:
            ImapProtocolError: the input ends, or the value is malformed or nested deeper
                than ``MAX_NESTING``.
        """
        self._skip_spaces()
        line, i = self._line, self._i
        if i >= len(line):
            raise ImapProtocolError("response ends where a value was expected")
        char = line[i]
        if char == _LPAREN:
            if depth >= MAX_NESTING:
                raise ImapProtocolError(f"lists nested deeper than {MAX_NESTING}")
            self._i = i + 1
            items: list[Value] = []
            while True:
                self._skip_spaces()
                if self._i >= len(self._line):
                    raise ImapProtocolError("unterminated parenthesised list")
                if self._line[self._i] == _RPAREN:
                    self._i += 1
                    return items
                items.append(self.value(depth + 1))
        if char == _DQUOTE:
            match = _QUOTED.match(line, i)
            if match is None:
                raise ImapProtocolError("unterminated quoted string")
            self._i = match.end()
            return _UNESCAPE.sub(rb"\1", match[1])
        if char == _LBRACE:
            return self._literal()
        if char == _RPAREN:
            raise ImapProtocolError("unexpected ')'")
        match = _ATOM.match(line, i)
        assert match is not None  # any byte but space and parentheses starts an atom
        self._i = match.end()
        atom = match[0].decode("latin-1")
        return None if atom.upper() == "NIL" else atom

    def _literal(self) -> bytes:
        if not _LITERAL.match(self._line, self._i) or self._k >= len(self._literals):
            raise ImapProtocolError("malformed literal header")
        data = self._literals[self._k]
        self._k += 1
        self._line = self._lines[self._k]
        self._i = 0
        return data

    def _skip_spaces(self) -> None:
        line, i = self._line, self._i
        while i < len(line) and line[i] == _SPACE:
            i += 1
        self._i = i


def decode_text(data: bytes) -> str:
    """Decode server text: UTF-8 when it is valid UTF-8, else Latin-1 (never fails)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def name_of(value: Value) -> str:
    """Read an atom or string as text (a flag, mailbox name, keyword).

    Raises:
        ImapProtocolError: the value is NIL or a list.
    """
    if isinstance(value, bytes):
        return decode_text(value)
    if isinstance(value, str):
        return decode_text(value.encode("latin-1"))
    raise ImapProtocolError(f"expected an atom or string, got {_kind(value)}")


def to_int(value: Value) -> int:
    """Read a non-negative number (an atom; a quoted number is tolerated).

    Raises:
        ImapProtocolError: the value is not a number.
    """
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ImapProtocolError(f"expected a number, got {_kind(value)}")


def to_nstring(value: Value) -> bytes | None:
    """Read an nstring: NIL as ``None``, a string as its bytes (an atom is tolerated).

    Raises:
        ImapProtocolError: the value is a list.
    """
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("latin-1")
    raise ImapProtocolError("expected a string or NIL, got a list")


def _kind(value: Value) -> str:
    if value is None:
        return "NIL"
    if isinstance(value, list):
        return "a list"
    return repr(value[:40])
