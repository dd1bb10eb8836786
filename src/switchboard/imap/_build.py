"""Build the FETCH result dataclasses in a fraction of their ``__init__``'s time.

Private to the parser modules. The dataclasses of :mod:`switchboard.imap.responses` are frozen,
so their generated ``__init__`` sets each field with ``object.__setattr__(self, name, value)``:
a global lookup, a method lookup and a name lookup per field, which made object construction a
sixth of the old parser's time. These builders make the same objects (same class, same slots,
equal to one built by hand) by calling each slot's own descriptor directly, the way ``__init__``
would if the class were not frozen. They take every field positionally, in declaration order,
and validate nothing: the parser passes only values of the declared types.

Each builder's field list is checked against the dataclass when this module is imported, so a
field added to a response class cannot be forgotten here silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from switchboard.imap.responses import (
    Address,
    BodyPart,
    Envelope,
    Fetch,
    ResponseCode,
    Status,
    StatusResponse,
    TaggedResponse,
)

__all__ = [
    "make_address",
    "make_body",
    "make_code",
    "make_envelope",
    "make_fetch",
    "make_status",
    "make_tagged",
]

_Setter = Callable[[Any, Any], None]


def _setters(cls: type, *names: str) -> tuple[_Setter, ...]:
    declared = tuple(f.name for f in dataclasses.fields(cls))
    if declared != names:
        raise RuntimeError(f"builder for {cls.__name__} lists {names}, the class has {declared}")
    # With slots=True each field is a member descriptor in the class __dict__; its __set__ is
    # what a plain (unfrozen) attribute assignment would call.
    return tuple(cls.__dict__[name].__set__ for name in names)


_new = object.__new__

_A_NAME, _A_ROUTE, _A_MAILBOX, _A_HOST = _setters(Address, "name", "route", "mailbox", "host")


def make_address(
    name: bytes | None, route: bytes | None, mailbox: bytes | None, host: bytes | None
) -> Address:
    """Return ``Address(name, route, mailbox, host)``."""
    address = _new(Address)
    _A_NAME(address, name)
    _A_ROUTE(address, route)
    _A_MAILBOX(address, mailbox)
    _A_HOST(address, host)
    return address


(
    _E_DATE,
    _E_SUBJECT,
    _E_FROM,
    _E_SENDER,
    _E_REPLY_TO,
    _E_TO,
    _E_CC,
    _E_BCC,
    _E_IN_REPLY_TO,
    _E_MESSAGE_ID,
) = _setters(
    Envelope,
    "date",
    "subject",
    "from_",
    "sender",
    "reply_to",
    "to",
    "cc",
    "bcc",
    "in_reply_to",
    "message_id",
)

_Addresses = tuple[Address, ...] | None


def make_envelope(
    date: bytes | None,
    subject: bytes | None,
    from_: _Addresses,
    sender: _Addresses,
    reply_to: _Addresses,
    to: _Addresses,
    cc: _Addresses,
    bcc: _Addresses,
    in_reply_to: bytes | None,
    message_id: bytes | None,
) -> Envelope:
    """Return ``Envelope(...)`` with the fields in declaration order."""
    envelope = _new(Envelope)
    _E_DATE(envelope, date)
    _E_SUBJECT(envelope, subject)
    _E_FROM(envelope, from_)
    _E_SENDER(envelope, sender)
    _E_REPLY_TO(envelope, reply_to)
    _E_TO(envelope, to)
    _E_CC(envelope, cc)
    _E_BCC(envelope, bcc)
    _E_IN_REPLY_TO(envelope, in_reply_to)
    _E_MESSAGE_ID(envelope, message_id)
    return envelope


(
    _F_SEQ,
    _F_UID,
    _F_FLAGS,
    _F_SIZE,
    _F_INTERNALDATE,
    _F_ENVELOPE,
    _F_BODYSTRUCTURE,
    _F_MODSEQ,
    _F_SECTIONS,
) = _setters(
    Fetch,
    "seq",
    "uid",
    "flags",
    "size",
    "internaldate",
    "envelope",
    "bodystructure",
    "modseq",
    "sections",
)


def make_fetch(
    seq: int,
    uid: int | None,
    flags: tuple[str, ...] | None,
    size: int | None,
    internaldate: str | None,
    envelope: Envelope | None,
    bodystructure: BodyPart | None,
    modseq: int | None,
    sections: dict[str, bytes | None],
) -> Fetch:
    """Return ``Fetch(...)`` with the fields in declaration order."""
    fetch = _new(Fetch)
    _F_SEQ(fetch, seq)
    _F_UID(fetch, uid)
    _F_FLAGS(fetch, flags)
    _F_SIZE(fetch, size)
    _F_INTERNALDATE(fetch, internaldate)
    _F_ENVELOPE(fetch, envelope)
    _F_BODYSTRUCTURE(fetch, bodystructure)
    _F_MODSEQ(fetch, modseq)
    _F_SECTIONS(fetch, sections)
    return fetch


(
    _B_MAINTYPE,
    _B_SUBTYPE,
    _B_PARAMS,
    _B_PARTS,
    _B_CONTENT_ID,
    _B_DESCRIPTION,
    _B_ENCODING,
    _B_SIZE,
    _B_LINES,
    _B_ENVELOPE,
    _B_BODY,
    _B_MD5,
    _B_DISPOSITION,
    _B_LANGUAGE,
    _B_LOCATION,
) = _setters(
    BodyPart,
    "maintype",
    "subtype",
    "params",
    "parts",
    "content_id",
    "description",
    "encoding",
    "size",
    "lines",
    "envelope",
    "body",
    "md5",
    "disposition",
    "language",
    "location",
)


def make_body(
    maintype: str,
    subtype: str,
    params: dict[str, bytes],
    parts: tuple[BodyPart, ...],
    content_id: bytes | None,
    description: bytes | None,
    encoding: str | None,
    size: int | None,
    lines: int | None,
    envelope: Envelope | None,
    body: BodyPart | None,
    md5: bytes | None,
    disposition: tuple[str, dict[str, bytes]] | None,
    language: tuple[str, ...] | None,
    location: bytes | None,
) -> BodyPart:
    """Return ``BodyPart(...)`` with the fields in declaration order."""
    part = _new(BodyPart)
    _B_MAINTYPE(part, maintype)
    _B_SUBTYPE(part, subtype)
    _B_PARAMS(part, params)
    _B_PARTS(part, parts)
    _B_CONTENT_ID(part, content_id)
    _B_DESCRIPTION(part, description)
    _B_ENCODING(part, encoding)
    _B_SIZE(part, size)
    _B_LINES(part, lines)
    _B_ENVELOPE(part, envelope)
    _B_BODY(part, body)
    _B_MD5(part, md5)
    _B_DISPOSITION(part, disposition)
    _B_LANGUAGE(part, language)
    _B_LOCATION(part, location)
    return part


_C_NAME, _C_VALUE = _setters(ResponseCode, "name", "value")


def make_code(name: str, value: int | tuple[str, ...] | str | None) -> ResponseCode:
    """Return ``ResponseCode(name, value)``."""
    code = _new(ResponseCode)
    _C_NAME(code, name)
    _C_VALUE(code, value)
    return code


_T_TAG, _T_STATUS, _T_CODE, _T_TEXT = _setters(TaggedResponse, "tag", "status", "code", "text")


def make_tagged(tag: str, status: Status, code: ResponseCode | None, text: str) -> TaggedResponse:
    """Return ``TaggedResponse(tag, status, code, text)``."""
    response = _new(TaggedResponse)
    _T_TAG(response, tag)
    _T_STATUS(response, status)
    _T_CODE(response, code)
    _T_TEXT(response, text)
    return response


_S_STATUS, _S_CODE, _S_TEXT = _setters(StatusResponse, "status", "code", "text")


def make_status(status: Status, code: ResponseCode | None, text: str) -> StatusResponse:
    """Return ``StatusResponse(status, code, text)``."""
    response = _new(StatusResponse)
    _S_STATUS(response, status)
    _S_CODE(response, code)
    _S_TEXT(response, text)
    return response
