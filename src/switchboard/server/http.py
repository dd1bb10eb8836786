"""The HTTP routes: every request that is not a WebSocket upgrade, and the upgrades' checks.

- ``/``, ``/static/<file>``: the dashboard page and its CSS/JS, without auth (they hold no
  data; the page asks for its token and sends it with every API call), with a strict CSP;
- ``/workers``, ``/clients``: the WebSocket interfaces; a plain request gets 400;
- ``/health``: a small JSON status;
- ``/metrics``: the Prometheus text format (``server.metrics``);
- ``/api/accounts`` (GET), ``/api/accounts/<id>`` (GET, DELETE), ``/api/latency`` (GET): the
  JSON API the dashboard and ``switchboard accounts`` use;
- ``/.well-known/jmap`` and ``/jmap/…``: JMAP (:mod:`switchboard.server.jmap.routes`), with
  its own authentication (Basic or Bearer);
- anything else: 404.

Everything but the page, its static files, JMAP and 404 sits behind the token check of
``server.auth``: 401 with ``WWW-Authenticate: Bearer`` (a JSON body), or 403 for a token of the
wrong scope. ``HEAD`` is answered like ``GET`` without the body, ``OPTIONS`` with ``Allow``.

Requests arrive through the listener's HTTP layer (:mod:`switchboard.server.httpconn`);
WebSocket upgrades go to the WebSocket library, whose ``process_request`` is :meth:`upgrade`.
"""

from __future__ import annotations

import contextlib
import http
import logging
import time
from collections.abc import Callable
from typing import Any, Final, Protocol
from urllib.parse import unquote

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from switchboard import __version__
from switchboard.engine.errors import UnknownAccount
from switchboard.engine.state import AccountStatus
from switchboard.protocol.methods import Interface
from switchboard.server.accountbook import WORKERS
from switchboard.server.accounts import AccountRegistry
from switchboard.server.api import account_document, health_entry, remote_account_document
from switchboard.server.auth import Authenticator, Refusal
from switchboard.server.dashboard import StaticFiles
from switchboard.server.history import EventHistory
from switchboard.server.httpwire import (
    NO_STORE,
    AnyResponse,
    HttpRequest,
    HttpResponse,
    json_response,
    method_check,
)
from switchboard.server.latency import LatencyRing
from switchboard.server.metrics import METRICS_CONTENT_TYPE, ServerMetrics
from switchboard.server.placement import AccountPlacement
from switchboard.store.errors import StoreError

__all__ = [
    "DEFAULT_LATENCY_WINDOW_S",
    "INTERFACES",
    "AccountStatuses",
    "HttpRoutes",
    "JmapFace",
    "json_response",
]

logger = logging.getLogger("switchboard.server")

INTERFACES: Final = {"/workers": Interface.WORKERS, "/clients": Interface.CLIENTS}
"""The 2014 protocol's WebSocket paths."""

DEFAULT_LATENCY_WINDOW_S = 600.0
"""How far back ``/api/latency`` looks unless ``?window_s=`` says otherwise (the chart's span)."""

MAX_LATENCY_WINDOW_S = 86_400.0
"""The longest window ``?window_s=`` may ask for."""

_ACCOUNTS = "/api/accounts"
_ACCOUNT_PREFIX = "/api/accounts/"
_LATENCY = "/api/latency"
_METRICS = "/metrics"
_API_PATHS = frozenset({"/health", _ACCOUNTS, _LATENCY, _METRICS})


class JmapFace(Protocol):
    """The JMAP endpoints as the routes see them (``server.jmap.routes.JmapRoutes``)."""

    def handles(self, path: str) -> bool:
        """Whether ``path`` is a JMAP endpoint."""
        ...

    async def __call__(self, request: HttpRequest) -> AnyResponse:
        """Answer a JMAP HTTP request."""
        ...

    async def upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        """Check an upgrade to the JMAP WebSocket; a response refuses it."""
        ...


class AccountStatuses(Protocol):
    """The engine's status snapshots (what this node's engine watches)."""

    def statuses(self) -> list[AccountStatus]:
        """Every account the engine holds."""
        ...

    def status(self, account_id: str) -> AccountStatus:
        """One account's (``UnknownAccount`` when the engine does not hold it)."""
        ...


