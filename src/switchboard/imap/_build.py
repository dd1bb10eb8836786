"""Build the FETCH result dataclasses in a fraction of their ``__init__``'s time.

Private to the parser modules. The dataclasses of :mod:`switchboard.imap.responses` are frozen,
so their generated ``__init__`` sets each field with ``object.__setattr__(self, name, value)``:
a global lookup, a method lookup and a name lookup per field, which made object construction a
sixth of the old parser's time. Calling each slot's descriptor (``__set__``) instead halves
that, but is still a call per field (~35 ns; 0.55 µs for a ``BodyPart``'s 15 fields).

So each builder fills a *twin* instead: a plain class with the very same ``__slots__``, whose
attribute stores are the interpreter's specialised slot stores (a few ns each, no call), and
then makes the object what it is meant to be by assigning its ``__class__``. Python allows that
between two classes with the same instance layout (same base, same slots), and once it is done
the object is in every way one the constructor made: the same class, so the same frozen
``__setattr__``, equality and hash, and equal to one built by hand. The builders take every
field positionally, in declaration order, and validate nothing: the parser passes only values of
the declared types.

When this module is imported each builder's field list is checked against the dataclass, and
each twin is tried once (an object built, its class assigned, compared with the constructor's),
so a field added to a response class, or a layout Python would refuse, fails at import rather
than silently.
"""

from __future__ import annotations

import dataclasses
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


def _twin(cls: type, *names: str) -> Any:
    """Return a mutable class with ``cls``'s slots, whose instances may become ``cls``'s.

    Raises:
        RuntimeError: ``names`` are not ``cls``'s fields in order, or Python refuses the
            ``__class__`` assignment between the two (a layout that differs).
    """
    declared = tuple(f.name for f in dataclasses.fields(cls))
    if declared != names:
        raise RuntimeError(f"builder for {cls.__name__} lists {names}, the class has {declared}")
    slots = cls.__dict__.get("__slots__")
    if tuple(slots or ()) != names:
        raise RuntimeError(f"{cls.__name__} has slots {slots}, not its fields {names}")
    twin = type(f"_{cls.__name__}Twin", (), {"__slots__": names, "__module__": __name__})
    probe: Any = _new(twin)
    for index, name in enumerate(names):
        setattr(probe, name, index)
    try:
        probe.__class__ = cls
    except TypeError as exc:
        raise RuntimeError(f"{cls.__name__} cannot be built from a twin: {exc}") from exc
    if probe != cls(*range(len(names))):
        raise RuntimeError(f"{cls.__name__} built from a twin differs from its constructor's")
    return twin


_new = object.__new__

_AddressTwin = _twin(Address, "name", "route", "mailbox", "host")


def make_address(
    name: bytes | None, route: bytes | None, mailbox: bytes | None, host: bytes | None
) -> Address:
    """Return ``Address(name, route, mailbox, host)``."""
    address = _new(_AddressTwin)
    address.name = name
    address.route = route
    address.mailbox = mailbox
    address.host = host
    address.__class__ = Address
    built: Address = address
    return built


_EnvelopeTwin = _twin(
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
    envelope = _new(_EnvelopeTwin)
    envelope.date = date
    envelope.subject = subject
    envelope.from_ = from_
    envelope.sender = sender
    envelope.reply_to = reply_to
    envelope.to = to
    envelope.cc = cc
    envelope.bcc = bcc
    envelope.in_reply_to = in_reply_to
    envelope.message_id = message_id
    envelope.__class__ = Envelope
    built: Envelope = envelope
    return built


_FetchTwin = _twin(
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
    fetch = _new(_FetchTwin)
    fetch.seq = seq
    fetch.uid = uid
    fetch.flags = flags
    fetch.size = size
    fetch.internaldate = internaldate
    fetch.envelope = envelope
    fetch.bodystructure = bodystructure
    fetch.modseq = modseq
    fetch.sections = sections
    fetch.__class__ = Fetch
    built: Fetch = fetch
    return built


_BodyPartTwin = _twin(
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
    part = _new(_BodyPartTwin)
    part.maintype = maintype
    part.subtype = subtype
    part.params = params
    part.parts = parts
    part.content_id = content_id
    part.description = description
    part.encoding = encoding
    part.size = size
    part.lines = lines
    part.envelope = envelope
    part.body = body
    part.md5 = md5
    part.disposition = disposition
    part.language = language
    part.location = location
    part.__class__ = BodyPart
    built: BodyPart = part
    return built


_ResponseCodeTwin = _twin(ResponseCode, "name", "value")


def make_code(name: str, value: int | tuple[str, ...] | str | None) -> ResponseCode:
    """Return ``ResponseCode(name, value)``."""
    code = _new(_ResponseCodeTwin)
    code.name = name
    code.value = value
    code.__class__ = ResponseCode
    built: ResponseCode = code
    return built


_TaggedTwin = _twin(TaggedResponse, "tag", "status", "code", "text")


def make_tagged(tag: str, status: Status, code: ResponseCode | None, text: str) -> TaggedResponse:
    """Return ``TaggedResponse(tag, status, code, text)``."""
    response = _new(_TaggedTwin)
    response.tag = tag
    response.status = status
    response.code = code
    response.text = text
    response.__class__ = TaggedResponse
    built: TaggedResponse = response
    return built


_StatusTwin = _twin(StatusResponse, "status", "code", "text")


def make_status(status: Status, code: ResponseCode | None, text: str) -> StatusResponse:
    """Return ``StatusResponse(status, code, text)``."""
    response = _new(_StatusTwin)
    response.status = status
    response.code = code
    response.text = text
    response.__class__ = StatusResponse
    built: StatusResponse = response
    return built
