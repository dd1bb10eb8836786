"""What the JMAP endpoints share: a caller's Session resource, and running a request's calls.

The HTTP API (:mod:`~switchboard.server.jmap.routes`) and JMAP over WebSocket
(:mod:`~switchboard.server.jmap.wsapi`) differ only in how a request arrives; both build the
caller's Session here and run the calls through :meth:`JmapService.run`, so ``sessionState``,
the limits and the method table are the same on both.

The Session's URLs are absolute, built from the scheme and ``Host`` the client used
(:class:`BaseUrls`), so a client that reached the server as ``https://mail.example:8443``
is sent there again.
"""

from __future__ import annotations

import collections
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from switchboard.jmap.capabilities import CoreCapability, WebSocketCapability
from switchboard.jmap.dispatch import process_request
from switchboard.jmap.errors import Limit, MethodError, RequestError, ServerFail
from switchboard.jmap.ids import account_id as jmap_account_id
from switchboard.jmap.request import Invocation, Request, Response
from switchboard.jmap.session import Account, Endpoints, Session
from switchboard.server.jmap.callers import JmapCaller
from switchboard.server.jmap.registry import CallContext, JmapStates, MethodRegistry

__all__ = ["WEBSOCKET_PATH", "AccountDirectory", "BaseUrls", "JmapCounts", "JmapService"]

logger = logging.getLogger("switchboard.server")

WEBSOCKET_PATH: Final = "/jmap/ws"
"""RFC 8887's endpoint on this server (the capability's ``url``)."""

# A host name or an IP literal, then an optional port: nothing that could break out of a URL.
_HOST: Final = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class BaseUrls:
    """Where the client reached the server: ``https://host:port`` and ``wss://host:port``."""

    http: str
    websocket: str

    @classmethod
    def of(cls, host_header: str | None, *, secure: bool) -> BaseUrls | None:
        """From a request's ``Host`` and whether it came over TLS; ``None`` for a bad Host."""
        host = (host_header or "").strip()
        if _HOST.fullmatch(host) is None:
            return None
        return cls(
            f"{'https' if secure else 'http'}://{host}", f"{'wss' if secure else 'ws'}://{host}"
        )


class AccountDirectory(Protocol):
    """The server's accounts, as a Session lists them (the account registry)."""

    def account_ids(self) -> list[str]:
        """Every managed account."""
        ...

    def exists(self, account_id: str) -> bool:
        """Whether ``account_id`` is managed."""
        ...


class JmapCounts(Protocol):
    """Where calls and refused requests are counted (the server's ``/metrics``)."""

    def count_jmap_call(self, method: str, outcome: str) -> None:
        """One method call: ``outcome`` is ``ok`` or the method error's type."""
        ...

    def count_jmap_request_error(self, problem_type: str) -> None:
        """One request refused as a whole."""
        ...


class JmapService:
    """Sessions and request runs for authenticated callers.

    Args:
        accounts: the server's accounts.
        methods: the registered methods.
        states: the accounts' state strings.
        core: the limits announced and enforced.
        counts: where calls and refusals are counted, if anywhere.
    """

    def __init__(
        self,
        accounts: AccountDirectory,
        methods: MethodRegistry,
        states: JmapStates,
        core: CoreCapability,
        counts: JmapCounts | None = None,
    ) -> None:
        self._counts = counts
        self._accounts = accounts
        self._methods = methods
        self.states = states
        self.core = core
        self._in_flight: collections.Counter[str] = collections.Counter()

    def accounts_of(self, caller: JmapCaller) -> dict[str, str]:
        """JMAP account id → Switchboard account id, for every account ``caller`` reaches."""
        reached: dict[str, str] = {}
        for name in caller.account_ids(self._accounts.account_ids, self._accounts.exists):
            try:
                reached[jmap_account_id(name)] = name
            except ValueError:
                logger.warning("account %r has no JMAP id; it is left out", name)
        return reached

    def session(self, caller: JmapCaller, base: BaseUrls) -> Session:
        """The caller's Session resource (RFC 8620 §2)."""
        reached = self.accounts_of(caller)
        # Identity/get needs urn:ietf:params:jmap:submission in `using`: announce it then.
        submission = "Identity/get" in self._methods.names()
        accounts = tuple(
            Account(jmap_id, name, submission=submission)
            for jmap_id, name in sorted(reached.items())
        )
        primary: str | None = None
        if caller.account is not None and caller.account in reached.values():
            primary = jmap_account_id(caller.account)
        elif accounts:
            primary = accounts[0].account_id
        return Session(
            username=caller.username,
            accounts=accounts,
            primary_account_id=primary,
            endpoints=Endpoints.under(base.http),
            core=self.core,
            websocket=WebSocketCapability(base.websocket + WEBSOCKET_PATH),
            submission=submission,
        )

    async def run(
        self, request: Request, caller: JmapCaller, session_state: Callable[[], str]
    ) -> Response:
        """Run ``request``'s calls for ``caller``.

        Raises:
            Limit: the caller already has ``maxConcurrentRequests`` requests running.
        """
        key = caller.username
        if self._in_flight[key] >= self.core.max_concurrent_requests:
            limit = Limit(
                "maxConcurrentRequests",
                f"{self.core.max_concurrent_requests} requests are running for this user already",
            )
            self.refused(limit)
            raise limit
        self._in_flight[key] += 1
        try:
            context = CallContext(caller.username, self.accounts_of(caller), self.states)
            response = await process_request(
                request,
                self._methods.methods_for(context),
                session_state=session_state,
                on_unexpected=_unexpected,
            )
            self._count(request, response)
            return response
        finally:
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]


    def refused(self, error: RequestError) -> None:
        """Count a request refused as a whole (by the transport, or by :meth:`run`)."""
        if self._counts is not None:
            self._counts.count_jmap_request_error(error.type)

    def _count(self, request: Request, response: Response) -> None:
        if self._counts is None:
            return
        # A response names its call by the call's id; an error response is named "error".
        methods = {call.call_id: call.name for call in request.method_calls}
        for answer in response.method_responses:
            if answer.name == "error":
                method = methods.get(answer.call_id, "")
                self._counts.count_jmap_call(method, str(answer.arguments.get("type")))
            else:
                self._counts.count_jmap_call(answer.name, "ok")


def _unexpected(exc: Exception, invocation: Invocation) -> MethodError:
    logger.error("JMAP %s failed", invocation.name, exc_info=exc)
    return ServerFail("the server failed to perform this call")
