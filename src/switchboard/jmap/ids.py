"""JMAP ids for accounts, mailboxes, emails, threads and blobs: deterministic and reversible.

How it works: a JMAP Id is 1–255 characters of ``[A-Za-z0-9_-]`` (RFC 8620 §1.2). Each of ours
is one lowercase *kind* letter and a *body*::

    m body            a mailbox               e body            an email
    t - THREADID      a thread (RFC 8474)     s body            the thread of the one email
                                                                "e body" (no THREADID)
    b body            the raw message of "e body"
    p SECTION _ body  a MIME part of "e body" (IMAP section "1.2" written "1-2")
    a ...             an account: base32 of the username, or "_" + digest

    body = "-" OBJECTID          the server's RFC 8474 MAILBOXID / EMAILID, verbatim
         | base32(location)      varint UIDVALIDITY, [varint UID,] mailbox name (UTF-8)
         | "_" base32(digest)    varint UIDVALIDITY, [varint UID,] SHA-256(name)[:15]

(varint: unsigned LEB128, 1–5 octets for a 32-bit number, so ``INBOX`` with UIDVALIDITY 7
is ``m`` + 10 characters.)

``base32`` is RFC 4648 base32 in lowercase without padding: case-insensitive systems cannot
fold two ids together, and ids never hold the sequence ``NIL`` — the two things §1.2 asks
servers to avoid besides leading dashes and digits, which the kind letter rules out.

Which body an id gets, and what changes it:

- **OBJECTID** when the IMAP server gives one (Dovecot, Cyrus) that fits (at most 253
  characters of the Id alphabet, as RFC 8474 promises). Stable across renames and moves.
- **location** otherwise: the id changes when the mailbox is renamed, its UIDVALIDITY
  changes, or the message moves (IMAP gives it a new UID).
- **digest** when the location would leave no room for a part blob id's section within 255
  characters (bodies over :data:`LOCATION_MAX` characters): mailbox names over about 128 to
  137 octets of UTF-8, depending on how large the numbers are. The digest cannot be decoded
  back to the name: the server resolves it against the mailbox names it knows from LIST
  (``Digest.of(name)`` for each), so no extra state is stored.

Every parser accepts exactly what the builders produce (the canonical form) and raises
:class:`UnknownIdError` on anything else; a caller answers ``notFound`` for those ids.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Final

from switchboard.jmap.datatypes import MAX_ID_LENGTH, is_valid_id

__all__ = [
    "DIGEST_BYTES",
    "LOCATION_MAX",
    "PART_ROOM",
    "Digest",
    "EmailLocation",
    "MailboxLocation",
    "ObjectId",
    "PartBlob",
    "SingleEmailThread",
    "UnknownIdError",
    "account_id",
    "blob_id",
    "email_id",
    "mailbox_id",
    "parse_account_id",
    "parse_blob_id",
    "parse_email_id",
    "parse_mailbox_id",
    "parse_thread_id",
    "part_blob_id",
    "thread_id",
]

DIGEST_BYTES: Final = 15
"""Octets of SHA-256 kept in a digest body (120 bits: collisions are not a practical worry)."""

_MAX_U32: Final = 2**32 - 1
_BASE32: Final = re.compile(r"[a-z2-7]+", re.ASCII)
_SECTION: Final = re.compile(r"[1-9][0-9]{0,8}(?:\.[1-9][0-9]{0,8})*", re.ASCII)
_OBJECTID_MAX: Final = MAX_ID_LENGTH - 2  # room for the kind letter and "-"

PART_ROOM: Final = 32
"""Characters a location body leaves free for a part blob id's ``p SECTION _`` prefix."""

LOCATION_MAX: Final = MAX_ID_LENGTH - 1 - PART_ROOM
"""The longest location body; a longer one is replaced by its digest form."""


class UnknownIdError(ValueError):
    """The string is not an id this module built (malformed, wrong kind, not canonical)."""


@dataclass(frozen=True, slots=True)
class Digest:
    """The first :data:`DIGEST_BYTES` octets of SHA-256 of a name too long to put in an id."""

    value: bytes

    @classmethod
    def of(cls, name: str) -> Digest:
        """The digest of ``name`` (UTF-8); build a ``{Digest.of(name): name}`` lookup from it.

        Raises:
            ValueError: ``name`` cannot be encoded as UTF-8 (a lone surrogate).
        """
        return cls(hashlib.sha256(name.encode("utf-8")).digest()[:DIGEST_BYTES])


@dataclass(frozen=True, slots=True)
class ObjectId:
    """An RFC 8474 OBJECTID (MAILBOXID, EMAILID or THREADID) carried verbatim in an id."""

    value: str


@dataclass(frozen=True, slots=True)
class MailboxLocation:
    """A mailbox by its name (or the name's digest) and UIDVALIDITY."""

    mailbox: str | Digest
    uidvalidity: int


