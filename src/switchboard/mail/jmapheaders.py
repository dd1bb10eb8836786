"""RFC 8621 header properties (§4.1.2, §4.1.3): ``header:Name:asForm:all`` and their values.

Pure. :func:`header_fields` keeps each field's raw value (folding line breaks included, as the
Raw form wants); :func:`render_header` gives a property's value in its form — Raw, Text,
Addresses, GroupedAddresses (groups are flattened by the address parser, so one group with a
``null`` name), MessageIds, Date, URLs — for the last instance of the field, or every one with
``:all``. Decoding is :mod:`switchboard.mail.headers`' and :mod:`~switchboard.mail.addresses`'.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from switchboard.mail.addresses import email_of, parse_addresses
from switchboard.mail.charsets import decode_lossless
from switchboard.mail.dates import parse_header_date
from switchboard.mail.headers import decoded_text

__all__ = [
    "HeaderProperty",
    "format_date",
    "format_utc_date",
    "header_fields",
    "header_list",
    "parse_header_property",
    "render_header",
]

_FORMS: Final = frozenset({"Raw", "Text", "Addresses", "GroupedAddresses", "MessageIds", "Date",
                           "URLs"})  # fmt: skip
_FIELD_NAME: Final = re.compile(r"[\x21-\x39\x3b-\x7e]+")
_ANGLED: Final = re.compile(rb"<([^<>]*)>")


@dataclass(frozen=True, slots=True)
class HeaderProperty:
    """A ``header:{name}[:as{Form}][:all]`` property (RFC 8621 §4.1.3)."""

    name: str  # lower-cased field name
    form: str = "Raw"
    all: bool = False


def parse_header_property(prop: str) -> HeaderProperty | None:
    """Read a ``header:…`` property name; ``None`` if it is not one or is malformed."""
    if not prop.startswith("header:"):
        return None
    pieces = prop[7:].split(":")
    if not pieces or _FIELD_NAME.fullmatch(pieces[0]) is None:
        return None
    name, rest = pieces[0].lower(), pieces[1:]
    every = False
    if rest and rest[-1] == "all":
        every, rest = True, rest[:-1]
    form = "Raw"
    if rest:
        if len(rest) != 1 or not rest[0].startswith("as") or rest[0][2:] not in _FORMS:
            return None
        form = rest[0][2:]
    return HeaderProperty(name, form, every)


def format_utc_date(moment: datetime) -> str:
    """A UTCDate: ``2024-01-02T03:04:05Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_date(moment: datetime) -> str:
    """A Date with the sender's offset: ``2024-01-02T03:04:05+01:00`` (``Z`` for UTC)."""
    text = moment.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# -- headers ------------------------------------------------------------------------------


def header_fields(block: bytes | None) -> list[tuple[bytes, bytes]]:
    """The fields of a header block, in order, each value raw: folding line breaks kept."""
    if not block:
        return []
    fields: list[list[bytes]] = []
    for line in re.split(rb"\r\n|\n", block):
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1][1] += b"\r\n" + line
            continue
        if not line:
            break
        name, colon, value = line.partition(b":")
        if colon and name and b" " not in name.rstrip():
            fields.append([name.rstrip(), value])
    return [(name, value) for name, value in fields]


def _unfold(value: bytes) -> bytes:
    return value.replace(b"\r\n", b"").replace(b"\n", b"")


def _message_ids(value: bytes) -> list[str] | None:
    ids = [decode_lossless(found).strip() for found in _ANGLED.findall(_unfold(value))]
    return [i for i in ids if i] or None


def _addresses(value: bytes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for address in parse_addresses(_unfold(value)):
        name = decoded_text(address.name) if address.name is not None else None
        out.append({"name": name or None, "email": email_of(address)})
    return out


def _form(value: bytes, form: str) -> Any:
    if form == "Raw":
        return decode_lossless(value)
    if form == "Text":
        return decoded_text(_unfold(value))
    if form == "Addresses":
        return _addresses(value)
    if form == "GroupedAddresses":
        return [{"name": None, "addresses": _addresses(value)}]
    if form == "MessageIds":
        return _message_ids(value)
    if form == "Date":
        moment = parse_header_date(_unfold(value))
        return format_date(moment) if moment is not None else None
    # URLs (RFC 2369 lists): each <...>
    urls = [decode_lossless(u).strip() for u in _ANGLED.findall(_unfold(value))]
    return urls or None


def render_header(fields: Sequence[tuple[bytes, bytes]], prop: HeaderProperty) -> Any:
    """The value of a header property: the last instance, or every one with ``:all``."""
    values = [value for name, value in fields if name.decode("latin-1").lower() == prop.name]
    if prop.all:
        return [_form(value, prop.form) for value in values]
    return _form(values[-1], prop.form) if values else None


def header_list(fields: Sequence[tuple[bytes, bytes]]) -> list[dict[str, str]]:
    """The ``headers`` property: every field, name and Raw value, in order."""
    return [{"name": decode_lossless(n), "value": decode_lossless(v)} for n, v in fields]