class HttpRoutes:
    """The HTTP application of the listener, and the check of every WebSocket upgrade.

    Args:
        authenticator: checks every request but the page's own and JMAP's.
        metrics: renders ``/metrics``.
        sessions: how many WebSocket sessions are open.
        history: each account's event totals, and where the log ends.
        engine: the engine's account statuses.
        accounts: the account registry (settings, workers' watches, removal).
        placement: where accounts are watched (``node`` keys in a cluster).
        latency: recent new-mail latencies, for ``/api/latency``.
        jmap: the JMAP endpoints, or ``None`` when they are not served.
        wall_clock: Unix time, for ``/api/latency``'s window.
    """

    def __init__(
        self,
        *,
        authenticator: Authenticator,
        metrics: ServerMetrics,
        sessions: Callable[[], int],
        history: EventHistory,
        engine: AccountStatuses,
        accounts: AccountRegistry,
        placement: AccountPlacement,
        latency: LatencyRing,
        jmap: JmapFace | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._authenticator = authenticator
        self._metrics = metrics
        self._sessions = sessions
        self._history = history
        self._engine = engine
        self._accounts = accounts
        self._placement = placement
        self._latency = latency
        self._jmap = jmap
        self._wall_clock = wall_clock
        self._static = StaticFiles.load()

    async def __call__(self, request: HttpRequest) -> AnyResponse:
        """Answer a plain HTTP request (not a WebSocket upgrade)."""
        path, method = request.route, request.method
        static = self._static.response_for(path)
        if static is not None:
            return method_check(method, ("GET",)) or static
        if self._jmap is not None and self._jmap.handles(path):
            return await self._jmap(request)
        is_api = path in _API_PATHS or path.startswith(_ACCOUNT_PREFIX)
        if path not in INTERFACES and not is_api:
            return json_response(
                {"error": "notFound", "description": f"no route {path}"}, http.HTTPStatus.NOT_FOUND
            )
        admitted = await self._authenticator.admit(request)
        if isinstance(admitted, Refusal):
            return admitted.to_http()  # 401, or 403 for a token of the wrong scope
        if path in INTERFACES:
            return method_check(method, ("GET",)) or HttpResponse(
                http.HTTPStatus.BAD_REQUEST,
                (("Content-Type", "text/plain; charset=utf-8"), *NO_STORE),
                b"This is a WebSocket endpoint.\n",
            )
        if path.startswith(_ACCOUNT_PREFIX):
            return await self._account(method, unquote(path[len(_ACCOUNT_PREFIX) :]))
        refused = method_check(method, ("GET",))
        if refused is not None:
            return refused
        if path == "/health":
            return json_response(self.health())
        if path == _METRICS:
            return HttpResponse(
                http.HTTPStatus.OK,
                (("Content-Type", METRICS_CONTENT_TYPE), *NO_STORE),
                self._metrics.render(),
            )
        if path == _ACCOUNTS:
            return json_response(await self.accounts())
        return json_response(self.latency(request.query))

    async def upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        """``process_request`` of the WebSocket library: check an upgrade, or refuse it.

        Only upgrades to the WebSocket paths reach it (the listener sends the rest to
        :meth:`__call__`).
        """
        path = request.path.split("?", 1)[0]
        if self._jmap is not None and self._jmap.handles(path):
            return await self._jmap.upgrade(connection, request)
        return await self._authenticator.check(connection, request)

    # -- documents ----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The ``/health`` document: version, sessions, the last event id, each account's state.

        On a cluster node also ``node``: its name and the accounts it holds leases on (the
        ``accounts`` list is what this node's engine watches).
        """
        document: dict[str, Any] = {
            "status": "ok",
            "version": __version__,
            "sessions": self._sessions(),
            # Where the event log ends: `switchboard watch` resumes from here after a restart.
            "lastEventId": self._history.last_event_id(),
            "accounts": [
                health_entry(s, self._accounts.config(s.account_id))
                for s in self._engine.statuses()
            ],
        }
        node = self._placement.health()
        if node is not None:
            document["node"] = node
        return document

    async def accounts(self) -> list[dict[str, Any]]:
        """The ``/api/accounts`` document: every account's status, by account name.

        On a cluster node: every account of the cluster, each with the ``node`` that watches
        it; those watched elsewhere are in the ``remote`` state (their details are on their
        node).
        """
        registry = self._accounts
        statuses = sorted(self._engine.statuses(), key=lambda s: s.account_id)
        documents = [self._document(s) for s in statuses]
        try:
            holders = await self._placement.holders()
        except StoreError as exc:
            logger.warning("/api/accounts without lease holders: %s", exc)
            holders = {}
        node_id = self._placement.node_id
        if holders is None or node_id is None:
            return documents  # one node: documents carry no node
        for document in documents:
            # An account here without a lease is one only clients connected: it is ours.
            document["node"] = holders.get(document["account"], node_id)
        local = {s.account_id for s in statuses}
        for account_id in registry.account_ids():
            config = registry.config(account_id)
            if account_id in local or config is None:
                continue
            watches = registry.watches(account_id, WORKERS)
            documents.append(
                remote_account_document(
                    config, watches, holders.get(account_id), self._history.totals(account_id)
                )
            )
        documents.sort(key=lambda d: str(d["account"]))
        return documents

    def _document(self, status: AccountStatus) -> dict[str, Any]:
        """An account this node's engine watches, with its workers' watches and its history."""
        account_id = status.account_id
        return account_document(
            status,
            self._accounts.config(account_id),
            watches=self._accounts.watches(account_id, WORKERS),
            history=self._history.totals(account_id),
        )

    def latency(self, query: str) -> dict[str, Any]:
        """The ``/api/latency`` document for the window ``?window_s=`` (default 600 s)."""
        window_s = DEFAULT_LATENCY_WINDOW_S
        for key, _, value in (part.partition("=") for part in query.split("&")):
            if key == "window_s":
                # A malformed window is not worth an error: the default is used.
                with contextlib.suppress(ValueError):
                    window_s = min(max(float(value), 1.0), MAX_LATENCY_WINDOW_S)
        return self._latency.document(self._wall_clock(), window_s)

    async def _account(self, method: str, account_id: str) -> HttpResponse:
        refused = method_check(method, ("GET", "DELETE"))
        if refused is not None:
            return refused
        if method in ("GET", "HEAD"):
            config = self._accounts.config(account_id)
            try:
                status = self._engine.status(account_id)
            except UnknownAccount:
                if config is None:
                    return _no_account(account_id)
                # Watched by another node (or by none, between two leases).
                try:
                    holders = await self._placement.holders()
                except StoreError:
                    holders = {}
                if holders is None:  # one node: an account it knows is in its engine
                    return _no_account(account_id)
                watches = self._accounts.watches(account_id, WORKERS)
                history = self._history.totals(account_id)
                node = holders.get(account_id)
                return json_response(remote_account_document(config, watches, node, history))
            return json_response(self._document(status))
        if not await self._accounts.remove(account_id):
            return _no_account(account_id)
        return json_response({"account": account_id, "removed": True})


def _no_account(account_id: str) -> HttpResponse:
    return json_response(
        {"error": "noAccount", "description": f"no account {account_id!r}"},
        http.HTTPStatus.NOT_FOUND,
    )

