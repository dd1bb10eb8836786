"""Request frames in, reply frames out: the byte-level edge of the wire protocol.

How it works (docs/protocol.md, "Frames"): a request frame is a JSON array of commands
``[method, args, tag?]``. :func:`decode_frame` turns it into a :class:`DecodedFrame` whose
``items`` line up one to one with the commands — a :class:`Command` to run, or the ready
``invalidCommand`` :class:`Response` for a malformed element, so the batch goes on and the reply
keeps one response per command in order. When the frame as a whole is unusable, ``items`` is
empty and ``frame_error`` is the untagged response to send alone, as the one-element reply
frame ``[["error", {"type": …, "method": null, "arguments": null}]]``:

* not UTF-8, not JSON, a top level that is not an array, or a string holding a lone UTF-16
  surrogate (``"\\ud800"``; RFC 7493 §2.1 forbids them and they cannot be re-encoded as UTF-8
  when echoed) → ``invalidJson``;
* longer than ``max_frame_bytes`` of UTF-8, nested deeper than ``max_depth``, or a batch longer
  than ``max_batch`` → ``tooLarge`` (same shape, with a description), checked before the bytes
  are parsed whenever the size alone decides.

JSON numbers: integers stay exact Python ints of any size (a tag is echoed digit for digit), up
to CPython's 4300-digit conversion limit, beyond which the frame is ``invalidJson``; a float that
overflows to infinity (``1e999``) is ``invalidJson`` too, since it could never be echoed. Whether
a number is in range for its argument is the validators' business (``protocol.methods``).

:func:`encode_frame` and :func:`encode_push` write compact JSON through
:mod:`switchboard.protocol.wirejson` as UTF-8 ``bytes``, which the server hands to the WebSocket
as a text frame without decoding them to ``str`` and encoding them again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from switchboard.protocol import wirejson
from switchboard.protocol.errors import InvalidCommand, InvalidJson, TooLarge, error_response
from switchboard.protocol.messages import Command, Response

__all__ = [
    "DEFAULT_MAX_BATCH",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_FRAME_BYTES",
    "Command",
    "DecodedFrame",
    "Response",
    "decode_frame",
    "encode_frame",
    "encode_push",
]

DEFAULT_MAX_FRAME_BYTES: Final = 1_048_576
"""Largest request frame accepted, in bytes of UTF-8 (1 MiB)."""
DEFAULT_MAX_BATCH: Final = 1000
"""Most commands in one request frame."""
DEFAULT_MAX_DEPTH: Final = 64
"""Deepest nesting of arrays and objects in a request frame, the frame array itself counted as
1; keeps every later recursive walk (redaction, encoding) far from Python's recursion limit."""

# A \uD800–\uDFFF escape; only frames holding one need the slower lone-surrogate walk.
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    """The meaning of one request frame.

    Attributes:
        items: one entry per batch element, in order: a :class:`Command` to execute, or the
            error :class:`Response` that answers a malformed element.
        frame_error: the response to send alone (as a one-element frame) when the whole frame
            is unusable; ``items`` is then empty. ``None`` for a usable frame.
    """

    items: tuple[Command | Response, ...] = ()
    frame_error: Response | None = None


def _frame_error(error_type: str, description: str | None) -> DecodedFrame:
    return DecodedFrame((), error_response(error_type, None, None, description=description))


