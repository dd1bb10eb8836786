"""Result references (RFC 8620 §3.7): ``#arg`` arguments taken from an earlier response.

How it works: an argument named ``#ids`` holds ``{"resultOf": callId, "name": methodName,
"path": pointer}``. :func:`resolve_arguments` finds the **first** earlier response with that
call id, checks its name, and evaluates ``path`` on its arguments with :func:`evaluate_pointer`:
a JSON Pointer (RFC 6901) extended so that the token ``*`` on an array applies the rest of the
pointer to every item and concatenates the results, flattening one level when those results are
arrays themselves (``/list/*/emailIds`` gives one flat list of ids). The value replaces the
argument under its plain name (``ids``).

Every failure to resolve is ``invalidResultReference``; giving both ``ids`` and ``#ids`` is
``invalidArguments``, as §3.7 requires.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from switchboard.jmap.errors import InvalidArguments, InvalidResultReference, describe
from switchboard.jmap.jsonvalue import JsonObject, JsonValue
from switchboard.jmap.request import Invocation

__all__ = [
    "PointerError",
    "ResultReference",
    "evaluate_pointer",
    "parse_pointer",
    "resolve_arguments",
]


# RFC 6901 §3: "~" only ever starts the escapes "~0" and "~1".
_BAD_ESCAPE: Final = re.compile("~(?![01])")


class PointerError(ValueError):
    """A JSON Pointer is malformed or does not lead to a value in the document."""


@dataclass(frozen=True, slots=True)
class ResultReference:
    """A ResultReference object (§3.7).

    Attributes:
        result_of: the method call id of an earlier call in the same request.
        name: the response name required of that call's response.
        path: the extended JSON Pointer into that response's arguments.
    """

    result_of: str
    name: str
    path: str

    @classmethod
    def from_json(cls, value: JsonValue) -> ResultReference:
        """Read a ResultReference object.

        Raises:
            InvalidResultReference: ``value`` is not an object with string ``resultOf``,
                ``name`` and ``path``.
        """
        if isinstance(value, dict):
            result_of, name, path = value.get("resultOf"), value.get("name"), value.get("path")
            if isinstance(result_of, str) and isinstance(name, str) and isinstance(path, str):
                return cls(result_of, name, path)
        raise InvalidResultReference(f"not a ResultReference object: {describe(value)}")

    def to_json(self) -> JsonObject:
        """The ResultReference object."""
        return {"resultOf": self.result_of, "name": self.name, "path": self.path}


def parse_pointer(path: str) -> tuple[str, ...]:
    """Split a JSON Pointer into unescaped reference tokens (RFC 6901 §3–4).

    ``""`` is the whole document; any other pointer starts with ``/``. ``~1`` becomes ``/``
    and then ``~0`` becomes ``~``, in that order, so ``~01`` is the key ``~1``.

    Raises:
        PointerError: the pointer does not start with ``/`` or holds a ``~`` not followed by
            ``0`` or ``1``.
    """
    if path == "":
        return ()
    if not path.startswith("/"):
        raise PointerError(f"a JSON Pointer starts with '/': {path[:60]!r}")
    tokens = path[1:].split("/")
    for token in tokens:
        if _BAD_ESCAPE.search(token):
            raise PointerError(f"bad '~' escape in {token[:60]!r}")
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in tokens)


def _array_index(token: str, length: int) -> int:
    # RFC 6901 §4: "0" or a number without leading zeros; "-" names the (nonexistent)
    # element after the last, which evaluation must treat as an error.
    if not token.isascii() or not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PointerError(f"{token[:60]!r} is not an array index")
    index = int(token)
    if index >= length:
        raise PointerError(f"index {index} is past the end of an array of {length}")
    return index


def _evaluate(value: JsonValue, tokens: Sequence[str]) -> JsonValue:
    for position, token in enumerate(tokens):
        if isinstance(value, list):
            if token == "*":  # noqa: S105 (a JSON Pointer token, not a password)
                # §3.7: map the rest of the pointer over the items, flattening arrays.
                rest = tokens[position + 1 :]
                mapped: list[JsonValue] = []
                for item in value:
                    result = _evaluate(item, rest)
                    if isinstance(result, list):
                        mapped.extend(result)
                    else:
                        mapped.append(result)
                return mapped
            value = value[_array_index(token, len(value))]
        elif isinstance(value, dict):
            if token not in value:
                raise PointerError(f"no member {token[:60]!r}")
            value = value[token]
        else:
            raise PointerError(f"cannot descend into a {type(value).__name__} with {token!r}")
    return value


def evaluate_pointer(document: JsonValue, path: str) -> JsonValue:
    """Evaluate an extended JSON Pointer (RFC 6901 plus §3.7's ``*``) on ``document``.

    Raises:
        PointerError: the pointer is malformed or leads nowhere (a missing member, an index
            past the end, a token applied to a string or number).
    """
    return _evaluate(document, parse_pointer(path))


def _resolve(reference: ResultReference, responses: Sequence[Invocation]) -> JsonValue:
    for response in responses:
        if response.call_id == reference.result_of:
            break
    else:
        raise InvalidResultReference(
            f"no earlier response has the method call id {describe(reference.result_of)}"
        )
    if response.name != reference.name:
        raise InvalidResultReference(
            f"the response to {describe(reference.result_of)} is {describe(response.name)}, "
            f"not {describe(reference.name)}"
        )
    try:
        return evaluate_pointer(response.arguments, reference.path)
    except PointerError as exc:
        raise InvalidResultReference(f"path {describe(reference.path)}: {exc}") from None


def resolve_arguments(arguments: JsonObject, responses: Sequence[Invocation]) -> JsonObject:
    """Replace every ``#name`` argument by the value its reference points to.

    Args:
        arguments: the call's arguments as the client sent them (not modified).
        responses: the responses of the calls already processed in this request, in order.

    Returns:
        A new arguments object with plain names only.

    Raises:
        InvalidArguments: an argument is given both plainly and as a reference.
        InvalidResultReference: a reference is malformed or does not resolve.
    """
    if not any(key.startswith("#") for key in arguments):
        return arguments
    resolved: JsonObject = {}
    for key, value in arguments.items():
        if not key.startswith("#"):
            resolved[key] = value
            continue
        plain = key[1:]
        if plain in arguments:
            raise InvalidArguments(f"{describe(plain)} is given both plainly and as {key!r}")
        resolved[plain] = _resolve(ResultReference.from_json(value), responses)
    return resolved
