"""JMAP keywords ⇄ IMAP flags (RFC 8621 §4.1.1), as pure functions.

How it works: four keywords stand for IMAP system flags (``$seen`` ⇔ ``\\Seen``, ``$flagged``
⇔ ``\\Flagged``, ``$answered`` ⇔ ``\\Answered``, ``$draft`` ⇔ ``\\Draft``); every other keyword
is the IMAP keyword of the same name. Keywords are case-insensitive and JMAP servers return
them lowercased, so everything coming from IMAP is lowercased. ``\\Recent`` and ``\\Deleted``
are not exposed (§4.1.1: JMAP has neither the session-bound recent flag nor the
delete-then-expunge model), nor is any other system flag JMAP does not name.

The keyword grammar is the IMAP atom's: 1–255 characters from ``%x21-%x7E`` except
``( ) { ] % * " \\``. Every IMAP keyword is therefore a valid JMAP keyword, and every JMAP
keyword can be stored as an IMAP one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from switchboard.jmap.jsonvalue import JsonValue

__all__ = [
    "MAX_KEYWORD_LENGTH",
    "SYSTEM_FLAGS",
    "InvalidKeywordError",
    "flag_to_keyword",
    "flags_from_keywords",
    "keyword_to_flag",
    "keywords_from_flags",
    "normalise_keyword",
]

MAX_KEYWORD_LENGTH: Final = 255
"""RFC 8621 §4.1.1: a keyword is 1–255 characters."""

SYSTEM_FLAGS: Final[Mapping[str, str]] = MappingProxyType(
    {"$seen": "\\Seen", "$flagged": "\\Flagged", "$answered": "\\Answered", "$draft": "\\Draft"}
)
"""The keywords that are IMAP system flags, keyword → flag."""

_FLAG_KEYWORDS: Final = {flag.lower(): keyword for keyword, flag in SYSTEM_FLAGS.items()}

# RFC 8621 §4.1.1 (the IMAP atom of RFC 3501 §9): printable ASCII minus ( ) { ] % * " \.
_KEYWORD: Final = re.compile(r'[\x21-\x7e]{1,255}', re.ASCII)
_FORBIDDEN: Final = re.compile(r'[(){\]%*"\\]')


class InvalidKeywordError(ValueError):
    """A keyword breaks the grammar, or a keywords map has a value other than ``true``."""


def normalise_keyword(keyword: str) -> str:
    """Check a JMAP keyword and return its canonical, lowercased form.

    Raises:
        InvalidKeywordError: ``keyword`` is empty, longer than 255 characters, or holds a
            character outside the grammar.
    """
    if _KEYWORD.fullmatch(keyword) is None or _FORBIDDEN.search(keyword):
        raise InvalidKeywordError(f"{keyword[:60]!r} is not a valid keyword")
    return keyword.lower()


def keyword_to_flag(keyword: str) -> str:
    """The IMAP flag to STORE for a JMAP keyword: ``$seen`` → ``\\Seen``, ``$junk`` → ``$junk``.

    Raises:
        InvalidKeywordError: ``keyword`` breaks the grammar.
    """
    canonical = normalise_keyword(keyword)
    return SYSTEM_FLAGS.get(canonical, canonical)


def flag_to_keyword(flag: str) -> str | None:
    """The JMAP keyword for an IMAP flag, or ``None`` when JMAP does not expose the flag.

    ``\\Seen`` → ``$seen``; ``$Forwarded`` → ``$forwarded``; ``\\Recent``, ``\\Deleted``,
    other system flags and anything that is not a valid keyword → ``None``.
    """
    lowered = flag.lower()
    keyword = _FLAG_KEYWORDS.get(lowered)
    if keyword is not None:
        return keyword
    if lowered.startswith("\\"):
        return None
    try:
        return normalise_keyword(flag)
    except InvalidKeywordError:
        return None


def keywords_from_flags(flags: Iterable[str]) -> dict[str, bool]:
    """An Email's ``keywords`` property from its IMAP FLAGS (each value ``true``, §4.1.1)."""
    keywords: dict[str, bool] = {}
    for flag in flags:
        keyword = flag_to_keyword(flag)
        if keyword is not None:
            keywords[keyword] = True
    return dict(sorted(keywords.items()))


def flags_from_keywords(keywords: Mapping[str, JsonValue]) -> frozenset[str]:
    """The IMAP flags for an Email's whole ``keywords`` property (as in an Email/set).

    Raises:
        InvalidKeywordError: a key breaks the grammar, or a value is not ``true`` (§4.1.1: "The
            value MUST be true").
    """
    flags: set[str] = set()
    for keyword, value in keywords.items():
        if value is not True:
            raise InvalidKeywordError(f"the value of keyword {keyword[:60]!r} must be true")
        flags.add(keyword_to_flag(keyword))
    return frozenset(flags)
