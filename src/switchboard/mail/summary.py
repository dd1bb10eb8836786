"""The summary a ``newMessage`` push carries: decoded subject, first sender, date, size.

Read from the message's header bytes with the same functions as ``getMessages``
(:mod:`switchboard.mail.render`), so for one message:

- ``subject`` is ``getMessages``' ``subjectDecoded``;
- ``from`` is its first ``from`` address as ``decodedName <email>`` (or ``email``);
- ``date`` is its ``date``;

each cut to :data:`MAX_FIELD_CHARS` characters, because the event log keeps every summary (a
header of a megabyte would otherwise be stored and pushed with every copy of the event).
Decoding never fails: a message with odd headers is announced like any other.

Two paths give the same summary (a property test compares them): the fast path reads the block
nearly every server sends — UTF-8, each field once, a plain value or a simple sender — with one
regular-expression match and a few string operations (the engine summarizes every new message);
the exact path (:func:`_general_summary`) reads any block through
:class:`~switchboard.mail.envelope.Envelope`, and takes every block the fast path does not.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final

from switchboard.mail.addresses import first_address, format_address
from switchboard.mail.envelope import ENVELOPE_FIELDS, Envelope
from switchboard.mail.headers import decoded_text, humanize, raw_text
from switchboard.model.events import MessageSummary
from switchboard.model.mail import FetchedMessage, FetchPlan

__all__ = ["MAX_FIELD_CHARS", "SUMMARY_FIELDS", "SUMMARY_PLAN", "summarize", "summary_of"]

MAX_FIELD_CHARS: Final = 998
"""The most characters one header gives a summary (RFC 5322 §2.1.1's line limit)."""

SUMMARY_FIELDS: Final = tuple(n for n in ENVELOPE_FIELDS if n in ("DATE", "SUBJECT", "FROM"))
"""The header fields a summary reads: those of ``getMessages``' ``date``, ``subject`` and
``from`` — the same bytes, read by the same functions — and no others (a long To or Cc list
would be fetched and parsed for nothing with every new message)."""

SUMMARY_PLAN: Final = FetchPlan(size=True, header_fields=SUMMARY_FIELDS)
"""What the engine fetches of each new message to summarize it."""


# The fast path. The block nearly every IMAP server answers SUMMARY_PLAN with: valid UTF-8 (ASCII,
# nearly always), each of the three fields at most once, each "Name: value" on one CRLF line (no
# folding), in any order, then the empty line. It is decoded once and read with one match, which
# also reads a sender of one simple address; each value then takes the shortcut that fits it
# (plain text, a simple address) or the exact function of its field. A test checks that this
# gives what the general reading (the exact path) gives; every other block takes the exact path.
#
# The values are str because a str's "in" costs a tenth of a bytes' (which first tries to read
# its argument as an int and clears that error); for valid UTF-8 each check and each regular
# expression says the same of the str as of the bytes, as every byte below 0x80 is its own
# character. re.ASCII: "\s" and IGNORECASE as for bytes.

# A sender of one address in a simple shape — ``a@b``, ``Name <a@b>``, ``"Name" <a@b>`` — that
# mail.addresses reads without its tokenizer (the same character classes); groups: the quoted
# name, the unquoted name, mailbox@host inside <>, a bare mailbox@host.
_ADDR: Final = r"[^\s\"<>@,()\\:;\[\]]+@[^\s\"<>@,()\\:;\[\]]+"
_SIMPLE_SENDER: Final = (
    r'[ \t]*(?:(?:"([^"\\\r\n]*)"[ \t]*|([^"<>@,()\\:;\[\]\r\n]*))<('
    + _ADDR
    + r")>|("
    + _ADDR
    + r"))[ \t]*(?=\r\n)"
)


def _typical_pattern() -> tuple[re.Pattern[str], dict[int | None, tuple[int, ...]]]:
    """The typical block's pattern, and where each path through it leaves the fields.

    The pattern is a tree of the orders the fields can come in (``date`` then ``from`` or
    ``subject``, …: 15 lines, each with groups of its own). The last group a match closes is
    the value of its last line, which names the path; the table maps it to the groups of
    ``(date, subject, sender, quoted name, name, address, bare address)``, the fields the path
    lacks pointing at group 1, which never takes part.
    """
    count = 1
    paths: dict[int | None, tuple[int, ...]] = {None: (1,) * 7}  # None: the empty block

    def tree(taken: dict[str, tuple[int, ...]], remaining: list[str]) -> str:
        nonlocal count
        branches = []
        for kind in remaining:
            here = dict(taken)
            if kind == "from":
                line = r"from[ \t]*:((?:" + _SIMPLE_SENDER + r"|[^\r\n]*))\r\n"
                here[kind] = (count + 1, count + 2, count + 3, count + 4, count + 5)
                count += 5
            else:
                line = kind + r"[ \t]*:([^\n]*)\r\n"  # a bare CR: see summary_of
                count += 1
                here[kind] = (count,)
            last = here[kind][0]
            paths[last] = (
                here.get("date", (1,)) + here.get("subject", (1,)) + here.get("from", (1,) * 5)
            )
            rest = [other for other in remaining if other != kind]
            branches.append(line + (tree(here, rest) if rest else ""))
        return "(?:" + "|".join(branches) + ")?"

    body = tree({}, ["date", "subject", "from"])
    return re.compile(r"(?:(?!)())?" + body + r"\r\n", re.IGNORECASE | re.ASCII), paths


_TYPICAL, _TYPICAL_PATHS = _typical_pattern()
_WSP: Final = " \t\r\n"

# MessageSummary is a frozen dataclass: its __init__ sets each field through object.__setattr__.
# Each slot's own descriptor sets it in a third of the time (the same object; checked below).
_SUMMARY_SLOTS: Final = ("subject", "from_", "date", "size")
if tuple(f.name for f in dataclasses.fields(MessageSummary)) != _SUMMARY_SLOTS:
    raise RuntimeError("mail.summary builds MessageSummary with other fields than it has")
_SET_SUBJECT, _SET_FROM, _SET_DATE, _SET_SIZE = (
    MessageSummary.__dict__[name].__set__ for name in _SUMMARY_SLOTS
)
_new = object.__new__


def _make(
    subject: str | None, from_: str | None, date: str | None, size: int | None
) -> MessageSummary:
    """``MessageSummary(subject, from_, date, size)``, built slot by slot."""
    summary = _new(MessageSummary)
    _SET_SUBJECT(summary, subject)
    _SET_FROM(summary, from_)
    _SET_DATE(summary, date)
    _SET_SIZE(summary, size)
    return summary


def summarize(message: FetchedMessage) -> MessageSummary:
    """The summary of one message fetched with :data:`SUMMARY_PLAN`; what is missing is ``None``."""
    return summary_of(message.headers, message.size)


def summary_of(headers: bytes | None, size: int | None) -> MessageSummary:
    """The summary of a message from its header fields block and its size (``None``: unknown)."""
    if headers is None:
        return _make(None, None, None, size)
    try:
        block = headers.decode()
        utf8 = True
    except UnicodeDecodeError:
        # Undeclared 8-bit text other than UTF-8: one character per byte, which the pattern
        # reads as it would the bytes; the values then go to the exact functions as bytes.
        block = headers.decode("latin-1")
        utf8 = False
    typical = _TYPICAL.fullmatch(block)
    if typical is None:
        if "\r\n " not in block and "\r\n\t" not in block:
            return _general_summary(headers, size)
        # Folded lines (a long subject, often): unfolded as the general reading unfolds them,
        # the line break removed and the whitespace kept. Only up to the empty line that ends
        # the header: a line after it that starts with whitespace is body, not a continuation.
        head, end, rest = block.partition("\r\n\r\n")
        typical = _TYPICAL.fullmatch(
            head.replace("\r\n ", " ").replace("\r\n\t", "\t") + end + rest
        )
        if typical is None:
            return _general_summary(headers, size)
    date, subject, sender, quoted, name, address, bare = typical.group(
        *_TYPICAL_PATHS[typical.lastindex]
    )
    if (subject is not None and "\r" in subject) or (date is not None and "\r" in date):
        # A bare CR, which the general reading takes for a line break. (The pattern leaves
        # it to this check because "[^\n]" is read faster than "[^\r\n]".)
        return _general_summary(headers, size)
    if not utf8:
        return _make(
            decoded_text(humanize(subject.encode("latin-1")))[:MAX_FIELD_CHARS]
            if subject is not None
            else None,
            _sender_text(sender.encode("latin-1")) if sender is not None else None,
            raw_text(date.encode("latin-1").strip(b" \t"))[:MAX_FIELD_CHARS]
            if date is not None
            else None,
            size,
        )
    # Envelope's rules (mail.envelope), applied to single one-line fields.
    if sender is None:
        from_ = None
    elif bare is not None:
        from_ = bare[:MAX_FIELD_CHARS]
    elif address is not None:
        text = _text(quoted if quoted is not None else name)
        from_ = (f"{text} <{address}>" if text else address)[:MAX_FIELD_CHARS]
    else:
        from_ = _sender_text(sender.encode())
    return _make(
        _text(subject)[:MAX_FIELD_CHARS] if subject is not None else None,
        from_,
        date.strip(_WSP)[:MAX_FIELD_CHARS] if date is not None else None,  # raw_text
        size,
    )


def _text(value: str) -> str:
    """``decoded_text(humanize(value))`` of a one-line value, without its calls when it can."""
    if "=?" in value or "  " in value or "\t" in value:
        return decoded_text(humanize(value.encode()))
    # No encoded-word and no whitespace run to collapse: humanize only trims spaces, and
    # decoded_text has nothing left to do to valid UTF-8.
    return value.strip(" ")


def _sender_text(value: bytes) -> str | None:
    """``format_address(first_address(value))``, cut; ``None``: no address."""
    first = first_address(value)
    return format_address(first)[:MAX_FIELD_CHARS] if first is not None else None


def _general_summary(headers: bytes, size: int | None) -> MessageSummary:
    """The summary of any header block, through :class:`~switchboard.mail.envelope.Envelope`."""
    envelope = Envelope(headers)
    subject = envelope.subject
    date = envelope.date
    sender = envelope.first_address("from")
    return MessageSummary(
        subject=decoded_text(subject)[:MAX_FIELD_CHARS] if subject is not None else None,
        from_=format_address(sender)[:MAX_FIELD_CHARS] if sender is not None else None,
        date=raw_text(date)[:MAX_FIELD_CHARS] if date is not None else None,
        size=size,
    )
