"""Translate between the model's fetch vocabulary and IMAP's: FETCH items out, messages in.

Pure (no I/O): :func:`fetch_items` writes a :class:`~switchboard.model.mail.FetchPlan` as the
item list of a ``UID FETCH``; :func:`fetched_message` reads a parsed ``FETCH`` response back as a
:class:`~switchboard.model.mail.FetchedMessage`, with the BODYSTRUCTURE converted to the model's
:class:`~switchboard.model.mail.BodyPart` tree. Sections are always fetched with ``BODY.PEEK``
(RFC 3501 §6.4.5), so reading a message never sets ``\\Seen``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Final

from switchboard.imap import responses
from switchboard.model.mail import BodyPart, BodySection, FetchedMessage, FetchPlan

__all__ = [
    "body_part",
    "fetch_items",
    "fetched_message",
    "header_fields",
    "section_items",
    "with_sections",
]

# A header field name (RFC 5322 §3.6.8 ftext, kept to what an IMAP atom can carry).
_FIELD_NAME: Final = re.compile(r"[A-Za-z0-9!#$%&'*+^_`|~-]+")
# A section part (RFC 3501 §6.4.5): "", HEADER, TEXT, or a part number, optionally followed
# by .HEADER, .TEXT or .MIME.
_PART: Final = re.compile(
    r"(?:HEADER|TEXT|[1-9][0-9]*(?:\.[1-9][0-9]*)*(?:\.(?:HEADER|TEXT|MIME))?)?"
)
# How a server names the header-fields section it returns: with the field list as it likes it.
_HEADER_FIELDS_KEY: Final = "BODY[HEADER.FIELDS"


def _section_spec(section: BodySection) -> str:
    if _PART.fullmatch(section.part) is None:
        raise ValueError(f"not a section part: {section.part!r}")
    return section.part


def _section_item(section: BodySection) -> str:
    item = f"BODY.PEEK[{_section_spec(section)}]"
    if section.partial is not None:
        first, octets = section.partial
        if first < 0 or octets <= 0:
            raise ValueError(f"not a partial range: {section.partial!r}")
        item += f"<{first}.{octets}>"
    return item


@lru_cache(maxsize=256)  # a plan's few sections, looked up for each of its messages
def _response_key(section: BodySection) -> str:
    """How the server names the section in its answer (RFC 3501 §7.4.2: the origin only)."""
    key = f"BODY[{section.part}]"
    return key if section.partial is None else f"{key}<{section.partial[0]}>"


def fetch_items(plan: FetchPlan) -> str:
    """The parenthesised item list of a ``UID FETCH`` for ``plan``, always with ``UID``.

    E.g. ``"(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE SUBJECT)] BODYSTRUCTURE)"``.

    Raises:
        ValueError: a header field name or a section part IMAP cannot carry (a bug).
    """
    items = ["UID"]
    if plan.flags:
        items.append("FLAGS")
    if plan.internal_date:
        items.append("INTERNALDATE")
    if plan.size:
        items.append("RFC822.SIZE")
    if plan.header_fields:
        bad = [name for name in plan.header_fields if _FIELD_NAME.fullmatch(name) is None]
        if bad:
            raise ValueError(f"not header field names: {bad!r}")
        items.append(f"BODY.PEEK[HEADER.FIELDS ({' '.join(plan.header_fields)})]")
    if plan.body_structure:
        items.append("BODYSTRUCTURE")
    items.extend(_section_item(section) for section in plan.sections)
    return "(" + " ".join(items) + ")"


def section_items(sections: Sequence[BodySection]) -> str:
    """The item list fetching only ``sections`` (a plan's second stage), with ``UID``.

    Raises:
        ValueError: a section part IMAP cannot carry (a bug).
    """
    return "(UID " + " ".join(_section_item(section) for section in sections) + ")"


def _sections(
    response: responses.Fetch, wanted: Iterable[BodySection]
) -> dict[BodySection, bytes | None]:
    found: dict[BodySection, bytes | None] = {}
    for section in wanted:
        key = _response_key(section)
        if key in response.sections:
            found[section] = response.sections[key]
    return found


def header_fields(response: responses.Fetch) -> bytes | None:
    """The header fields block a response holds (``BODY[HEADER.FIELDS (…)]``), or ``None``."""
    for key, data in response.sections.items():
        if key.startswith(_HEADER_FIELDS_KEY):
            return data
    return None


def fetched_message(response: responses.Fetch, plan: FetchPlan) -> FetchedMessage:
    """Read one ``FETCH`` response (with a UID) as the model's message, keeping what ``plan`` asked.

    Raises:
        ValueError: the response has no UID (the caller must skip such responses).
    """
    if response.uid is None:
        raise ValueError("a FETCH response without a UID")
    headers = header_fields(response) if plan.header_fields else None
    structure = response.bodystructure
    return FetchedMessage(
        uid=response.uid,
        flags=response.flags,
        size=response.size,
        internal_date=response.internaldate,
        headers=headers,
        body_structure=body_part(structure) if structure is not None else None,
        sections=_sections(response, plan.sections) if plan.sections else {},
    )


def with_sections(
    message: FetchedMessage, response: responses.Fetch, sections: Sequence[BodySection]
) -> FetchedMessage:
    """``message`` with the ``sections`` a later ``FETCH`` response holds added."""
    return replace(message, sections={**message.sections, **_sections(response, sections)})


def body_part(part: responses.BodyPart) -> BodyPart:
    """The model's tree for an IMAP BODYSTRUCTURE (the enclosed message's envelope is dropped)."""
    return BodyPart(
        maintype=part.maintype,
        subtype=part.subtype,
        params=part.params,
        parts=tuple(body_part(child) for child in part.parts),
        content_id=part.content_id,
        description=part.description,
        encoding=part.encoding,
        size=part.size,
        lines=part.lines,
        body=body_part(part.body) if part.body is not None else None,
        md5=part.md5,
        disposition=part.disposition,
        language=part.language,
        location=part.location,
    )
