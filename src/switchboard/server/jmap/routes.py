"""The JMAP endpoints: Session, API, download, upload, EventSource, and the WebSocket's upgrade.

=============================================  ===========================================
``GET /.well-known/jmap``                      the caller's Session (RFC 8620 §2)
``POST /jmap/api``                             a Request → its Response (§3); request-level
                                               errors as problem details (§3.6.1)
``GET /jmap/download/{account}/{blob}/{name}``  the blob, streamed (§6.2); ``?type=`` sets its
                                               Content-Type
``POST /jmap/upload/{account}``                refused with 413: uploads are not served
                                               (``maxSizeUpload`` is 0)
``GET /jmap/eventsource?types&closeafter&ping``  push as ``text/event-stream`` (§7.3)
``GET /jmap/ws`` with ``Upgrade: websocket``   JMAP over WebSocket, subprotocol ``jmap``
                                               (RFC 8887)
=============================================  ===========================================

Every endpoint authenticates first (:mod:`~switchboard.server.jmap.callers`): 401 with
``WWW-Authenticate: Basic realm="Switchboard", Bearer`` when it cannot.
"""

from __future__ import annotations

import http
import logging
import re
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Final
from urllib.parse import parse_qs, quote, unquote

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from switchboard.engine.errors import EngineError
from switchboard.jmap.errors import (
    AccountNotFound,
    JmapError,
    Limit,
    NotJson,
    RequestError,
)
from switchboard.jmap.jsonvalue import dumps
from switchboard.jmap.push import (
    EVENT_STREAM_CONTENT_TYPE,
    EventSourceQueryError,
    parse_event_source_query,
    parse_last_event_id,
)
from switchboard.jmap.request import parse_request
from switchboard.jmap.websocket import SUBPROTOCOL
from switchboard.server.auth import Refusal
from switchboard.server.httpwire import (
    NO_STORE,
    AnyResponse,
    HttpRequest,
    HttpResponse,
    StreamResponse,
    json_response,
    method_check,
    problem_response,
    text_response,
)
from switchboard.server.jmap.callers import JmapAuthenticator, JmapCaller
from switchboard.server.jmap.eventsource import EventStream
from switchboard.server.jmap.registry import Blob, BlobSource, CallContext
from switchboard.server.jmap.service import WEBSOCKET_PATH, BaseUrls, JmapService
from switchboard.server.jmap.states import LogStates
from switchboard.server.jmap.streams import OpenStreams
from switchboard.server.jmap.wsapi import JmapWebSocket
from switchboard.store.errors import StoreError

__all__ = ["JmapRoutes"]

logger = logging.getLogger("switchboard.server")

WELL_KNOWN: Final = "/.well-known/jmap"
API: Final = "/jmap/api"
EVENT_SOURCE: Final = "/jmap/eventsource"
DOWNLOAD: Final = "/jmap/download/"
UPLOAD: Final = "/jmap/upload/"

# RFC 6838 §4.2 type/subtype (parameters dropped): what a download's ?type= may set.
_MEDIA_TYPE: Final = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}", re.ASCII
)


def _problem(status: int, title: str, detail: str, **extra: str) -> HttpResponse:
    return problem_response(
        {"type": "about:blank", "status": status, "title": title, "detail": detail, **extra}
    )


def _not_found(detail: str) -> HttpResponse:
    return _problem(http.HTTPStatus.NOT_FOUND, "Not Found", detail)


