"""The JSON the stores write: compact, UTF-8, no NaN — the store's own format, not the wire's.

The store's columns outlive any wire-protocol change, so its encoding is defined here and not
borrowed from :mod:`switchboard.protocol`. Pure functions, no I/O.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "loads"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_DECODER = json.JSONDecoder()


def dumps(value: Any) -> str:
    """Encode ``value`` as compact JSON text (non-ASCII kept as is).

    Raises:
        TypeError: a value JSON cannot hold.
        ValueError: NaN or an infinity.
    """
    return _ENCODER.encode(value)


def loads(text: str | bytes) -> Any:
    """Decode JSON text (or UTF-8 bytes) the store wrote.

    Raises:
        ValueError: not valid JSON (``json.JSONDecodeError``) or not UTF-8.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return _DECODER.decode(text)
