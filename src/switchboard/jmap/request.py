"""Parse and validate a JMAP Request object (RFC 8620 §3.3), and shape the Response (§3.4).

How it works: :func:`parse_request` takes the raw body and applies, in this order,

1. ``maxSizeRequest`` on the octets (before decoding anything) → ``limit``;
2. the strict I-JSON decoder → ``notJSON``;
3. the Request type signature (``using: String[]``, ``methodCalls: Invocation[]``,
   ``createdIds: Id[Id]`` optional) → ``notRequest``;
4. every capability in ``using`` must be one we serve → ``unknownCapability``;
5. ``maxCallsInRequest`` → ``limit``.

Any input gives a :class:`Request` or one of those :class:`~switchboard.jmap.errors.RequestError`
subclasses; anything else escaping is a bug. Members the signature does not name are ignored,
so the RFC 8887 ``@type``/``id`` members of a WebSocket request pass through unharmed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from switchboard.jmap.capabilities import CoreCapability
from switchboard.jmap.datatypes import is_valid_id
from switchboard.jmap.errors import Limit, NotJson, NotRequest, UnknownCapability, describe
from switchboard.jmap.jsonvalue import (
    DEFAULT_MAX_DEPTH,
    InvalidJsonError,
    JsonObject,
    JsonValue,
    loads,
)

__all__ = [
    "Invocation",
    "Request",
    "Response",
    "parse_request",
    "request_from_json",
]


@dataclass(frozen=True, slots=True)
class Invocation:
    """One method call or method response: ``[name, arguments, methodCallId]`` (§3.2).

    Attributes:
        name: the method name, e.g. ``"Email/get"`` (``"error"`` for an error response).
        arguments: the arguments object (treat as read-only).
        call_id: the client's method call id, echoed on every response to the call.
    """

    name: str
    arguments: JsonObject
    call_id: str

    def to_json(self) -> list[JsonValue]:
        """The invocation as the three-element array it travels as."""
        return [self.name, self.arguments, self.call_id]


@dataclass(frozen=True, slots=True)
class Request:
    """A validated Request object.

    Attributes:
        using: the capabilities the client asked for, all of them served here.
        method_calls: the calls, in order.
        created_ids: the client's creation id → server id map, or ``None`` when the request
            had none (then the response carries none either, §3.4).
    """

    using: frozenset[str]
    method_calls: tuple[Invocation, ...]
    created_ids: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """A Response object (§3.4).

    Attributes:
        method_responses: every response, in the order the calls produced them.
        session_state: the Session resource's current ``state``.
        created_ids: the creation id map after all calls, present only if the request had one.
    """

    method_responses: tuple[Invocation, ...]
    session_state: str
    created_ids: Mapping[str, str] | None = None

    def to_json(self) -> JsonObject:
        """The Response object; ``createdIds`` only when the request carried it."""
        doc: JsonObject = {
            "methodResponses": [response.to_json() for response in self.method_responses],
        }
        if self.created_ids is not None:
            doc["createdIds"] = dict(self.created_ids)
        doc["sessionState"] = self.session_state
        return doc


def _invocation(index: int, value: JsonValue) -> Invocation:
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not isinstance(value[0], str)
        or not isinstance(value[1], dict)
        or not isinstance(value[2], str)
    ):
        raise NotRequest(
            f"methodCalls[{index}] is not [name: String, arguments: Object, id: String]: "
            + describe(value)
        )
    return Invocation(value[0], value[1], value[2])


def _created_ids(value: JsonValue) -> dict[str, str] | None:
    # null is taken as "absent": some clients serialise an unset optional member as null.
    if value is None:
        return None
    if not isinstance(value, dict):
        raise NotRequest("createdIds is not an object")
    for creation_id, server_id in value.items():
        if not is_valid_id(creation_id) or not is_valid_id(server_id):
            raise NotRequest(f"createdIds maps {describe(creation_id)} to a non-Id")
    return {key: str(val) for key, val in value.items()}


def request_from_json(
    value: JsonValue,
    *,
    core: CoreCapability,
    supported: Collection[str],
) -> Request:
    """Validate an already-decoded Request object (steps 3–5 of the module docstring).

    Args:
        value: the decoded JSON.
        core: the limits announced in the Session.
        supported: the capability URNs this server serves.

    Raises:
        NotRequest: ``value`` does not have the Request type signature.
        UnknownCapability: ``using`` names a capability not in ``supported``.
        Limit: more method calls than ``core.max_calls_in_request``.
    """
    if not isinstance(value, dict):
        raise NotRequest("the request is not a JSON object")
    using = value.get("using")
    if not isinstance(using, list) or not all(isinstance(urn, str) for urn in using):
        raise NotRequest("using is missing or not an array of strings")
    calls = value.get("methodCalls")
    if not isinstance(calls, list):
        raise NotRequest("methodCalls is missing or not an array")
    invocations = tuple(_invocation(index, call) for index, call in enumerate(calls))
    created_ids = _created_ids(value.get("createdIds"))
    capabilities = frozenset(str(urn) for urn in using)
    unknown = sorted(capabilities.difference(supported))
    if unknown:
        raise UnknownCapability(
            "The request used capabilities this server does not support: " + ", ".join(unknown)
        )
    if len(invocations) > core.max_calls_in_request:
        raise Limit(
            "maxCallsInRequest",
            f"The request has {len(invocations)} method calls; "
            f"the limit is {core.max_calls_in_request}.",
        )
    return Request(capabilities, invocations, created_ids)


def parse_request(
    body: bytes | str,
    *,
    core: CoreCapability,
    supported: Collection[str],
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Request:
    """Parse and validate a Request body (all five steps of the module docstring).

    Args:
        body: the HTTP body or WebSocket message, as bytes or text.
        core: the limits announced in the Session.
        supported: the capability URNs this server serves.
        max_depth: the deepest JSON nesting accepted.

    Raises:
        Limit: the body is over ``core.max_size_request`` octets, or has more method calls
            than ``core.max_calls_in_request``.
        NotJson: the body is not I-JSON (or nests deeper than ``max_depth``).
        NotRequest: the JSON does not have the Request type signature.
        UnknownCapability: ``using`` names a capability not in ``supported``.
    """
    size = len(body) if isinstance(body, bytes) else len(body.encode("utf-8", "surrogatepass"))
    if size > core.max_size_request:
        raise Limit(
            "maxSizeRequest",
            f"The request is {size} octets; the limit is {core.max_size_request}.",
        )
    try:
        value = loads(body, max_depth=max_depth)
    except InvalidJsonError as exc:
        raise NotJson(f"The request did not parse as I-JSON: {exc}") from None
    return request_from_json(value, core=core, supported=supported)