@dataclass(frozen=True, slots=True)
class EmailLocation:
    """A message by its mailbox name (or digest), UIDVALIDITY and UID."""

    mailbox: str | Digest
    uidvalidity: int
    uid: int


@dataclass(frozen=True, slots=True)
class SingleEmailThread:
    """A thread holding one email only (the server gives no THREADID): that email's id."""

    email_id: str


@dataclass(frozen=True, slots=True)
class PartBlob:
    """A blob: the raw message of ``email_id``, or one MIME part of it (``section``)."""

    email_id: str
    section: str | None = None


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    if _BASE32.fullmatch(text) is None:
        raise UnknownIdError("not base32")
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        data = base64.b32decode(padded)
    except ValueError:  # binascii.Error: a length no encoding produces
        raise UnknownIdError("not base32") from None
    if _b32(data) != text:  # non-zero trailing bits: not what we would have written
        raise UnknownIdError("not canonical base32")
    return data


def _pack(numbers: tuple[int, ...]) -> bytes:
    """Unsigned LEB128, one number after the other."""
    out = bytearray()
    for number in numbers:
        while True:
            low, number = number & 0x7F, number >> 7
            out.append(low | 0x80 if number else low)
            if not number:
                break
    return bytes(out)


def _unpack(data: bytes, count: int) -> tuple[tuple[int, ...], bytes]:
    """Read ``count`` varints from ``data``; return them and the rest.

    Raises:
        UnknownIdError: truncated, over 32 bits, or not minimally encoded.
    """
    numbers: list[int] = []
    index = 0
    for _ in range(count):
        value = shift = 0
        while True:
            if index >= len(data) or shift > 28:
                raise UnknownIdError("bad varint")
            byte = data[index]
            index += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        numbers.append(value)
    if _pack(tuple(numbers)) != data[:index] or any(n > _MAX_U32 for n in numbers):
        raise UnknownIdError("non-canonical varint")
    return tuple(numbers), data[index:]


