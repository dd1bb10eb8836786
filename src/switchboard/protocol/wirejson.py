"""JSON exactly as the wire wants it: compact, raw UTF-8, shared by server and client."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

__all__ = ["MAX_SAFE_INTEGER", "JsonLike", "JsonObject", "JsonValue", "dumps", "loads", "safe_int"]

MAX_SAFE_INTEGER: Final = 2**53 - 1
"""The largest integer every peer reads exactly: JavaScript's ``Number.MAX_SAFE_INTEGER``.

Browsers are clients too, and ``JSON.parse`` rounds a larger integer to the nearest double, so
a browser could never send such a value back. Every integer the server itself sends stays
within ``-MAX_SAFE_INTEGER..MAX_SAFE_INTEGER``; a client's own values echoed back (tags, the
``arguments`` of an error) are sent as they came.
"""

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
"""A decoded JSON value, as :func:`loads` returns it (arrays are lists, objects dicts)."""

JsonObject: TypeAlias = "dict[str, JsonValue]"
"""A decoded JSON object."""

JsonLike: TypeAlias = (
    "bool | int | float | str | Sequence[JsonLike] | Mapping[str, JsonLike] | None"
)
"""A value :func:`dumps` can write: like :data:`JsonValue`, any sequence or mapping accepted."""

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def safe_int(value: int | None) -> int | None:
    """``value`` when every client reads it exactly, else ``None`` ("unknown").

    For numbers another server chose, such as an IMAP server's message sizes: RFC 3501 makes
    them 32-bit, but nothing stops a broken server from sending 20 digits.
    """
    if value is None or -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value
    return None


def dumps(value: Any) -> str:
    """Serialise ``value`` compactly, non-ASCII as raw UTF-8 (docs/protocol.md, "Frames").

    Raises:
        TypeError: ``value`` holds something JSON cannot represent.
        ValueError: ``value`` holds NaN or an infinity, which JSON does not allow.
    """
    return _encoder.encode(value)


def loads(text: str | bytes) -> Any:
    """Parse one JSON document; NaN and infinities are rejected like any invalid JSON.

    Raises:
        ValueError: ``text`` is not valid JSON (``json.JSONDecodeError`` is a ``ValueError``),
            or (for bytes) not valid UTF-8 (``UnicodeDecodeError`` is a ``ValueError`` too).
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if text.startswith("\ufeff"):  # what json.loads refuses before decoding
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _decoder.decode(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


# One decoder for every call: json.loads(text, parse_constant=...) builds a new one each time,
# which cost a client a fifth of its time per received push (bench/client.py).
_decoder = json.JSONDecoder(parse_constant=_reject_constant)
