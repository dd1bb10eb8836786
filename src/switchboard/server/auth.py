"""Who may open a socket or read the HTTP API: tokens, their scopes, and the 401/403 answers.

A token arrives as ``Authorization: Bearer T`` or, for old clients that can only set a URL, as
``?token=T`` (docs/protocol.md, "Endpoints"). Two kinds exist (docs/reliability.md "Tokens"):

- static tokens (``--token`` / ``SWITCHBOARD_TOKENS``): worker scope;
- stored tokens (``switchboard tokens create``): ``worker`` or ``client`` scope, a client token
  optionally bound to one account; only their SHA-256 digest is stored. Revoking one refuses
  the next upgrade (the store is asked on every request, which is one indexed lookup) and closes
  the sockets already open with it within seconds (``server.revocation``): each socket's
  :class:`Principal` keeps the id of the token it opened with.

With no token configured at all (loopback only, see ``ServerSettings.check_listen``) everyone is
a worker. Otherwise a missing, wrong or revoked token gets 401; a valid token of the wrong scope
(a client token on ``/workers`` or the HTTP API) gets 403, so the peer can tell "who are you"
from "not for you".

When the store cannot be read (a database outage on a cluster node) the last answers stand in:
a stored token seen valid before keeps working, and with no token configured at all access
stays open; only a token never seen before gets 503 until the store answers again.
"""

from __future__ import annotations

import hmac
import http
import json
import logging
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Response

from switchboard.model.store import Store, StoredToken, TokenScope
from switchboard.server.httpwire import HttpResponse, json_response
from switchboard.server.tokens import token_digest
from switchboard.store.errors import StoreError

__all__ = [
    "ANONYMOUS",
    "Authenticator",
    "Principal",
    "RedactingFilter",
    "Refusal",
    "RequestHead",
    "offered_token",
    "redacted_logger",
    "token_allowed",
]

#: The only path a client-scope token may open.
CLIENTS_PATH = "/clients"

logger = logging.getLogger("switchboard.server")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request authenticated as. Never holds the token itself."""

    name: str
    scope: TokenScope
    account: str | None = None  # a client token bound to one account
    token_id: str | None = None
    """The stored token's id, watched for revocation; ``None`` for static tokens and anonymous."""

    def may_open(self, path: str) -> bool:
        """Whether this principal may use ``path`` (worker: all; client: ``/clients``)."""
        return self.scope is TokenScope.WORKER or path == CLIENTS_PATH

    def may_connect(self, account_id: str) -> bool:
        """Whether this principal may ``connect`` the account ``account_id``."""
        return self.account is None or self.account == account_id


ANONYMOUS = Principal("anonymous", TokenScope.WORKER)
"""The principal of every request when no token is configured (loopback only)."""


class RequestHead(Protocol):
    """What the checks read of a request: a WebSocket handshake's, or a plain HTTP request's."""

    @property
    def path(self) -> str:
        """The request target: path and query."""
        ...

    @property
    def headers(self) -> Headers:
        """The header fields."""
        ...


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused, before it is written as an HTTP answer of either kind.

    Attributes:
        status: 401, 403 or 503.
        body: the JSON body (``error`` and ``description``).
        headers: extra header fields (``WWW-Authenticate`` on a 401).
    """

    status: http.HTTPStatus
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = field(default=())

    def to_http(self) -> HttpResponse:
        """The answer on the HTTP side."""
        return json_response(self.body, self.status, headers=self.headers)

    def to_handshake(self) -> Response:
        """The answer to a WebSocket upgrade."""
        response = _json(self.status, self.body)
        for name, value in self.headers:
            response.headers[name] = value
        return response


def offered_token(request: RequestHead) -> str | None:
    """The token the request carries (header first, then the query string), or ``None``."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    values = parse_qs(urlsplit(request.path).query).get("token")
    return values[0] if values else None


def token_allowed(request: RequestHead, tokens: Sequence[str]) -> bool:
    """Whether ``request`` may proceed: no tokens configured, or one of them offered."""
    if not tokens:
        return True
    offered = offered_token(request)
    return offered is not None and _static_match(offered, tokens)


def _static_match(offered: str, tokens: Sequence[str]) -> bool:
    # Compare against every token so timing does not tell which one nearly matched.
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(offered.encode(), token.encode())
    return matched