def _check_tree(value: Any, max_depth: int, check_surrogates: bool) -> str | None:
    """Walk the decoded JSON without recursion; return ``"depth"``/``"surrogate"`` on a fault."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, list):
            if depth > max_depth:
                return "depth"
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, dict):
            if depth > max_depth:
                return "depth"
            for key, child in node.items():
                if check_surrogates and _has_lone_surrogate(key):
                    return "surrogate"
                stack.append((child, depth + 1))
        elif check_surrogates and isinstance(node, str) and _has_lone_surrogate(node):
            return "surrogate"
    return None


def _has_lone_surrogate(text: str) -> bool:
    # The JSON parsers pair valid surrogate escapes into one code point, so any surrogate code point
    # left in a decoded string is a lone one.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _decode_command(element: Any) -> Command | Response:
    if isinstance(element, list) and len(element) in (2, 3) and isinstance(element[0], str):
        if len(element) == 3:
            return Command(element[0], element[1], element[2], tagged=True)
        return Command(element[0], element[1])
    # Echo the tag only when there were exactly 3 elements (a 4-element "command" has no
    # position that is clearly its tag); method when it is a string; arguments when present.
    method = arguments = tag = None
    tagged = False
    if isinstance(element, list):
        if element and isinstance(element[0], str):
            method = element[0]
        if len(element) >= 2:
            arguments = element[1]
        if len(element) == 3:
            tag, tagged = element[2], True
    return error_response(
        InvalidCommand.type,
        method,
        arguments,
        tag,
        tagged,
        description="a command is [method, args] or [method, args, tag] with a string method",
    )


def decode_frame(
    data: str | bytes,
    *,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> DecodedFrame:
    """Decode one request frame (a WebSocket text message, as ``str`` or UTF-8 ``bytes``).

    Args:
        data: the message payload.
        max_frame_bytes: the largest payload accepted, in bytes of UTF-8.
        max_batch: the most commands accepted in one frame.
        max_depth: the deepest array/object nesting accepted (the frame array is depth 1).

    Returns:
        A :class:`DecodedFrame`; every failure of the peer's making is a response inside it.

    Raises:
        Nothing on purpose: any exception escaping this function is a bug.
    """
    if isinstance(data, str):
        # Characters never outnumber UTF-8 bytes, so a long str is too large without encoding.
        if len(data) > max_frame_bytes:
            return _frame_error(TooLarge.type, f"frame over {max_frame_bytes} bytes")
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError:
            # Only a str built in-process can hold a lone surrogate; websockets never gives one.
            return _frame_error(InvalidJson.type, "frame is not valid UTF-8")
        text = data
    else:
        size = len(data)
        if size <= max_frame_bytes:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return _frame_error(InvalidJson.type, "frame is not valid UTF-8")
    if size > max_frame_bytes:
        return _frame_error(TooLarge.type, f"frame over {max_frame_bytes} bytes")

    try:
        value = wirejson.loads(text)
    except RecursionError:
        return _frame_error(TooLarge.type, f"frame nested deeper than {max_depth}")
    except ValueError:
        # JSONDecodeError, NaN/Infinity, an overflowing float, an integer over 4300 digits.
        return _frame_error(InvalidJson.type, None)

    if not isinstance(value, list):
        return _frame_error(InvalidJson.type, "a frame is a JSON array of commands")
    if len(value) > max_batch:
        return _frame_error(TooLarge.type, f"batch over {max_batch} commands")
    fault = _check_tree(value, max_depth, _SURROGATE_ESCAPE.search(text) is not None)
    if fault == "depth":
        return _frame_error(TooLarge.type, f"frame nested deeper than {max_depth}")
    if fault == "surrogate":
        return _frame_error(InvalidJson.type, "a string holds a lone UTF-16 surrogate")
    return DecodedFrame(tuple(_decode_command(element) for element in value))


def encode_frame(responses: Sequence[Response]) -> bytes:
    """Write one reply frame, UTF-8: a JSON array of the responses in order (``[]`` for none).

    Raises:
        TypeError: a response holds something JSON cannot represent (a bug in the caller).
        ValueError: a response holds NaN or an infinity (a bug in the caller).
    """
    return wirejson.dumpb([response.to_json() for response in responses])


def encode_push(name: str, args: Any) -> bytes:
    """Write an unsolicited frame, UTF-8, ``[[name, args]]``: one response, never tagged.

    Raises:
        TypeError: ``args`` holds something JSON cannot represent (a bug in the caller).
        ValueError: ``args`` holds NaN or an infinity (a bug in the caller).
    """
    return wirejson.dumpb([[name, args]])
