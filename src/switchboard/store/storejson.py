"""The JSON the stores write: compact, UTF-8, no NaN — the store's own format, not the wire's.

The store's columns outlive any wire-protocol change, so its encoding is defined here and not
borrowed from :mod:`switchboard.protocol`. Pure functions, no I/O.

``orjson`` writes (every new message's event is encoded once: 0.2 µs against the standard
library's 2 µs); the standard library takes over where orjson differs, so the text is the same
JSON either way: an integer beyond 64 bits, a lone surrogate or a type JSON has no value for
(orjson refuses them: the standard library writes the first and raises its usual error for
the others), and any output holding ``null`` (orjson writes NaN and infinities as ``null``,
which the standard library refuses). One difference is left, for values the codec never
passes: orjson writes an enum member or a UUID as its value where the standard library raises.
Reading stays with the standard library, which reads integers of any size exactly.
"""

from __future__ import annotations

import json
from typing import Any, Final

import orjson

__all__ = ["dumps", "loads"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_DECODER = json.JSONDecoder()
# Dataclasses and datetimes are no JSON of ours: passed through, orjson refuses them as well.
_ORJSON_OPTIONS: Final = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def dumps(value: Any) -> str:
    """Encode ``value`` as compact JSON text (non-ASCII kept as is).

    Raises:
        TypeError: a value JSON cannot hold.
        ValueError: NaN or an infinity.
    """
    try:
        data = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return _ENCODER.encode(value)
    if b"null" in data:
        return _ENCODER.encode(value)
    return data.decode("utf-8")


def loads(text: str | bytes) -> Any:
    """Decode JSON text (or UTF-8 bytes) the store wrote.

    Raises:
        ValueError: not valid JSON (``json.JSONDecodeError``) or not UTF-8.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return _DECODER.decode(text)
