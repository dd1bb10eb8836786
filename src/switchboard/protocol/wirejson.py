"""JSON exactly as the wire wants it: compact, raw UTF-8, shared by server and client."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

__all__ = ["JsonLike", "JsonObject", "JsonValue", "dumps", "loads"]

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
"""A decoded JSON value, as :func:`loads` returns it (arrays are lists, objects dicts)."""

JsonObject: TypeAlias = "dict[str, JsonValue]"
"""A decoded JSON object."""

JsonLike: TypeAlias = (
    "bool | int | float | str | Sequence[JsonLike] | Mapping[str, JsonLike] | None"
)
"""A value :func:`dumps` can write: like :data:`JsonValue`, any sequence or mapping accepted."""

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps(value: Any) -> str:
    """Serialise ``value`` compactly, non-ASCII as raw UTF-8 (protocol.md §1.3).

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