def _check_number(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_U32:
        raise ValueError(f"{name} must be in 1..{_MAX_U32}, not {value!r}")


def _name_bytes(name: str) -> bytes:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a mailbox name must be a non-empty string, not {name!r}")
    return name.encode("utf-8")  # raises UnicodeEncodeError (a ValueError) on lone surrogates


def _fits_objectid(objectid: str | None) -> bool:
    return objectid is not None and is_valid_id(objectid) and len(objectid) <= _OBJECTID_MAX


def _location_body(numbers: tuple[int, ...], name: str) -> str:
    head = _pack(numbers)
    body = _b32(head + _name_bytes(name))
    if len(body) <= LOCATION_MAX:
        return body
    return "_" + _b32(head + Digest.of(name).value)


def _parse_location(body: str, count: int) -> tuple[tuple[int, ...], str | Digest]:
    digest = body.startswith("_")
    if not digest and len(body) > LOCATION_MAX:
        raise UnknownIdError("a location this long is always written as a digest")
    numbers, rest = _unpack(_unb32(body[1:] if digest else body), count)
    if 0 in numbers:
        raise UnknownIdError("UIDVALIDITY and UID are never 0")
    if not rest or (digest and len(rest) != DIGEST_BYTES):
        raise UnknownIdError("wrong length")
    if digest:
        return numbers, Digest(rest)
    try:
        name = rest.decode("utf-8")
    except UnicodeDecodeError:
        raise UnknownIdError("mailbox name is not UTF-8") from None
    # Canonical base32 and varints, and a body short enough to be an id, mean the builder
    # writes exactly this body for (numbers, name): no re-encoding check is needed.
    return numbers, name


def _split(value: str, kinds: str) -> tuple[str, str]:
    if not isinstance(value, str) or not is_valid_id(value) or value[0] not in kinds:
        raise UnknownIdError(f"{str(value)[:60]!r} is not a {kinds!r} id")
    return value[0], value[1:]


def _object_id(body: str) -> ObjectId:
    if len(body) < 2:
        raise UnknownIdError("an OBJECTID is never empty")
    return ObjectId(body[1:])


def mailbox_id(name: str, uidvalidity: int, objectid: str | None = None) -> str:
    """The JMAP id of a mailbox: ``"m-" + MAILBOXID`` when given and fitting, else its location.

    Raises:
        ValueError: ``name`` is empty or not encodable, or ``uidvalidity`` is out of range.
    """
    _check_number("UIDVALIDITY", uidvalidity)
    _name_bytes(name)
    if _fits_objectid(objectid):
        return f"m-{objectid}"
    return "m" + _location_body((uidvalidity,), name)


def email_id(name: str, uidvalidity: int, uid: int, objectid: str | None = None) -> str:
    """The JMAP id of a message: ``"e-" + EMAILID`` when given and fitting, else its location.

    Raises:
        ValueError: ``name`` is empty or not encodable, or a number is out of range.
    """
    _check_number("UIDVALIDITY", uidvalidity)
    _check_number("UID", uid)
    _name_bytes(name)
    if _fits_objectid(objectid):
        return f"e-{objectid}"
    return "e" + _location_body((uidvalidity, uid), name)


def thread_id(email: str, threadid: str | None = None) -> str:
    """The JMAP threadId of the email ``email``.

    ``"t-" + THREADID`` when the server gives one that fits; otherwise the email is alone in
    its thread, ``"s" + body`` (RFC 8621 requires every Email to have a thread).

    Raises:
        UnknownIdError: ``email`` is not an email id.
    """
    _, body = _split(email, "e")
    if _fits_objectid(threadid):
        return f"t-{threadid}"
    return "s" + body


def blob_id(email: str) -> str:
    """The blobId of the raw message of ``email`` (its ``blobId`` property).

    Raises:
        UnknownIdError: ``email`` is not an email id.
    """
    _, body = _split(email, "e")
    return "b" + body


def part_blob_id(email: str, section: str) -> str:
    """The blobId of one MIME part of ``email``, named by its IMAP section (``"1.2"``).

    Raises:
        UnknownIdError: ``email`` is not an email id.
        ValueError: ``section`` is not a dotted list of part numbers, or the id would be
            longer than 255 characters (only with sections of over 30 characters, or with
            OBJECTIDs of over about 220 characters).
    """
    _, body = _split(email, "e")
    if _SECTION.fullmatch(section) is None:
        raise ValueError(f"{section[:60]!r} is not an IMAP part section")
    result = f"p{section.replace('.', '-')}_{body}"
    if len(result) > MAX_ID_LENGTH:
        raise ValueError("the part blob id would be longer than 255 characters")
    return result


def account_id(username: str) -> str:
    """The JMAP accountId of a Switchboard account (its IMAP username).

    Raises:
        ValueError: ``username`` is empty or not encodable.
    """
    raw = _name_bytes(username)
    body = _b32(raw)
    if len(body) < MAX_ID_LENGTH:
        return "a" + body
    return "a_" + _b32(Digest.of(username).value)


def parse_mailbox_id(value: str) -> MailboxLocation | ObjectId:
    """Decode a mailbox id.

    Raises:
        UnknownIdError: ``value`` is not a mailbox id this module would build.
    """
    _, body = _split(value, "m")
    if body.startswith("-"):
        return _object_id(body)
    numbers, name = _parse_location(body, 1)
    return MailboxLocation(name, numbers[0])


def parse_email_id(value: str) -> EmailLocation | ObjectId:
    """Decode an email id.

    Raises:
        UnknownIdError: ``value`` is not an email id this module would build.
    """
    _, body = _split(value, "e")
    if body.startswith("-"):
        return _object_id(body)
    numbers, name = _parse_location(body, 2)
    return EmailLocation(name, numbers[0], numbers[1])


def parse_thread_id(value: str) -> ObjectId | SingleEmailThread:
    """Decode a thread id: a THREADID, or the one email of a single-email thread.

    Raises:
        UnknownIdError: ``value`` is not a thread id this module would build.
    """
    kind, body = _split(value, "ts")
    if kind == "t":
        if not body.startswith("-"):
            raise UnknownIdError("a t-id carries a THREADID")
        return _object_id(body)
    email = "e" + body
    parse_email_id(email)
    return SingleEmailThread(email)


def parse_blob_id(value: str) -> PartBlob:
    """Decode a blob id into its email id and, for a part, the IMAP section.

    Raises:
        UnknownIdError: ``value`` is not a blob id this module would build.
    """
    kind, body = _split(value, "bp")
    section: str | None = None
    if kind == "p":
        section, separator, body = body.partition("_")
        if not separator:
            raise UnknownIdError("a part blob id has a section")
        section = section.replace("-", ".")
        if _SECTION.fullmatch(section) is None:
            raise UnknownIdError("bad part section")
    email = "e" + body
    parse_email_id(email)
    return PartBlob(email, section)


def parse_account_id(value: str) -> str | Digest:
    """Decode an account id into the username (or, for a very long one, its digest).

    Raises:
        UnknownIdError: ``value`` is not an account id this module would build.
    """
    _, body = _split(value, "a")
    if body.startswith("_"):
        data = _unb32(body[1:])
        if len(data) != DIGEST_BYTES:
            raise UnknownIdError("wrong digest length")
        return Digest(data)
    try:
        # Canonical base32 of a body short enough to be an id: account_id() writes this id.
        return _unb32(body).decode("utf-8")
    except UnicodeDecodeError:
        raise UnknownIdError("username is not UTF-8") from None
