"""JSON value types and the strict I-JSON (RFC 7493) decoder every JMAP input goes through.

How it works: RFC 8620 §3.1 requires request bodies to be I-JSON, and §3.6.1 answers anything
else with ``notJSON``. The standard library parser is lenient in four ways that I-JSON is not,
so :func:`loads` tightens each of them:

- bytes must be UTF-8 (RFC 7493 §2.1); a byte-order mark is refused like any other junk;
- member names must be unique within an object (RFC 7493 §2.3);
- strings must not hold unpaired surrogates (``"\\ud800"``, RFC 7493 §2.1);
- ``NaN``, ``Infinity`` and numbers too large for a double are refused (RFC 7493 §2.2).

Nesting is bounded by ``max_depth`` (RFC 8259 §9 lets a parser set that limit), so no input
can exhaust the interpreter's recursion limit.
"""

from __future__ import annotations

import json
import math
import re
from typing import Final, TypeAlias

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "InvalidJsonError",
    "JsonObject",
    "JsonValue",
    "dumps",
    "loads",
]

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
"""Any JSON value as :func:`json.loads` returns it."""

JsonObject: TypeAlias = "dict[str, JsonValue]"
"""A JSON object; JMAP arguments, responses and most documents are one."""

DEFAULT_MAX_DEPTH: Final = 128
"""Deepest array/object nesting accepted. A JMAP request nests about five levels plus its
filter tree, so this leaves a filter room for well over fifty levels of operators."""

# A \uD800-\uDFFF escape in the raw text is the only way an unpaired surrogate gets in.
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")

_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_ASCII_ENCODER: Final = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=True, allow_nan=False
)


class InvalidJsonError(ValueError):
    """The input is not I-JSON, or nests deeper than allowed; ``str()`` says which rule broke."""


def _reject_constant(name: str) -> JsonValue:
    raise InvalidJsonError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InvalidJsonError(f"number {text[:40]} is too large for a double")
    return value


def _unique_members(pairs: list[tuple[str, JsonValue]]) -> JsonObject:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise InvalidJsonError(f"duplicate member name {name[:80]!r}")
            seen.add(name)
    return obj


def _check_tree(value: JsonValue, max_depth: int, check_surrogates: bool) -> None:
    """Walk the decoded tree without recursion, enforcing depth and (if needed) surrogates."""
    stack: list[tuple[JsonValue, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise InvalidJsonError(f"nested deeper than {max_depth} levels")
            for key, child in node.items():
                if check_surrogates and _SURROGATE.search(key):
                    raise InvalidJsonError("unpaired surrogate in a member name")
                stack.append((child, depth + 1))
        elif isinstance(node, list):
            if depth > max_depth:
                raise InvalidJsonError(f"nested deeper than {max_depth} levels")
            stack.extend((child, depth + 1) for child in node)
        elif check_surrogates and isinstance(node, str) and _SURROGATE.search(node):
            raise InvalidJsonError("unpaired surrogate in a string")


def loads(data: bytes | str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> JsonValue:
    """Parse one I-JSON document.

    Args:
        data: the document, as UTF-8 bytes or already-decoded text.
        max_depth: the deepest array/object nesting accepted (a top-level object is depth 1).

    Returns:
        The decoded value: dicts, lists, str, int, float, bool and None only.

    Raises:
        InvalidJsonError: the input is not UTF-8, not JSON, breaks an I-JSON rule or nests deeper
            than ``max_depth``. Anything else escaping is a bug.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidJsonError(f"not UTF-8 at byte {exc.start}") from None
    else:
        text = data
    try:
        value: JsonValue = json.loads(
            text,
            object_pairs_hook=_unique_members,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
    except InvalidJsonError:
        raise
    except RecursionError:
        raise InvalidJsonError(f"nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        # json.JSONDecodeError, or int() refusing a number with thousands of digits.
        raise InvalidJsonError(str(exc).splitlines()[0][:200]) from None
    _check_tree(value, max_depth, _SURROGATE_ESCAPE.search(text) is not None)
    return value


def dumps(value: JsonValue, *, ascii_only: bool = False) -> str:
    """Serialise ``value`` compactly.

    Args:
        value: the JSON value.
        ascii_only: escape every non-ASCII character as ``\\uXXXX``. The EventSource stream
            uses it because some SSE clients decode the stream as Latin-1 when the
            Content-Type carries no charset (the ``sseclient`` package that jmapc uses does).

    Raises:
        ValueError: ``value`` holds NaN or an infinity.
        TypeError: ``value`` holds something that is not JSON.
    """
    return (_ASCII_ENCODER if ascii_only else _ENCODER).encode(value)
