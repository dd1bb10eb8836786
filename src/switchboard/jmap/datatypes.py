"""The JMAP data types of RFC 8620 §1.2–1.4: Id, Int, UnsignedInt, Date and UTCDate.

Checks return booleans and parsers raise :class:`ValueError`; callers turn a failure into the
error their context needs (``invalidArguments`` for a method argument, ``notRequest`` for the
Request object, ``invalidProperties`` for a /set).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from switchboard.jmap.jsonvalue import JsonValue

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_INT",
    "MIN_INT",
    "format_date",
    "format_utc_date",
    "is_int",
    "is_unsigned_int",
    "is_valid_id",
    "parse_date",
    "parse_utc_date",
]

MAX_ID_LENGTH: Final = 255
"""RFC 8620 §1.2: an Id is 1–255 octets."""

MAX_INT: Final = 2**53 - 1
"""RFC 8620 §1.3: the largest Int (and UnsignedInt), the largest integer a double holds exactly."""

MIN_INT: Final = -(2**53) + 1
"""RFC 8620 §1.3: the smallest Int."""

# RFC 8620 §1.2: the URL and filename safe base64 alphabet, nothing else.
_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,255}", re.ASCII)

# RFC 3339 date-time as RFC 8620 §1.4 restricts it: a "T" separator, an offset, and a
# fractional part only when non-zero (we accept any number of digits, jmapc sends six).
_DATE: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def is_valid_id(value: JsonValue) -> bool:
    """Whether ``value`` is a string that RFC 8620 §1.2 allows as an Id."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def is_int(value: JsonValue) -> bool:
    """Whether ``value`` is an RFC 8620 §1.3 Int (a JSON integer; ``true`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and MIN_INT <= value <= MAX_INT


def is_unsigned_int(value: JsonValue) -> bool:
    """Whether ``value`` is an RFC 8620 §1.3 UnsignedInt."""
    return is_int(value) and isinstance(value, int) and value >= 0


def _parse(text: str) -> datetime:
    match = _DATE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text[:60]!r} is not an RFC 3339 date-time")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if offset == "Z":
        tz = UTC
    else:
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"{text[:60]!r} has an impossible offset")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    # datetime() refuses month 13, 30 February, second 60 (leap seconds cannot be represented).
    return datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz
    )


def parse_utc_date(text: JsonValue) -> datetime:
    """Parse an RFC 8620 §1.4 UTCDate such as ``"2014-10-30T06:12:00Z"``.

    Returns:
        An aware datetime in UTC (fractions beyond microseconds are cut off).

    Raises:
        ValueError: ``text`` is not a string, not a date-time, not in UTC (``Z``), or names a
            date or time that does not exist.
    """
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError(f"{str(text)[:60]!r} is not a UTCDate (a date-time ending in Z)")
    return _parse(text)


def parse_date(text: JsonValue) -> datetime:
    """Parse an RFC 8620 §1.4 Date, a date-time with any offset (``"…T14:12:00+08:00"``).

    Raises:
        ValueError: ``text`` is not a string, not a date-time, or names an impossible one.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a Date")
    return _parse(text)


def _stamp(moment: datetime) -> str:
    # Formatted by hand: strftime("%Y") does not zero-pad years below 1000 on every platform.
    # RFC 8620 §1.4: "time-secfrac MUST be omitted if zero".
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}{fraction}"
    )


def format_utc_date(moment: datetime) -> str:
    """Format an aware datetime as a UTCDate: ``2014-10-30T06:12:00Z``.

    Raises:
        ValueError: ``moment`` is naive (its instant would be a guess).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no defined instant")
    utc = moment.astimezone(UTC)
    return _stamp(utc) + "Z"


def format_date(moment: datetime) -> str:
    """Format an aware datetime as a Date with its own offset: ``2014-10-30T14:12:00+08:00``.

    Raises:
        ValueError: ``moment`` is naive.
    """
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a naive datetime has no defined instant")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{_stamp(moment)}{sign}{hours:02d}:{minutes:02d}"
