"""Serialise IMAP commands to bytes, so that no argument can ever break out of its place.

Every argument is built by a constructor that validates it (:func:`atom`, :func:`astring`,
:func:`literal`, :func:`raw`, :func:`seq_set`) and :func:`encode_command` joins them into an
:class:`EncodedCommand`. :func:`astring` picks the safest form that can carry the value: an
atom when every byte is an ATOM-CHAR, a quoted string when it is printable 7-bit ASCII, and a
literal for anything else (8-bit bytes, CR, LF, NUL), so a username like ``a" b\\r\\nX LOGOUT``
travels as a literal and cannot split the command line.

How literals travel: a synchronising literal ``{n}`` must wait for the server's ``+``
continuation, so the command is cut into chunks — ``chunks[0]`` goes at once and each later
chunk (which starts with a literal's bytes) only after a ``+``. With LITERAL+ (RFC 7888) the
literal is ``{n+}`` and the command is one chunk; with LITERAL- only literals up to 4096 bytes
may be non-synchronising.

Nothing here imports asyncio, socket, ssl, threading or time.

See Also:
    RFC 3501 §4 (data formats), §9 (formal syntax); RFC 7888 (LITERAL+/LITERAL-);
    RFC 4616 (SASL PLAIN); Google's XOAUTH2 SASL mechanism.
"""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "DONE",
    "Arg",
    "ArgKind",
    "EncodedCommand",
    "astring",
    "atom",
    "encode_command",
    "literal",
    "raw",
    "sasl_plain",
    "sasl_xoauth2",
    "secret",
    "seq_set",
]

DONE = b"DONE\r\n"
"""Ends IDLE (RFC 2177); sent on its own, untagged."""

# ATOM-CHAR: any 7-bit printable character except atom-specials: ( ) { SP % * " \ ]
# (RFC 3501 §9; CTLs and SP are excluded by the printable range 0x21-0x7e).
_ATOM = re.compile(rb"[!#$&'+-\[^-z|}~]+\Z")
# What may go in a quoted string: printable 7-bit ASCII and SP ('"' and '\' get escaped).
_QUOTABLE = re.compile(rb"[\x20-\x7e]*\Z")
# raw(): printable ASCII, no CR/LF/NUL.
_RAW = re.compile(r"[\x20-\x7e]+\Z")
# A tag: ATOM-CHARs except "+" (RFC 3501 "tag").
_TAG = re.compile(r"[!#$&',-\[^-z|}~]+\Z")
_SEQ_NUMBER = r"(?:[1-9][0-9]*|\*)"
_SEQ_SET = re.compile(rf"{_SEQ_NUMBER}(?::{_SEQ_NUMBER})?(?:,{_SEQ_NUMBER}(?::{_SEQ_NUMBER})?)*\Z")
# RFC 7888 §3: LITERAL- allows non-synchronising literals of at most 4096 bytes.
_LITERAL_MINUS_MAX_BYTES = 4096
# Commands whose every argument is a credential; describe() masks them.
_SECRET_COMMANDS = frozenset({"LOGIN", "AUTHENTICATE"})


class ArgKind(enum.Enum):
    """How an argument is written on the wire."""

    ATOM = "atom"
    QUOTED = "quoted"
    LITERAL = "literal"
    RAW = "raw"


@dataclass(frozen=True, slots=True)
class Arg:
    """One validated command argument; build it with the constructors, not by hand.

    ``data`` is the value itself (for a quoted string, still unescaped). ``secret`` marks a
    credential that :meth:`EncodedCommand.describe` must never show.
    """

    kind: ArgKind
    data: bytes
    secret: bool = False


@dataclass(frozen=True, slots=True)
class EncodedCommand:
    """A command ready to send.

    ``chunks[0]`` is sent at once; each later chunk only after the server's ``+``
    continuation (it begins with the bytes of a synchronising literal). The last chunk ends
    with CRLF. ``redacted`` is true when some argument is a credential (LOGIN, AUTHENTICATE,
    or an argument built with :func:`secret`): log :meth:`describe`, never the chunks.
    """

    tag: str
    name: str
    # Hidden from repr(): the chunks may hold a password or token.
    chunks: tuple[bytes, ...] = field(repr=False)
    redacted: bool = False
    description: str = ""

    def describe(self) -> str:
        """Return a one-line text for logs, with credentials masked and literals elided."""
        return self.description or f"{self.tag} {self.name}"


def atom(s: str) -> Arg:
    """An atom such as ``INBOX`` or ``UIDNEXT``.

    Raises:
        ValueError: ``s`` is empty or holds an atom-special, space, control or non-ASCII
            character.
    """
    data = s.encode("utf-8")
    if not _ATOM.match(data):
        raise ValueError(f"not an IMAP atom: {s!r}")
    return Arg(ArgKind.ATOM, data)


def astring(s: str | bytes) -> Arg:
    """A string in its safest form: an atom, a quoted string or a literal.

    ``str`` is encoded as UTF-8 (callers encode mailbox names with :mod:`mail.utf7` first).
    An atom is used when every byte is an ATOM-CHAR; a quoted string (``"`` and ``\\``
    escaped) when every byte is printable 7-bit ASCII; a literal otherwise (8-bit bytes,
    CR, LF, NUL or other controls).
    """
    data = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    if _ATOM.match(data):
        return Arg(ArgKind.ATOM, data)
    if _QUOTABLE.match(data):
        return Arg(ArgKind.QUOTED, data)
    return Arg(ArgKind.LITERAL, data)


def literal(b: bytes) -> Arg:
    """A literal carrying any bytes (an APPEND message, a non-ASCII search string)."""
    return Arg(ArgKind.LITERAL, bytes(b))