class Authenticator:
    """Checks requests against static and stored tokens; remembers each socket's principal.

    Args:
        static_tokens: worker-scope tokens from the settings.
        store: where stored tokens live.
    """

    def __init__(self, static_tokens: Sequence[str], store: Store) -> None:
        self._static = tuple(static_tokens)
        self._store = store
        self._principals: weakref.WeakKeyDictionary[ServerConnection, Principal] = (
            weakref.WeakKeyDictionary()
        )
        # The store's last answers, used only while it cannot be read (see the module doc).
        self._valid: dict[bytes, StoredToken] = {}
        self._has_tokens: bool | None = None

    async def authenticate(self, request: RequestHead) -> Principal | None:
        """Return who ``request`` is, or ``None`` when it must be refused (401).

        Raises:
            StoreError: the token table cannot be read and no earlier answer stands in.
        """
        offered = offered_token(request)
        if offered is not None and self._static and _static_match(offered, self._static):
            return Principal("static", TokenScope.WORKER)
        if offered is not None:
            record = await self._find_token(token_digest(offered))
            if record is not None and record.revoked_at is None:
                return Principal(record.name, record.scope, record.account, record.token_id)
            return None
        if self._static or await self._any_tokens():
            return None
        return ANONYMOUS

    async def _find_token(self, digest: bytes) -> StoredToken | None:
        try:
            record = await self._store.find_token(digest)
        except StoreError:
            if digest not in self._valid:
                raise
            return self._valid[digest]
        if record is not None and record.revoked_at is None:
            self._valid[digest] = record
        else:
            self._valid.pop(digest, None)
        return record

    async def _any_tokens(self) -> bool:
        try:
            self._has_tokens = await self._store.has_active_tokens()
        except StoreError:
            if self._has_tokens is None:
                if not self._valid:
                    raise
                return True  # a valid token was seen, so tokens exist
        return self._has_tokens

    async def admit(self, request: RequestHead) -> Principal | Refusal:
        """Who ``request`` is and whether it may use its path; or why it is refused.

        401 (with ``WWW-Authenticate: Bearer``) for a missing, wrong or revoked token, 403 for
        a valid token of the wrong scope, 503 when the store cannot be read and no earlier
        answer stands in.
        """
        try:
            principal = await self.authenticate(request)
        except StoreError as exc:
            logger.warning("cannot check a token: %s", exc)
            return Refusal(
                http.HTTPStatus.SERVICE_UNAVAILABLE,
                {"error": "unavailable", "description": "the token store cannot be read now"},
            )
        if principal is None:
            return Refusal(
                http.HTTPStatus.UNAUTHORIZED,
                {"error": "unauthorized", "description": "a valid token is required"},
                (("WWW-Authenticate", 'Bearer realm="switchboard"'),),
            )
        path = urlsplit(request.path).path
        if not principal.may_open(path):
            return Refusal(
                http.HTTPStatus.FORBIDDEN,
                {
                    "error": "forbidden",
                    "description": f"a {principal.scope} token cannot open {path}",
                },
            )
        return principal

    async def check(self, connection: ServerConnection, request: RequestHead) -> Response | None:
        """Return the 401/403/503 response refusing an upgrade, or ``None`` to let it through.

        The principal is remembered for the socket (:meth:`principal_of`).
        """
        admitted = await self.admit(request)
        if isinstance(admitted, Refusal):
            return admitted.to_handshake()
        self._principals[connection] = admitted
        return None

    def principal_of(self, connection: ServerConnection) -> Principal | None:
        """Who opened ``connection`` as :meth:`check` found; ``None`` if it was never checked."""
        return self._principals.get(connection)


def _json(status: http.HTTPStatus, body: dict[str, Any]) -> Response:
    payload = json.dumps(body).encode()
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
        ]
    )
    return Response(status.value, status.phrase, headers, payload)


# What websockets' DEBUG log would otherwise show: frame contents (a connect frame holds a
# password), Authorization/Cookie headers, and ?token= in a request line.
_REDACTIONS = (
    (re.compile(r"\b(TEXT|BINARY|CONT) '.*' \["), r"\1 [redacted] ["),
    (re.compile(r"\b(TEXT|BINARY|CONT) b?'.*'$"), r"\1 [redacted]"),
    (re.compile(r"(?i)\b(authorization|cookie|proxy-authorization): .*"), r"\1: [redacted]"),
    (re.compile(r"(?i)\btoken=[^&\s'\"]*"), "token=[redacted]"),
)


class RedactingFilter(logging.Filter):
    """Rewrites log records so no frame content, auth header or URL token reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; never drops it."""
        message = record.getMessage()
        redacted = message
        for pattern, replacement in _REDACTIONS:
            redacted = pattern.sub(replacement, redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redacted_logger(name: str = "switchboard.server.websockets") -> logging.Logger:
    """A logger for the WebSocket library whose records are redacted (see RedactingFilter)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger
