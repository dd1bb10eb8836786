"""Interpret the values of a FETCH response: items, ENVELOPE and BODYSTRUCTURE.

Private to :mod:`switchboard.imap.parser`, which hands over the parenthesised item list as
generic values (see :mod:`switchboard.imap._values`). Canonical FETCH lines mostly never get
here: :mod:`switchboard.imap._fetch_scan` reads them straight from the line and hands over only
the items it does not read itself (BODYSTRUCTURE, unusual spellings).

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

from switchboard.imap._build import make_address, make_body, make_envelope, make_fetch
from switchboard.imap._values import Value, decode_text, name_of, to_int, to_nstring
from switchboard.imap.errors import ImapProtocolError
from switchboard.imap.responses import Address, BodyPart, Envelope, Fetch

__all__ = [
    "apply_items",
    "build_fetch",
    "new_fields",
    "parse_body",
    "parse_envelope",
    "parse_fetch",
]

_RFC822_SECTIONS = frozenset({"RFC822", "RFC822.HEADER", "RFC822.TEXT"})
_MESSAGE_SUBTYPES = frozenset({"rfc822", "global"})

# The item values read so far are kept in a list, by index: uid, flags, size, internaldate,
# envelope, body, modseq, sections (the order of make_fetch's arguments after seq). A list, not an
# object: the fast path fills it with plain stores.
UID, FLAGS, SIZE, INTERNALDATE, ENVELOPE, BODY, MODSEQ, SECTIONS = range(8)


def new_fields() -> list[object]:
    """Return empty :data:`FetchFields`: every item absent, no sections."""
    return [None, None, None, None, None, None, None, {}]


def build_fetch(seq: int, fields: list[object]) -> Fetch:
    """Return the :class:`Fetch` for ``seq`` holding ``fields``."""
    return make_fetch(seq, *fields)  # type: ignore[arg-type]


def parse_fetch(seq: int, items: Value) -> Fetch:
    """Build a :class:`Fetch` from ``seq`` and the parenthesised item list.

    Raises:
        ImapProtocolError: the items are not a list of name/value pairs, or a known item
            is malformed.
    """
    if not isinstance(items, list) or len(items) % 2:
        raise ImapProtocolError("FETCH without a list of name/value pairs")
    fields = new_fields()
    apply_items(fields, items)
    return build_fetch(seq, fields)


# Item names as servers spell them, to skip upper() and replace() for them.
_CANONICAL = {
    name: name
    for name in (
        "UID",
        "FLAGS",
        "RFC822.SIZE",
        "INTERNALDATE",
        "MODSEQ",
        "ENVELOPE",
        "BODYSTRUCTURE",
        "BODY",
        "BODY[]",
        "BODY[HEADER]",
        "BODY[TEXT]",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.TEXT",
    )
}


def apply_items(fields: list[object], items: list[Value]) -> None:
    """Interpret the name/value pairs ``items`` (an even number) into ``fields``; later wins.

    Raises:
        ImapProtocolError: an item name is not an atom, or a known item is malformed.
    """
    for index in range(0, len(items), 2):
        key = items[index]
        value = items[index + 1]
        if not isinstance(key, str):
            raise ImapProtocolError("FETCH item name is not an atom")
        name = _CANONICAL.get(key) or key.upper().replace(".PEEK", "")
        if name == "UID":
            fields[UID] = to_int(value)
        elif name == "FLAGS":
            if not isinstance(value, list):
                raise ImapProtocolError("FETCH FLAGS is not a list")
            fields[FLAGS] = tuple([name_of(f) for f in value])
        elif name == "RFC822.SIZE":
            fields[SIZE] = to_int(value)
        elif name == "INTERNALDATE":
            date = to_nstring(value)
            fields[INTERNALDATE] = None if date is None else decode_text(date)
        elif name == "MODSEQ":
            if not isinstance(value, list) or len(value) != 1:
                raise ImapProtocolError("FETCH MODSEQ is not a one-number list")
            fields[MODSEQ] = to_int(value[0])
        elif name == "ENVELOPE":
            fields[ENVELOPE] = parse_envelope(value)
        elif name in ("BODYSTRUCTURE", "BODY"):
            fields[BODY] = parse_body(value)
        elif "[" in name or name in _RFC822_SECTIONS:
            fields[SECTIONS][name] = to_nstring(value)  # type: ignore[index]
        # Anything else is an item we did not ask for; its value was read, so skip it.


def _nstring(value: Value) -> bytes | None:
    # to_nstring without the call for the usual kinds.
    if value is None or value.__class__ is bytes:
        return value
    return to_nstring(value)


def parse_envelope(value: Value) -> Envelope:
    """Build an :class:`Envelope` from its 10-item list.

    Raises:
        ImapProtocolError: the value is not a list of at least 10 items, or an address is
            malformed.
    """
    if not isinstance(value, list) or len(value) < 10:
        raise ImapProtocolError("ENVELOPE is not a list of 10 items")
    return make_envelope(
        _nstring(value[0]),
        _nstring(value[1]),
        _addresses(value[2]),
        _addresses(value[3]),
        _addresses(value[4]),
        _addresses(value[5]),
        _addresses(value[6]),
        _addresses(value[7]),
        _nstring(value[8]),
        _nstring(value[9]),
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
        name, route, mailbox, host = item
        addresses.append(
            make_address(_nstring(name), _nstring(route), _nstring(mailbox), _nstring(host))
        )
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
    count = len(value)
    maintype = _lower(value[0], "text")
    subtype = _lower(value[1] if count > 1 else None, "plain")
    if count < 7:
        if maintype == "multipart":
            params = _params(value[2] if count > 2 else None)
            return make_body(
                maintype, subtype, params, (), *_NO_FIELDS
            )
        raise ImapProtocolError("single-part body with fewer than 7 fields")
    encoding = _nstring(value[5])
    params = _params(value[2])
    content_id = _nstring(value[3])
    description = _nstring(value[4])
    encoding_name = None if encoding is None else decode_text(encoding).upper()
    size = None if value[6] is None else to_int(value[6])
    rest = 7
    lines = envelope = body = None
    if maintype == "text" and count > 7:
        lines = None if value[7] is None else to_int(value[7])
        rest = 8
    elif (
        maintype == "message"
        and subtype in _MESSAGE_SUBTYPES
        and count >= 10
        and isinstance(value[7], list)
        and isinstance(value[8], list)
    ):
        envelope = parse_envelope(value[7])
        body = parse_body(value[8])
        lines = None if value[9] is None else to_int(value[9])
        rest = 10
    return make_body(
        maintype,
        subtype,
        params,
        (),
        content_id,
        description,
        encoding_name,
        size,
        lines,
        envelope,
        body,
        _nstring(value[rest]) if count > rest else None,
        _disposition(value[rest + 1]) if count > rest + 1 else None,
        _language(value[rest + 2]) if count > rest + 2 else None,
        _nstring(value[rest + 3]) if count > rest + 3 else None,
    )


# make_body's arguments after parts, for a part that has none of them.
_NO_FIELDS = (None,) * 11


def _multipart(value: list[Value]) -> BodyPart:
    index = 0
    count = len(value)
    parts = []
    while index < count and isinstance(value[index], list):
        parts.append(parse_body(value[index]))
        index += 1
    subtype = _lower(value[index], "mixed") if index < count else "mixed"
    ext = index + 1  # the extension data: params, disposition, language, location
    return make_body(
        "multipart",
        subtype,
        _params(value[ext]) if count > ext else {},
        tuple(parts),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        _disposition(value[ext + 1]) if count > ext + 1 else None,
        _language(value[ext + 2]) if count > ext + 2 else None,
        _nstring(value[ext + 3]) if count > ext + 3 else None,
    )


def _lower(value: Value, default: str) -> str:
    text = _nstring(value)
    return default if text is None else decode_text(text).lower()


def _params(value: Value) -> dict[str, bytes]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise ImapProtocolError("body parameters are neither NIL nor a list")
    params = {}
    for index in range(0, len(value) - 1, 2):
        name = _nstring(value[index])
        if name is None:
            continue
        params[decode_text(name).lower()] = _nstring(value[index + 1]) or b""
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
    return tuple([name_of(v) for v in value if v is not None])