def raw(s: str) -> Arg:
    """Pre-formed syntax sent as is: ``1:*``, ``(UID FLAGS)``, ``ALL``, ``(\\Seen)``.

    The caller is responsible for its IMAP syntax; it can still not split the line.

    Raises:
        ValueError: ``s`` is empty, or holds CR, LF, NUL, another control or non-ASCII.
    """
    if not _RAW.match(s):
        raise ValueError(f"raw argument must be printable ASCII: {s!r}")
    return Arg(ArgKind.RAW, s.encode("ascii"))


def secret(arg: Arg) -> Arg:
    """Mark ``arg`` as a credential, so that :meth:`EncodedCommand.describe` masks it."""
    return Arg(arg.kind, arg.data, secret=True)


def seq_set(uids: Iterable[int] | str) -> Arg:
    """A sequence set: ``[3, 1, 2, 7]`` gives ``1:3,7``; a string is validated and kept.

    Raises:
        ValueError: a number is below 1, the iterable is empty, or the string is not a
            sequence set (``*`` and ``n:m`` ranges are allowed).
    """
    if isinstance(uids, str):
        if not _SEQ_SET.match(uids):
            raise ValueError(f"not an IMAP sequence set: {uids!r}")
        return Arg(ArgKind.RAW, uids.encode("ascii"))
    numbers = sorted(set(uids))
    if not numbers:
        raise ValueError("empty sequence set")
    if numbers[0] < 1:
        raise ValueError(f"sequence numbers and UIDs start at 1, got {numbers[0]}")
    ranges: list[str] = []
    start = prev = numbers[0]
    for n in numbers[1:]:
        if n != prev + 1:
            ranges.append(str(start) if start == prev else f"{start}:{prev}")
            start = n
        prev = n
    ranges.append(str(start) if start == prev else f"{start}:{prev}")
    return Arg(ArgKind.RAW, ",".join(ranges).encode("ascii"))


def encode_command(
    tag: str,
    name: str,
    *args: Arg,
    literal_plus: bool = False,
    literal_minus: bool = False,
) -> EncodedCommand:
    """Serialise one command.

    Args:
        tag: the command tag, e.g. ``"A1"``.
        name: the command name, one or more atoms (``"UID FETCH"``).
        *args: arguments from the constructors in this module.
        literal_plus: the server announced LITERAL+: every literal is non-synchronising and
            the command is a single chunk.
        literal_minus: the server announced LITERAL-: literals up to 4096 bytes are
            non-synchronising, larger ones synchronising.

    Returns:
        The command, cut into chunks at synchronising literals.

    Raises:
        ValueError: the tag or a word of the name is not valid.
    """
    if not _TAG.match(tag):
        raise ValueError(f"not an IMAP tag: {tag!r}")
    words = name.split(" ")
    for word in words:
        atom(word)
    masked = _masked_positions(name, args)
    chunks: list[bytes] = []
    current = bytearray(f"{tag} {name}".encode("ascii"))
    shown = [tag, name]
    for position, arg in enumerate(args):
        current += b" "
        if arg.kind is ArgKind.LITERAL:
            size = len(arg.data)
            nonsync = literal_plus or (literal_minus and size <= _LITERAL_MINUS_MAX_BYTES)
            current += b"{%d%s}\r\n" % (size, b"+" if nonsync else b"")
            if not nonsync:
                chunks.append(bytes(current))
                current = bytearray()
            current += arg.data
            shown_value = f"{{{size}}}"
        elif arg.kind is ArgKind.QUOTED:
            quoted = b'"' + arg.data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
            current += quoted
            shown_value = quoted.decode("ascii")
        else:
            current += arg.data
            shown_value = arg.data.decode("ascii")
        shown.append("***" if position in masked else shown_value)
    current += b"\r\n"
    chunks.append(bytes(current))
    return EncodedCommand(tag, name, tuple(chunks), bool(masked), " ".join(shown))


def _masked_positions(name: str, args: tuple[Arg, ...]) -> set[int]:
    """Which arguments describe() must hide: secret() ones, else LOGIN/AUTHENTICATE's."""
    masked = {i for i, arg in enumerate(args) if arg.secret}
    if not masked and name.upper() in _SECRET_COMMANDS:
        # LOGIN user password: both; AUTHENTICATE mechanism [initial-response]: keep the
        # mechanism name, which helps debugging and is no secret.
        first = 1 if name.upper() == "AUTHENTICATE" else 0
        masked = set(range(first, len(args)))
    return masked


def sasl_plain(username: str, password: str) -> bytes:
    """The base64 SASL PLAIN initial response ``\\0username\\0password`` (RFC 4616).

    Raises:
        ValueError: the username or password contains NUL.
    """
    user, pw = username.encode("utf-8"), password.encode("utf-8")
    if b"\0" in user or b"\0" in pw:
        raise ValueError("SASL PLAIN credentials must not contain NUL")
    return base64.b64encode(b"\0" + user + b"\0" + pw)


def sasl_xoauth2(username: str, access_token: str) -> bytes:
    """The base64 XOAUTH2 initial response ``user=U\\x01auth=Bearer T\\x01\\x01``.

    Raises:
        ValueError: the username or token contains ``\\x01`` (the field separator).
    """
    user, token = username.encode("utf-8"), access_token.encode("utf-8")
    if b"\x01" in user or b"\x01" in token:
        raise ValueError("XOAUTH2 credentials must not contain \\x01")
    return base64.b64encode(b"user=" + user + b"\x01auth=Bearer " + token + b"\x01\x01")
