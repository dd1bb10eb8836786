"""Interpret the values of a FETCH response: items, ENVELOPE and BODYSTRUCTURE.

Private to :mod:`switchboard.imap.parser`, which hands over the parenthesised item list as
generic values (see :mod:`switchboard.imap._values`).

Tolerances, each for a server quirk seen in the wild or allowed for:

- NIL (or an atom) where a string is expected, in every envelope and body field; a NIL body
  type or subtype becomes ``text``/``plain`` (RFC 2045 §5.2's default), a NIL size stays None;
- an empty address list ``()`` is read as NIL (the contract never has empty tuples);
- body parameters as NIL, as ``()``, or with an odd trailing name (dropped);
- a disposition sent as a bare string instead of ``(type params)``;
- a language sent as one string or a list;
- ``message/rfc822`` without its envelope/body/lines (some Exchange versions): read as basic;
- a ``multipart/*`` sent as a bare single part without children: a multipart with no parts;
- a multipart whose subtype is missing: ``mixed`` (RFC 2046 §5.1.3's default);
- spaces between a multipart's children (Exchange, Stalwart; the reader skips them);
- fewer extension fields than the RFC allows, or more (ignored);
- unknown FETCH items (``X-GM-MSGID``, ``PREVIEW``…) are read and ignored; ``BINARY[…]`` and
  ``RFC822*`` go to ``sections`` like ``BODY[…]``.

See Also:
    RFC 3501 §7.4.2 (FETCH response), §9 (``body``, ``envelope`` grammar).
"""

from __future__ import annotations

from switchboard.imap.errors import ImapProtocolError
from switchboard.imap.responses import Address, BodyPart, Envelope, Fetch

from ._values import Value, decode_text, name_of, to_int, to_nstring

__all__ = ["parse_body", "parse_envelope", "parse_fetch"]

_RFC822_SECTIONS = frozenset({"RFC822", "RFC822.HEADER", "RFC822.TEXT"})


def parse_fetch(seq: int, items: Value) -> Fetch:
    """Build a :class:`Fetch` from ``seq`` and the parenthesised item list.

    Raises:
        ImapProtocolError: the items are not a list of name/value pairs, or a known item
            is malformed.
    """
    if not isinstance(items, list) or len(items) % 2:
        raise ImapProtocolError("FETCH without a list of name/value pairs")
    uid = size = modseq = None
    flags: tuple[str, ...] | None = None
    internaldate: str | None = None
    envelope: Envelope | None = None
    bodystructure: BodyPart | None = None
    sections: dict[str, bytes | None] = {}
    for key, value in zip(items[::2], items[1::2], strict=True):
        if not isinstance(key, str):
            raise ImapProtocolError("FETCH item name is not an atom")
        name = key.upper().replace(".PEEK", "")
        if name == "UID":
            uid = to_int(value)
        elif name == "FLAGS":
            if not isinstance(value, list):
                raise ImapProtocolError("FETCH FLAGS is not a list")
            flags = tuple(name_of(f) for f in value)
        elif name == "RFC822.SIZE":
            size = to_int(value)
        elif name == "INTERNALDATE":
            date = to_nstring(value)
            internaldate = None if date is None else decode_text(date)
        elif name == "MODSEQ":
            if not isinstance(value, list) or len(value) != 1:
                raise ImapProtocolError("FETCH MODSEQ is not a one-number list")
            modseq = to_int(value[0])
        elif name == "ENVELOPE":
            envelope = parse_envelope(value)
        elif name in ("BODYSTRUCTURE", "BODY"):
            bodystructure = parse_body(value)
        elif "[" in name or name in _RFC822_SECTIONS:
            sections[name] = to_nstring(value)
        # Anything else is an item we did not ask for; its value was read, so skip it.
    return Fetch(
        seq,
        uid=uid,
        flags=flags,
        size=size,
        internaldate=internaldate,
        envelope=envelope,
        bodystructure=bodystructure,
        modseq=modseq,
        sections=sections,
    )


def parse_envelope(value: Value) -> Envelope:
    """Build an :class:`Envelope` from its 10-item list.

    Raises:
        ImapProtocolError: the value is not a list of at least 10 items, or an address is
            malformed.
    """
    if not isinstance(value, list) or len(value) < 10:
        raise ImapProtocolError("ENVELOPE is not a list of 10 items")
    return Envelope(
        date=to_nstring(value[0]),
        subject=to_nstring(value[1]),
        from_=_addresses(value[2]),
        sender=_addresses(value[3]),
        reply_to=_addresses(value[4]),
        to=_addresses(value[5]),
        cc=_addresses(value[6]),
        bcc=_addresses(value[7]),
        in_reply_to=to_nstring(value[8]),
        message_id=to_nstring(value[9]),
    )


def _addresses(value: Value) -> tuple[Address, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ImapProtocolError("envelope address list is neither NIL nor a list")
    addresses = []
    for item in value:
        if not isinstance(item, list) or len(item) != 4:
            raise ImapProtocolError("envelope address is not a list of 4 items")
        addresses.append(Address(*(to_nstring(field) for field in item)))
    return tuple(addresses) or None


def parse_body(value: Value) -> BodyPart:
    """Build a :class:`BodyPart` tree from a BODYSTRUCTURE or BODY value.

    Raises:
        ImapProtocolError: the value is not a body list or a field has the wrong kind.
    """
    if not isinstance(value, list) or not value:
        raise ImapProtocolError("body structure is not a non-empty list")
    if isinstance(value[0], list):
        return _multipart(value)
    maintype = _lower(value[0], "text")
    subtype = _lower(value[1] if len(value) > 1 else None, "plain")
    if len(value) < 7:
        if maintype == "multipart":
            return BodyPart(maintype, subtype, _params(value[2] if len(value) > 2 else None))
        raise ImapProtocolError("single-part body with fewer than 7 fields")
    encoding = to_nstring(value[5])
    fields = {
        "params": _params(value[2]),
        "content_id": to_nstring(value[3]),
        "description": to_nstring(value[4]),
        "encoding": None if encoding is None else decode_text(encoding).upper(),
        "size": _optional_int(value[6]),
    }
    rest = value[7:]
    lines = envelope = body = None
    if maintype == "text" and rest:
        lines = _optional_int(rest[0])
        rest = rest[1:]
    elif (
        (maintype, subtype) in (("message", "rfc822"), ("message", "global"))
        and len(rest) >= 3
        and isinstance(rest[0], list)
        and isinstance(rest[1], list)
    ):
        envelope = parse_envelope(rest[0])
        body = parse_body(rest[1])
        lines = _optional_int(rest[2])
        rest = rest[3:]
    return BodyPart(
        maintype,
        subtype,
        lines=lines,
        envelope=envelope,
        body=body,
        md5=to_nstring(rest[0]) if rest else None,
        disposition=_disposition(rest[1]) if len(rest) > 1 else None,
        language=_language(rest[2]) if len(rest) > 2 else None,
        location=to_nstring(rest[3]) if len(rest) > 3 else None,
        **fields,  # type: ignore[arg-type]
    )


def _multipart(value: list[Value]) -> BodyPart:
    index = 0
    parts = []
    while index < len(value) and isinstance(value[index], list):
        parts.append(parse_body(value[index]))
        index += 1
    subtype = _lower(value[index], "mixed") if index < len(value) else "mixed"
    ext = value[index + 1 :]
    return BodyPart(
        "multipart",
        subtype,
        params=_params(ext[0]) if ext else {},
        parts=tuple(parts),
        disposition=_disposition(ext[1]) if len(ext) > 1 else None,
        language=_language(ext[2]) if len(ext) > 2 else None,
        location=to_nstring(ext[3]) if len(ext) > 3 else None,
    )


def _lower(value: Value, default: str) -> str:
    text = to_nstring(value)
    return default if text is None else decode_text(text).lower()


def _optional_int(value: Value) -> int | None:
    return None if value is None else to_int(value)


def _params(value: Value) -> dict[str, bytes]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise ImapProtocolError("body parameters are neither NIL nor a list")
    params = {}
    for key, item in zip(value[::2], value[1::2], strict=False):
        name = to_nstring(key)
        if name is None:
            continue
        params[decode_text(name).lower()] = to_nstring(item) or b""
    return params


def _disposition(value: Value) -> tuple[str, dict[str, bytes]] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        return (_lower(value, ""), {})
    if not value:
        return None
    return (_lower(value[0], ""), _params(value[1]) if len(value) > 1 else {})


def _language(value: Value) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        return (name_of(value),)
    return tuple(name_of(v) for v in value if v is not None)
