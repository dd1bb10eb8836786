"""JSON exactly as the wire wants it: compact, raw UTF-8, shared by server and client.

How it works: ``orjson`` does the work — about ten times the standard library's speed on a
large ``getMessages`` reply — and the standard library takes over for the few values orjson
treats differently, so the result is the same either way:

* **Integers beyond 64 bits** (a client's tag is any JSON value and is echoed digit for digit):
  ``orjson.dumps`` refuses them, so such a value is written by the standard library; and
  ``orjson.loads`` silently reads them as floats, so a document holding 19 digits in a row
  (2**63 has 19) is read by the standard library — found by ``bytes.translate``, in C, which
  costs a fraction of the parse.
* **NaN and infinities**: orjson writes them as ``null``; JSON has no such values, and a float
  the server computed as NaN is a bug to surface, not a ``null`` to send. Only an output that
  holds ``null`` at all can hide one, so a small output (up to 64 KiB) is searched for
  ``null`` and the value walked only then; a larger one is walked at once. The walk costs per
  value, not per byte, and takes each container's values' types in one C call (``set(map(type,
  …))``): 0.3 ms for a 10 MB ``getMessages`` reply, where searching its bytes took 5 ms.
* **Documents over 64 KiB are read by orjson and walked for floats**: the 19-digit search costs
  per byte (9 ms on a 10 MB reply), the walk per value; a large document holding any float at
  all (which a too-wide integer becomes) is read again by the standard library.
* **Anything else orjson refuses** (a non-string dict key, a lone surrogate, nesting deeper than
  orjson's limit, invalid JSON) goes to the standard library, which either handles it as it
  always did or raises the error it always raised.

Floats are written in the shortest form that reads back as the same double; orjson's spelling
can differ from the standard library's (``1.5e-7`` for ``1.5e-07``), never the value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

import orjson

__all__ = [
    "MAX_SAFE_INTEGER",
    "JsonLike",
    "JsonObject",
    "JsonValue",
    "dumpb",
    "dumps",
    "loads",
    "safe_int",
]

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

# orjson would write dataclasses and datetimes; the wire never carries them, and the standard
# library's TypeError for them is what catches the bug of passing one.
_ORJSON_OPTIONS: Final = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME

# orjson.loads reads an integer outside -2**63..2**64-1 (19 digits or more) as a float: such a
# document is found by mapping every digit to "0" and anything else to " " and looking for 19
# zeros in a row (in a string or a long fraction too, which the slower path reads as well).
_DIGITS_AS_ZEROS: Final = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_WIDE_RUN: Final = b"0" * 19
# Up to this size a document is searched byte by byte (cheap when small); beyond it, walked.
_SEARCH_UP_TO: Final = 64 * 1024
_CONTAINERS: Final = (dict, list, tuple)


def safe_int(value: int | None) -> int | None:
    """``value`` when every client reads it exactly, else ``None`` ("unknown").

    For numbers another server chose, such as an IMAP server's message sizes: RFC 3501 makes
    them 32-bit, but nothing stops a broken server from sending 20 digits.
    """
    if value is None or -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value
    return None


def dumpb(value: Any) -> bytes:
    """Serialise ``value`` to UTF-8 bytes: compact, non-ASCII raw, ``/`` unescaped (§1.3).

    What the server sends: a WebSocket text frame takes these bytes as they are.

    Raises:
        TypeError: ``value`` holds something JSON cannot represent.
        ValueError: ``value`` holds NaN or an infinity, which JSON does not allow, or a string
            with a lone surrogate, which UTF-8 cannot carry (``UnicodeEncodeError``).
    """
    try:
        data = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return _encoder.encode(value).encode("utf-8")
    if len(data) > _SEARCH_UP_TO or b"null" in data:
        _refuse_non_finite(value)
    return data


def dumps(value: Any) -> str:
    """Serialise ``value`` compactly, non-ASCII as raw UTF-8 (docs/protocol.md, "Frames"), as text.

    The same JSON as :func:`dumpb`, for the stores and the client, which want ``str``. A string
    holding a lone surrogate is written as the standard library writes it (callers that need
    UTF-8 check for it, e.g. ``store.codec``).

    Raises:
        TypeError: ``value`` holds something JSON cannot represent.
        ValueError: ``value`` holds NaN or an infinity, which JSON does not allow.
    """
    try:
        data = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return _encoder.encode(value)
    if len(data) > _SEARCH_UP_TO or b"null" in data:
        _refuse_non_finite(value)
    return data.decode("utf-8")


def loads(text: str | bytes) -> Any:
    """Parse one JSON document; NaN, infinities and overflowing numbers (``1e999``) are refused.

    Integers come back exact at any size, up to CPython's 4300-digit conversion limit.

    Raises:
        ValueError: ``text`` is not valid JSON (``json.JSONDecodeError`` is a ``ValueError``),
            or (for bytes) not valid UTF-8 (``UnicodeDecodeError`` is a ``ValueError`` too).
        RecursionError: nesting deeper than the standard library's parser can follow.
    """
    try:
        if len(text) <= _SEARCH_UP_TO:
            data = text if isinstance(text, bytes) else text.encode("utf-8")
            if _WIDE_RUN not in data.translate(_DIGITS_AS_ZEROS):
                return orjson.loads(data)
        else:
            # orjson reads a str's own UTF-8 form: no encoded copy of a large document (a
            # fresh 10 MB buffer costs ~4 ms of page faults on the benchmark's machine).
            value = orjson.loads(text)
            if not _holds_float(value):
                return value
    except (orjson.JSONDecodeError, UnicodeEncodeError):
        pass  # the standard library decides, with its own error (or a lone surrogate)
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if text.startswith("\ufeff"):  # what json.loads refuses before decoding
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _decoder.decode(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text} overflows a double")
    return value


# The standard library's decoder, built once (json.loads with arguments builds one per call).
_decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _kinds(node: Any) -> tuple[set[type], Any]:
    """The types of a container's values (one C call) and those values."""
    items = node.values() if isinstance(node, dict) else node
    return set(map(type, items)), items


def _refuse_non_finite(value: Any) -> None:
    """Raise if ``value`` holds a NaN or infinite float (orjson wrote it as ``null``).

    Only containers holding floats or containers are looked into value by value: this walk runs
    over whole ``getMessages`` replies, whose strings it passes over in C.
    """
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float):
            if not math.isfinite(node):
                raise ValueError("Out of range float values are not JSON compliant")
            continue
        if not isinstance(node, _CONTAINERS):
            continue
        kinds, items = _kinds(node)
        if any(issubclass(kind, float | dict | list | tuple) for kind in kinds):
            stack.extend(item for item in items if isinstance(item, float | dict | list | tuple))


def _holds_float(value: Any) -> bool:
    """Whether a document orjson read holds a float anywhere (only dicts and lists nest)."""
    if type(value) is float:
        return True
    stack = [value]
    while stack:
        node = stack.pop()
        if type(node) is not dict and type(node) is not list:
            continue
        kinds, items = _kinds(node)
        if float in kinds:
            return True
        if dict in kinds or list in kinds:
            stack.extend(item for item in items if type(item) is dict or type(item) is list)
    return False
