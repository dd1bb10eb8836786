"""Run the method calls of a Request in order through method handlers (RFC 8620 §3.6).

How it works: :func:`process_request` walks ``methodCalls`` in order. For each call it

1. finds the method in the registry; an unknown name, or a method whose capability the
   request did not list in ``using``, is ``unknownMethod``;
2. resolves ``#`` result references against the responses so far (§3.7);
3. awaits the method's handler, which returns one or more responses (a method may answer
   with implicit extra responses, §3.6) and any creation ids it assigned (§5.3);
4. turns a :class:`~switchboard.jmap.errors.MethodError` into that call's error response and
   goes on with the next call, as §3.6.2 requires.

The dispatcher only awaits the handlers: it does no I/O of its own, so tests drive it with
plain coroutine handlers. Handlers are the server's (:class:`MethodHandler`); the one method
that needs no server, ``Core/echo``, is here as :data:`CORE_ECHO`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from switchboard.jmap.capabilities import CORE
from switchboard.jmap.errors import MethodError, UnknownMethod, describe
from switchboard.jmap.jsonvalue import JsonObject
from switchboard.jmap.request import Invocation, Request, Response
from switchboard.jmap.resultref import resolve_arguments

__all__ = [
    "CORE_ECHO",
    "Method",
    "MethodCall",
    "MethodHandler",
    "MethodResult",
    "method_registry",
    "process_request",
]


@dataclass(frozen=True, slots=True)
class MethodCall:
    """What a handler receives: one call, references already resolved.

    Attributes:
        name: the method name.
        arguments: the arguments, ``#`` references replaced by their values (read-only).
        call_id: the client's method call id.
        using: the capabilities of the request.
        created_ids: creation id → server id for everything created so far in this request
            (and given by the client in ``createdIds``), so ``#creationId`` ids resolve.
    """

    name: str
    arguments: JsonObject
    call_id: str
    using: frozenset[str]
    created_ids: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class MethodResult:
    """What a handler returns.

    Attributes:
        responses: ``(name, arguments)`` of each response, usually just one.
        created_ids: creation ids this call assigned (a /set's ``created``).
    """

    responses: tuple[tuple[str, JsonObject], ...]
    created_ids: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def single(
        cls, name: str, arguments: JsonObject, created_ids: Mapping[str, str] | None = None
    ) -> MethodResult:
        """The common case: one response."""
        return cls(((name, arguments),), dict(created_ids or {}))


class MethodHandler(Protocol):
    """A method implementation: the server provides one per method it serves."""

    async def __call__(self, call: MethodCall) -> MethodResult:
        """Perform ``call``.

        Raises:
            MethodError: the call failed; its type becomes the error response. Any other
                exception is the handler's bug (see ``on_unexpected``).
        """
        ...


@dataclass(frozen=True, slots=True)
class Method:
    """A method the server serves.

    Attributes:
        name: the method name, e.g. ``"Mailbox/get"``.
        capability: the capability that defines it; the request must list it in ``using``.
        handler: the implementation.
    """

    name: str
    capability: str
    handler: MethodHandler


async def _echo(call: MethodCall) -> MethodResult:
    # RFC 8620 §4: "The Core/echo method returns exactly the same arguments as it is given."
    return MethodResult.single("Core/echo", call.arguments)


CORE_ECHO = Method("Core/echo", CORE, _echo)
"""RFC 8620 §4 ``Core/echo``, which needs no server."""


def method_registry(methods: Iterable[Method]) -> Mapping[str, Method]:
    """Index methods by name for :func:`process_request`.

    Raises:
        ValueError: two methods share a name.
    """
    registry: dict[str, Method] = {}
    for method in methods:
        if method.name in registry:
            raise ValueError(f"method {method.name!r} registered twice")
        registry[method.name] = method
    return MappingProxyType(registry)


UnexpectedHook = Callable[[Exception, Invocation], MethodError]
"""Called with a handler's unexpected exception and its call; returns the error to answer."""


async def _run_call(
    invocation: Invocation,
    request: Request,
    methods: Mapping[str, Method],
    responses: list[Invocation],
    created: dict[str, str],
    on_unexpected: UnexpectedHook | None,
) -> list[Invocation]:
    call_id = invocation.call_id
    try:
        method = methods.get(invocation.name)
        if method is None:
            raise UnknownMethod(f"unknown method {describe(invocation.name)}")
        if method.capability not in request.using:
            raise UnknownMethod(
                f"{invocation.name} needs {method.capability} in the request's using"
            )
        arguments = resolve_arguments(invocation.arguments, responses)
        call = MethodCall(
            invocation.name, arguments, call_id, request.using, MappingProxyType(dict(created))
        )
        try:
            result = await method.handler(call)
        except MethodError:
            raise
        except Exception as exc:
            if on_unexpected is None:
                raise
            raise on_unexpected(exc, invocation) from exc
    except MethodError as error:
        name, args, _ = error.invocation(call_id)
        return [Invocation(name, args, call_id)]
    created.update(result.created_ids)
    return [Invocation(name, args, call_id) for name, args in result.responses]


async def process_request(
    request: Request,
    methods: Mapping[str, Method],
    *,
    session_state: Callable[[], str],
    on_unexpected: UnexpectedHook | None = None,
) -> Response:
    """Run every call of ``request`` in order and collect the Response.

    Args:
        request: a request validated by :func:`~switchboard.jmap.request.parse_request`.
        methods: the served methods, by name (:func:`method_registry`).
        session_state: returns the Session's current state; called once, after the last
            call, so a change made by the request itself is reflected.
        on_unexpected: when given, an exception other than a MethodError from a handler is
            passed to it (the server logs it) and the MethodError it returns (usually
            ``ServerFail``) answers that call; the next calls still run. When ``None``, the
            exception propagates.

    Returns:
        The Response, ``createdIds`` included only when the request had it.

    Raises:
        Exception: whatever a handler raised unexpectedly, when ``on_unexpected`` is None.
    """
    responses: list[Invocation] = []
    created: dict[str, str] = dict(request.created_ids or {})
    for invocation in request.method_calls:
        responses.extend(
            await _run_call(invocation, request, methods, responses, created, on_unexpected)
        )
    return Response(
        tuple(responses),
        session_state(),
        MappingProxyType(created) if request.created_ids is not None else None,
    )