class JmapRoutes:
    """The JMAP endpoints (implements the HTTP routes' ``JmapFace``).

    Args:
        authenticator: who a request is.
        service: Sessions and request runs.
        states: the accounts' states, for push.
        blobs: where downloads come from.
        streams: the open push connections (for the revocation watch and the metrics).
    """

    def __init__(
        self,
        authenticator: JmapAuthenticator,
        service: JmapService,
        states: LogStates,
        blobs: BlobSource,
        streams: OpenStreams | None = None,
    ) -> None:
        self.streams = streams if streams is not None else OpenStreams()
        self._auth = authenticator
        self._service = service
        self._states = states
        self._blobs = blobs
        self._callers: weakref.WeakKeyDictionary[ServerConnection, JmapCaller] = (
            weakref.WeakKeyDictionary()
        )

    def handles(self, path: str) -> bool:
        """Whether ``path`` is one of ours."""
        return path == WELL_KNOWN or path == "/jmap" or path.startswith("/jmap/")

    async def __call__(self, request: HttpRequest) -> AnyResponse:
        """Answer a JMAP HTTP request."""
        path, method = request.route, request.method
        known = path in (WELL_KNOWN, API, EVENT_SOURCE, WEBSOCKET_PATH) or path.startswith(
            (DOWNLOAD, UPLOAD)
        )
        if not known:
            return _not_found(f"no JMAP endpoint {path}")
        caller = await self._auth.authenticate(request)
        if isinstance(caller, Refusal):
            return caller.to_http()
        base = BaseUrls.of(request.headers.get("Host"), secure=request.secure)
        if base is None:
            return text_response(http.HTTPStatus.BAD_REQUEST, "Missing or malformed Host.\n")
        if path == WELL_KNOWN:
            return method_check(method, ("GET",)) or json_response(
                self._service.session(caller, base).to_json()
            )
        if path == API:
            return method_check(method, ("POST",)) or await self._api(request, caller, base)
        if path == EVENT_SOURCE:
            return method_check(method, ("GET",)) or self._event_source(request, caller)
        if path.startswith(DOWNLOAD):
            return method_check(method, ("GET",)) or await self._download(request, caller)
        if path.startswith(UPLOAD):
            return method_check(method, ("POST",)) or problem_response(
                Limit(
                    "maxSizeUpload",
                    "This server does not accept uploads (maxSizeUpload is 0): Emails cannot "
                    "be created through JMAP here.",
                ).problem()
                | {"status": http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE}
            )
        return method_check(method, ("GET",)) or text_response(
            http.HTTPStatus.BAD_REQUEST,
            "This is the JMAP WebSocket endpoint (RFC 8887): upgrade with the jmap subprotocol.\n",
        )

    # -- the API --------------------------------------------------------------------------

    async def _api(self, request: HttpRequest, caller: JmapCaller, base: BaseUrls) -> AnyResponse:
        core = self._service.core
        media_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        session = self._service.session(caller, base)
        try:
            if request.body_too_large:
                raise Limit(
                    "maxSizeRequest", f"The request is over {core.max_size_request} octets."
                )
            if media_type != "application/json":
                raise NotJson("The request's Content-Type must be application/json.")
            parsed = parse_request(request.body, core=core, supported=session.capabilities)
        except RequestError as error:
            self._service.refused(error)
            return problem_response(error.problem())
        try:
            response = await self._service.run(
                parsed, caller, lambda: self._service.session(caller, base).state
            )
        except RequestError as error:  # counted by run()
            return problem_response(error.problem())
        return HttpResponse(
            http.HTTPStatus.OK,
            (("Content-Type", "application/json"), *NO_STORE),
            dumps(response.to_json()).encode("utf-8"),
        )

    # -- downloads ------------------------------------------------------------------------

    async def _download(self, request: HttpRequest, caller: JmapCaller) -> AnyResponse:
        parts = request.route[len(DOWNLOAD) :].split("/", 2)
        if len(parts) != 3 or not all(parts[:2]):
            return _not_found("a download URL is /jmap/download/{accountId}/{blobId}/{name}")
        jmap_account, blob_id, name = (unquote(part) for part in parts)
        context = CallContext(caller.username, self._service.accounts_of(caller), self._states)
        try:
            account = context.account(jmap_account)
        except AccountNotFound:
            return _not_found("no such account for this caller")
        stack = AsyncExitStack()
        try:
            blob = await stack.enter_async_context(self._blobs.open_blob(account, blob_id))
        except (JmapError, EngineError, StoreError, OSError) as exc:
            await stack.aclose()
            logger.warning("download of a blob of %s failed: %s", account, type(exc).__name__)
            return _problem(
                http.HTTPStatus.SERVICE_UNAVAILABLE,
                "Service Unavailable",
                "the blob cannot be read now",
            )
        if blob is None:
            await stack.aclose()
            return _not_found("no such blob")
        wanted = parse_qs(request.query).get("type", [""])[0]
        media_type = wanted if _MEDIA_TYPE.fullmatch(wanted) else blob.media_type
        headers = (
            ("Content-Type", media_type),
            ("Content-Disposition", f"attachment; filename*=UTF-8''{quote(name, safe='')}"),
            # Blobs never change (RFC 8620 §6), but they belong to one caller.
            ("Cache-Control", "private, max-age=3600"),
            ("X-Content-Type-Options", "nosniff"),
        )
        return StreamResponse(
            http.HTTPStatus.OK, headers, _ClosingChunks(blob, stack), length=blob.size
        )

    # -- push ---------------------------------------------------------------------------------

    def _event_source(self, request: HttpRequest, caller: JmapCaller) -> AnyResponse:
        try:
            params = parse_event_source_query(request.query)
        except EventSourceQueryError as exc:
            return problem_response(exc.problem())
        stream = EventStream(
            params,
            caller,
            lambda: self._service.accounts_of(caller),
            self._states,
            parse_last_event_id(request.headers.get("Last-Event-ID")),
            self.streams,
        )
        headers = (
            ("Content-Type", EVENT_STREAM_CONTENT_TYPE),
            ("Cache-Control", "no-cache, no-store"),
            ("X-Accel-Buffering", "no"),  # a buffering proxy in front must pass events at once
        )
        return StreamResponse(http.HTTPStatus.OK, headers, stream)  # close-delimited

    # -- the WebSocket ------------------------------------------------------------------------

    async def upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        """Check an upgrade to ``/jmap/ws``: authenticate, and remember who opened it."""
        caller = await self._auth.authenticate(request)
        if isinstance(caller, Refusal):
            return caller.to_handshake()
        self._callers[connection] = caller
        return None

    def subprotocol(self, offered: list[str] | tuple[str, ...]) -> str | None:
        """RFC 8887 §3: ``jmap`` must be offered; ``None`` means refuse."""
        return SUBPROTOCOL if SUBPROTOCOL in offered else None

    async def serve_websocket(self, connection: ServerConnection) -> None:
        """Run an opened JMAP WebSocket until it closes."""
        caller = self._callers.pop(connection, None)
        headers = connection.request.headers if connection.request is not None else None
        secure = connection.transport.get_extra_info("ssl_object") is not None
        base = BaseUrls.of(headers.get("Host") if headers else None, secure=secure)
        if caller is None or base is None:
            await connection.close(1008, "not authorized")
            return
        await JmapWebSocket(
            connection, caller, base, self._service, self._states, self.streams
        ).run()


class _ClosingChunks:
    """A blob's chunks that close the blob's context when the response ends, however it ends."""

    def __init__(self, blob: Blob, stack: AsyncExitStack) -> None:
        self._chunks = blob.chunks
        self._stack: AsyncExitStack | None = stack

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        """Release the blob (an IMAP connection it held)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

