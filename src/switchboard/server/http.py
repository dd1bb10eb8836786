"""The HTTP side of the server: routes answered before any WebSocket upgrade.

- ``/workers``, ``/clients``: the WebSocket interfaces; a plain GET gets 400;
- ``/health``: a small JSON status;
- anything else: 404.

Every route but 404 sits behind the auth check of ``server.auth`` (401 with
``WWW-Authenticate: Bearer``).
"""

from __future__ import annotations

import http
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from switchboard import __version__
from switchboard.protocol.methods import Interface
from switchboard.server.auth import token_allowed

if TYPE_CHECKING:
    from switchboard.server.app import ServerContext

__all__ = ["INTERFACES", "HttpRoutes", "json_response"]

INTERFACES = {"/workers": Interface.WORKERS, "/clients": Interface.CLIENTS}


class HttpRoutes:
    """``process_request`` for the WebSocket server: answer HTTP, or let the upgrade proceed."""

    def __init__(self, context: ServerContext) -> None:
        self._context = context

    def __call__(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer ``request``, or return ``None`` to continue with the WebSocket handshake."""
        path = urlsplit(request.path).path
        if path not in INTERFACES and path != "/health":
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Not Found\n")
        if not token_allowed(request, self._context.settings.tokens):
            response = connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
            response.headers["WWW-Authenticate"] = 'Bearer realm="switchboard"'
            return response
        if path == "/health":
            return json_response(self.health())
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            return connection.respond(
                http.HTTPStatus.BAD_REQUEST, "This is a WebSocket endpoint.\n"
            )
        return None

    def health(self) -> dict[str, Any]:
        """The ``/health`` document: version, sessions, and each account's state."""
        context = self._context
        return {
            "status": "ok",
            "version": __version__,
            "sessions": len(context.sessions),
            "accounts": [
                {"account": s.account_id, "state": s.state.value, "lastError": s.last_error}
                for s in context.engine.statuses()
            ],
        }


def json_response(body: Any, status: http.HTTPStatus = http.HTTPStatus.OK) -> Response:
    """A JSON HTTP response with the right headers."""
    payload = json.dumps(body).encode()
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
        ]
    )
    return Response(status.value, status.phrase, headers, payload)
