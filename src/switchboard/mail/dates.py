"""Dates in mail: IMAP's INTERNALDATE and RFC 5322's ``Date:`` header, as aware datetimes.

Pure. Both parsers are lenient and never raise: a date that cannot be read is ``None``, which
JMAP shows as ``null`` (``sentAt``) and which sorts and filters as "unknown".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Final

__all__ = ["parse_header_date", "parse_internal_date"]

_MONTHS: Final = {name: index for index, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
)}  # fmt: skip
# RFC 3501 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz", the day possibly space-padded.
_INTERNAL: Final = re.compile(
    r"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\s*"
)


def parse_internal_date(text: str | None) -> datetime | None:
    """An INTERNALDATE (``17-Jul-1996 02:44:25 -0700``) as an aware datetime, or ``None``."""
    if text is None:
        return None
    match = _INTERNAL.fullmatch(text)
    if match is None:
        return None
    day, month_name, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None:
        return None
    offset = timedelta(hours=int(zone_h), minutes=int(zone_m))
    try:
        zone = timezone(-offset if sign == "-" else offset)
        return datetime(
            int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError:
        return None


def parse_header_date(value: bytes | None) -> datetime | None:
    """A ``Date:`` header value (RFC 5322 §3.3, obsolete forms too) as an aware datetime.

    A date without a zone, or with ``-0000`` (RFC 5322: "no information about the local time
    zone"), is read as UTC. ``None`` when it cannot be read.
    """
    if value is None:
        return None
    text = value.decode("ascii", "replace").strip()
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
