"""JMAP over WebSocket (RFC 8887): parse what the client sends, build what the server sends.

How it works: every message is one JSON object whose ``@type`` says what it is (§4.3). The
client sends a ``Request`` (a Request object plus an optional ``id``), a
``WebSocketPushEnable`` (``dataTypes``, ``pushState``) or a ``WebSocketPushDisable``.
:func:`parse_message` turns any text or bytes into one of :class:`WsRequest`,
:class:`WsPushEnable`, :class:`WsPushDisable` or :class:`WsRequestError` and never raises: a
message that is too large, not I-JSON, not an object, of unknown ``@type`` or not a valid
Request becomes a ``RequestError`` carrying the request-level problem and, when the message
had a readable string ``id``, its ``requestId`` (``null`` otherwise, as in RFC 8887 §5's
example). The connection stays open after such an error.

The server sends a ``Response`` (with ``requestId`` when the request had an ``id``), a
``RequestError``, or a ``StateChange`` with ``pushState`` (:func:`encode_state_change`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final, TypeAlias

from switchboard.jmap.capabilities import CoreCapability
from switchboard.jmap.errors import Limit, NotJson, NotRequest, RequestError, describe
from switchboard.jmap.jsonvalue import DEFAULT_MAX_DEPTH, InvalidJsonError, JsonObject, dumps, loads
from switchboard.jmap.push import StateChange
from switchboard.jmap.request import Request, Response, request_from_json

__all__ = [
    "SUBPROTOCOL",
    "WsMessage",
    "WsPushDisable",
    "WsPushEnable",
    "WsRequest",
    "WsRequestError",
    "encode_response",
    "encode_state_change",
    "parse_message",
]

SUBPROTOCOL: Final = "jmap"
"""RFC 8887 §3: the WebSocket subprotocol a client must ask for."""


@dataclass(frozen=True, slots=True)
class WsRequest:
    """A ``Request`` message: the validated request and the client's ``id`` if any."""

    request_id: str | None
    request: Request


@dataclass(frozen=True, slots=True)
class WsPushEnable:
    """A ``WebSocketPushEnable`` message (§4.3.5).

    Attributes:
        data_types: the type names to push, or ``None`` for all.
        push_state: the last ``pushState`` the client saw, to catch up from, if any.
    """

    data_types: frozenset[str] | None
    push_state: str | None


@dataclass(frozen=True, slots=True)
class WsPushDisable:
    """A ``WebSocketPushDisable`` message (§4.3.6): stop pushing on this connection."""


@dataclass(frozen=True, slots=True)
class WsRequestError:
    """A message that failed: what to answer with (a ``RequestError`` message)."""

    request_id: str | None
    error: RequestError

    def to_json(self) -> JsonObject:
        """The ``RequestError`` message: ``@type``, ``requestId`` and the problem details."""
        return {"@type": "RequestError", "requestId": self.request_id, **self.error.problem()}

    def encode(self) -> str:
        """The message as text."""
        return dumps(self.to_json())


WsMessage: TypeAlias = WsRequest | WsPushEnable | WsPushDisable | WsRequestError
"""Anything :func:`parse_message` returns."""


def _push_enable(message: JsonObject) -> WsMessage:
    data_types, push_state = message.get("dataTypes"), message.get("pushState")
    if data_types is not None and (
        not isinstance(data_types, list) or not all(isinstance(t, str) for t in data_types)
    ):
        return WsRequestError(None, NotRequest("dataTypes must be an array of strings or null"))
    if push_state is not None and not isinstance(push_state, str):
        return WsRequestError(None, NotRequest("pushState must be a string"))
    types = None if data_types is None else frozenset(str(t) for t in data_types)
    return WsPushEnable(types, push_state)


def parse_message(
    data: str | bytes,
    *,
    core: CoreCapability,
    supported: Collection[str],
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> WsMessage:
    """Parse one client message.

    Args:
        data: the message (text frame, or a binary frame's bytes).
        core: the limits announced in the Session (``maxSizeRequest`` applies per message).
        supported: the capability URNs this server serves.
        max_depth: the deepest JSON nesting accepted.

    Returns:
        The message, or a :class:`WsRequestError` to send back. Never raises: anything
        escaping is a bug.
    """
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > core.max_size_request:
        return WsRequestError(
            None,
            Limit("maxSizeRequest", f"The message is {size} octets; the limit is "
                  f"{core.max_size_request}."),
        )
    try:
        message = loads(data, max_depth=max_depth)
    except InvalidJsonError as exc:
        return WsRequestError(None, NotJson(f"The message did not parse as I-JSON: {exc}"))
    if not isinstance(message, dict):
        return WsRequestError(None, NotRequest("a JMAP WebSocket message is a JSON object"))
    kind = message.get("@type")
    if kind == "WebSocketPushEnable":
        return _push_enable(message)
    if kind == "WebSocketPushDisable":
        return WsPushDisable()
    if kind != "Request":
        return WsRequestError(None, NotRequest(f"unknown @type {describe(kind)}"))
    request_id = message.get("id")
    if request_id is not None and not isinstance(request_id, str):
        return WsRequestError(None, NotRequest("a Request's id must be a string"))
    try:
        request = request_from_json(message, core=core, supported=supported)
    except RequestError as error:
        return WsRequestError(request_id, error)
    return WsRequest(request_id, request)


def encode_response(response: Response, request_id: str | None) -> str:
    """The ``Response`` message for a request (``requestId`` only if it had an ``id``)."""
    doc: JsonObject = {"@type": "Response"}
    if request_id is not None:
        doc["requestId"] = request_id
    doc.update(response.to_json())
    return dumps(doc)


def encode_state_change(change: StateChange) -> str:
    """The ``StateChange`` message pushed on a WebSocket, with its ``pushState`` if set."""
    return dumps(change.to_json())
