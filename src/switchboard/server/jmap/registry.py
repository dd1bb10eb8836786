"""The contract between the JMAP transport and the methods: handlers, their context, blobs.

The transport (the API endpoint and the WebSocket, :mod:`~switchboard.server.jmap.routes` and
:mod:`~switchboard.server.jmap.wsapi`) parses a request, authenticates the caller and runs the
calls in order with :func:`switchboard.jmap.dispatch.process_request`. The methods themselves
live elsewhere and plug in here:

- a method is registered once, at wiring time, with :meth:`MethodRegistry.register`: its name,
  the capability a request must list in ``using`` for it, and a :class:`ServerMethodHandler`;
- a handler is called with the :class:`~switchboard.jmap.dispatch.MethodCall` (arguments with
  result references resolved) and a :class:`CallContext`: who called, which accounts they
  reach (:meth:`CallContext.account` turns a JMAP ``accountId`` into the Switchboard account,
  or raises ``accountNotFound``), and the accounts' state strings;
- downloads read blobs from a :class:`BlobSource`. Until the mail methods provide one,
  :class:`NoBlobs` finds nothing, and every download is a 404.

A handler raises a :class:`~switchboard.jmap.errors.MethodError` to answer with that error;
anything else it raises is logged and answered ``serverFail`` (the request's other calls still
run). ``Core/echo`` is registered by default.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from switchboard.jmap.capabilities import CORE
from switchboard.jmap.dispatch import CORE_ECHO, Method, MethodCall, MethodResult
from switchboard.jmap.errors import AccountNotFound
from switchboard.jmap.journal import TYPES
from switchboard.jmap.state import StateCodec

__all__ = [
    "DATA_TYPES",
    "Blob",
    "BlobSource",
    "CallContext",
    "JmapStates",
    "MethodRegistry",
    "NoBlobs",
    "ServerMethodHandler",
]

DATA_TYPES: tuple[str, ...] = TYPES
"""The types whose states the server tracks and pushes: Mailbox, Email, Thread (RFC 8621 §2,
§3, §4) and EmailDelivery (§1.5, moved by new mail only)."""


class JmapStates(Protocol):
    """Each account's JMAP state strings (:class:`~switchboard.server.jmap.states.LogStates`).

    A state is ``EPOCH:POSITION`` (:mod:`switchboard.jmap.state`): every change to the
    account's Mailbox, Email and Thread data up to that event-log position. The mail methods
    answer ``state``/``newState`` from here and compute ``/changes`` with the same
    :attr:`codec`, so what push announces is what ``/changes`` can continue from.
    """

    @property
    def codec(self) -> StateCodec:
        """The codec of this server's event log (its epoch)."""
        ...

    def position(self, account_id: str) -> int:
        """The account's current event-log position (its states are this position)."""
        ...

    def state(self, account_id: str, data_type: str) -> str:
        """The state string of ``data_type`` in the account."""
        ...


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a method handler knows besides its arguments.

    Attributes:
        username: who the caller authenticated as (the Session's ``username``).
        accounts: JMAP account id → Switchboard account id (the IMAP login), for every account
            the caller reaches.
        states: the accounts' state strings.
    """

    username: str
    accounts: Mapping[str, str]
    states: JmapStates

    def account(self, jmap_account_id: object) -> str:
        """The Switchboard account behind ``jmap_account_id`` (the call's ``accountId``).

        Raises:
            AccountNotFound: the id is not one of the caller's accounts (RFC 8620 §3.6.2).
        """
        if isinstance(jmap_account_id, str):
            found = self.accounts.get(jmap_account_id)
            if found is not None:
                return found
        raise AccountNotFound("no such account, or not one this caller may use")


class ServerMethodHandler(Protocol):
    """One JMAP method, as the server runs it."""

    async def __call__(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Perform ``call`` for the caller ``context`` describes.

        Raises:
            MethodError: the call failed with that error type. Anything else is a bug: it is
                logged and answered ``serverFail``.
        """
        ...


async def _echo(call: MethodCall, context: CallContext) -> MethodResult:
    return await CORE_ECHO.handler(call)


@dataclass(frozen=True, slots=True)
class _Entry:
    capability: str
    handler: ServerMethodHandler


async def _bound(
    handler: ServerMethodHandler, context: CallContext, call: MethodCall
) -> MethodResult:
    return await handler(call, context)


class MethodRegistry:
    """The JMAP methods this server serves, by name; ``Core/echo`` is there from the start."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self.register(CORE_ECHO.name, CORE, _echo)

    def register(self, name: str, capability: str, handler: ServerMethodHandler) -> None:
        """Serve method ``name``, which needs ``capability`` in a request's ``using``.

        Raises:
            ValueError: ``name`` is registered already.
        """
        if name in self._entries:
            raise ValueError(f"JMAP method {name!r} registered twice")
        self._entries[name] = _Entry(capability, handler)

    def names(self) -> tuple[str, ...]:
        """The registered method names, sorted."""
        return tuple(sorted(self._entries))

    def methods_for(self, context: CallContext) -> Mapping[str, Method]:
        """The dispatcher's method table with every handler bound to ``context``."""
        return MappingProxyType(
            {
                name: Method(
                    name, entry.capability, functools.partial(_bound, entry.handler, context)
                )
                for name, entry in self._entries.items()
            }
        )


@dataclass(frozen=True, slots=True)
class Blob:
    """A blob being downloaded.

    Attributes:
        chunks: the content, piece by piece (read once).
        size: the content's length in octets when known: it is then sent as
            ``Content-Length``; ``None`` sends it close-delimited.
        media_type: the type the blob has (``message/rfc822`` for a message), used when the
            client's ``type`` is missing.
    """

    chunks: AsyncIterator[bytes] = field(repr=False)
    size: int | None = None
    media_type: str = "application/octet-stream"


class BlobSource(Protocol):
    """Where downloads come from (RFC 8620 §6.2): the mail methods implement it."""

    def open_blob(
        self, account_id: str, blob_id: str
    ) -> AbstractAsyncContextManager[Blob | None]:
        """Open ``blob_id`` of the Switchboard account ``account_id`` for reading.

        The context stays open while the blob is sent (an IMAP connection may be held for
        it) and is closed when the download ends, however it ends. ``None``: no such blob
        (a 404). Ids that do not parse are not found either.

        Raises:
            MethodError subclasses or engine errors: the blob cannot be read now (a 503).
        """
        ...


class NoBlobs:
    """A :class:`BlobSource` that has no blob: every download is a 404."""

    @asynccontextmanager
    async def open_blob(self, account_id: str, blob_id: str) -> AsyncIterator[Blob | None]:
        """Find nothing."""
        yield None
