"""Read the generic IMAP value grammar (atoms, strings, literals, NIL, lists) of one response.

Private to :mod:`switchboard.imap.parser`. A response arrives already framed as its text lines
(without line endings) and the literals that follow the lines ending in ``{n}``; the
:class:`Reader` walks them and yields :data:`Value`:

- an atom is a ``str`` (decoded as Latin-1, so it maps back to its bytes exactly); a section
  such as ``BODY[HEADER.FIELDS (SUBJECT)]<0>`` is one atom, brackets and all;
- a quoted string or a literal is ``bytes`` (8-bit data kept as sent);
- the atom ``NIL`` (any case) is ``None``; a quoted ``"NIL"`` stays ``b"NIL"``;
- a parenthesised list is a ``list`` of values, nested at most ``MAX_NESTING`` deep.

How a value is *interpreted* (as a number, a mailbox name, an nstring) is up to the caller,
helped by :func:`to_int`, :func:`to_nstring`, :func:`name_of` and :func:`decode_text`.

How it works: :func:`tokenize` cuts each line into tokens with one ``findall`` of one regex (the
loop runs in C), and puts each literal right after the ``{n}`` token that announced it. The
grammar is context-free at the token level -- what a token is depends only on its first byte --
so tokenizing a whole line up front cuts it exactly where reading value by value would. The
reader then walks the list with an explicit stack (no recursion, no per-token function call).
Input the grammar refuses becomes a marker token that raises only when reading reaches it: text
after the values a response needs (``* 3 EXISTS "junk``) is ignored, as it always was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypeAlias

from switchboard.imap.errors import ImapProtocolError

__all__ = [
    "MAX_NESTING",
    "Reader",
    "Value",
    "decode_text",
    "name_of",
    "read_list",
    "to_int",
    "to_nstring",
    "tokenize",
    "unescape",
]

Value: TypeAlias = "str | bytes | list[Value] | None"

# Deep enough for any real BODYSTRUCTURE (each MIME level is one list level), shallow enough
# that the interpreters of the values (recursive) stay far from Python's recursion limit.
MAX_NESTING = 100

# One token, after any spaces (RFC 3501 §9; the tolerances are those of the parser module):
# - a quoted string, quotes included: any byte but '"' and '\', or '\' and any byte (RFC 3501
#   allows only '\"' and '\\'; tolerating more loses nothing);
# - "(" or ")";
# - an atom: it runs to a space or parenthesis; a "[" with a "]" later on the line opens a section
#   that may hold spaces and parentheses (BODY[HEADER.FIELDS (SUBJECT)]); a "[" without one is an
#   ordinary atom character (an ATOM-CHAR, so a mailbox atom may hold one). It cannot start with
#   '"' or '{', which start strings and literals;
# - a literal header, which must end its line (the framer already found the literal);
# - "{" not followed by a literal header at the end of the line: the token b"{" (malformed);
# - '"' without its closing quote: the empty token (unterminated).
# After a marker the tokens are garbage, but reading stops at the marker. The loops are unrolled
# ("[^x]*+(?:y[^x]*+)*+") so that the regex engine runs through plain bytes without backtracking
# bookkeeping.
_TOKEN = re.compile(
    rb' *+("[^"\\]*+(?:\\.[^"\\]*+)*+"'
    rb"|[()]"
    rb"|[^ ()\"{\[][^ ()\[]*+(?:(?:\[[^\]]*\]|\[)[^ ()\[]*+)*+"
    rb"|(?:\[[^\]]*\]|\[)(?:[^ ()\[]++|\[[^\]]*\]|\[)*+"
    rb"|\{[0-9]+\+?\}\Z"
    rb"|\{"
    rb"|(?=.))",
    re.DOTALL,
)
_findall = _TOKEN.findall
# Unescaping keeps the byte after each backslash: the pieces are "a byte (after an optional
# backslash), then bytes up to the next backslash"; joined, they are the unescaped string.
_ESCAPED_PIECE = re.compile(rb"\\?(.[^\\]*+)", re.DOTALL)
_pieces = _ESCAPED_PIECE.findall

_DQUOTE, _LPAREN, _RPAREN, _LBRACE, _BACKSLASH = 0x22, 0x28, 0x29, 0x7B, 0x5C
# Stands after a literal header that has no literal (the framer did not take one).
_NO_LITERAL = None
Tokens: TypeAlias = "Iterator[bytes | None]"


def unescape(data: bytes) -> bytes:
    """Undo quoted-string escapes: ``\\x`` is ``x`` for any byte ``x``."""
    return b"".join(_pieces(data))


def tokenize(lines: list[bytes], literals: list[bytes], start: int = 0) -> list[bytes | None]:
    """Cut a framed response into tokens, each literal right after its ``{n}`` token.

    Line ``k`` continues on line ``k + 1`` only through a literal header ending line ``k``, as
    the reader moves to the next line only by reading a literal; after a header without a
    literal stands ``None``. Tokens are ``bytes``: ``b""`` and ``b"{"`` mark malformed input.

    Args:
        lines: the response's text lines; line ``k`` is followed by ``literals[k]`` if any.
        literals: the literal bytes, in order.
        start: the offset in ``lines[0]`` to start at.
    """
    tokens: list[bytes | None] = _findall(lines[0], start)
    last = tokens[-1] if tokens else b""
    if last[:1] != b"{" or len(last) == 1:  # type: ignore[index,arg-type]
        return tokens
    k = 0
    while True:
        if k >= len(literals):
            tokens.append(_NO_LITERAL)
            return tokens
        tokens.append(literals[k])
        k += 1
        line_tokens = _findall(lines[k])
        tokens += line_tokens
        last = line_tokens[-1] if line_tokens else b""
        if last[:1] != b"{" or len(last) == 1:
            return tokens


def _bad_token(token: bytes | None) -> ImapProtocolError:
    if token == b"{" or token is None:
        return ImapProtocolError("malformed literal header")
    if token == b")":
        return ImapProtocolError("unexpected ')'")
    return ImapProtocolError("unterminated quoted string")


def read_list(tokens: Tokens, depth: int) -> list[Value]:
    """Read a list whose ``(`` was the last token taken from ``tokens``, up to its ``)``.

    Args:
        tokens: an iterator over :func:`tokenize`'s tokens.
        depth: the nesting depth of this list (0 for a list that is not inside another).

    Raises:
        ImapProtocolError: the list is unterminated, nested deeper than ``MAX_NESTING``, or
            holds a malformed value.
    """
    if depth >= MAX_NESTING:
        raise ImapProtocolError(f"lists nested deeper than {MAX_NESTING}")
    items: list[Value] = []
    current = items
    stack: list[list[Value]] = []
    # How many lists may open inside this one before the limit.
    room = MAX_NESTING - depth - 1
    try:
        for token in tokens:
            first = token[0]  # type: ignore[index]  # IndexError: the empty token
            if first == _DQUOTE:
                text = token[1:-1]  # type: ignore[index]
                current.append(b"".join(_pieces(text)) if _BACKSLASH in text else text)
            elif first == _LPAREN:
                if len(stack) >= room:
                    raise ImapProtocolError(f"lists nested deeper than {MAX_NESTING}")
                inner: list[Value] = []
                current.append(inner)
                stack.append(current)
                current = inner
            elif first == _RPAREN:
                if not stack:
                    return items
                current = stack.pop()
            elif first == _LBRACE:
                current.append(_literal(token, tokens))  # type: ignore[arg-type]
            elif token == b"NIL" or (len(token) == 3 and token.upper() == b"NIL"):  # type: ignore[arg-type,union-attr]
                current.append(None)
            else:
                current.append(token.decode("latin-1"))  # type: ignore[union-attr]
    except IndexError:
        raise _bad_token(b"") from None
    raise ImapProtocolError("unterminated parenthesised list")


def _literal(header: bytes, tokens: Tokens) -> bytes:
    literal = next(tokens) if len(header) > 1 else _NO_LITERAL
    if literal is _NO_LITERAL:
        raise _bad_token(None)
    return literal


class Reader:
    """A cursor over the tokens of one framed response.

    Args:
        lines: the response's text lines; line ``k`` is followed by ``literals[k]`` if any.
        literals: the literal bytes, in order.
        start: the offset in ``lines[0]`` to start reading at.
    """

    __slots__ = ("_tokens",)

    def __init__(self, lines: list[bytes], literals: list[bytes], *, start: int = 0) -> None:
        self._tokens = iter(tokenize(lines, literals, start))

    def at_end(self) -> bool:
        """Return whether nothing but spaces is left in the response (as far as it is read)."""
        return not self._tokens.__length_hint__()  # type: ignore[attr-defined]

    def rest(self) -> list[Value]:
        """Read every remaining value.

        Raises:
            ImapProtocolError: a value is malformed.
        """
        values: list[Value] = []
        while self._tokens.__length_hint__():  # type: ignore[attr-defined]
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
        # None: no token left (the one None tokenize() makes is always taken by _literal()).
        token = next(self._tokens, None)
        if token is None:
            raise ImapProtocolError("response ends where a value was expected")
        if not token:
            raise _bad_token(token)
        first = token[0]
        if first == _DQUOTE:
            text = token[1:-1]
            return b"".join(_pieces(text)) if _BACKSLASH in text else text
        if first == _LPAREN:
            return read_list(self._tokens, depth)
        if first == _RPAREN:
            raise _bad_token(token)
        if first == _LBRACE:
            return _literal(token, self._tokens)
        if token == b"NIL" or (len(token) == 3 and token.upper() == b"NIL"):
            return None
        return token.decode("latin-1")


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
        return value if value.isascii() else decode_text(value.encode("latin-1"))
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
