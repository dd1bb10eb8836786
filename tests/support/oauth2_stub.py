"""A local OAuth2 authorization server stub: token introspection for Dovecot and a refresh endpoint.

It is a real HTTP server on 127.0.0.1 (stdlib ``http.server`` in a daemon thread), so Dovecot's
``oauth2`` passdb and our own token refresher talk to it over real sockets.

Endpoints:

- ``POST /introspect`` (RFC 7662): form field ``token``; answers
  ``{"active": true, "username": ...}`` for a live access token, ``{"active": false}`` otherwise.
  Dovecot's oauth2 passdb is configured against this URL.
- ``POST /token`` (RFC 6749 §6): ``grant_type=refresh_token&refresh_token=...&client_id=...
  &client_secret=...``; answers a new access token and a *rotated* refresh token for a known
  refresh token, or 400 ``{"error": "invalid_grant"}``. Every request's form fields are kept in
  :attr:`OAuth2Stub.requests` for assertions.

All state is guarded by one lock: the HTTP thread and the test thread both touch it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["OAuth2Stub"]

# Form bodies are tiny; anything bigger is a broken client, not a reason to allocate.
MAX_BODY_BYTES = 64 * 1024


@dataclass(slots=True)
class _Grant:
    username: str
    expires_in_s: float


class OAuth2Stub:
    """A thread-safe OAuth2 token/introspection server on 127.0.0.1.

    Use as a context manager or call :meth:`start` and :meth:`close`.

    Attributes:
        introspection_url: where Dovecot POSTs ``token=...`` (RFC 7662).
        token_url: the refresh-token endpoint.
        requests: form fields of every request the token endpoint received, oldest first.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # access token -> (username, expires_at monotonic seconds)
        self._access: dict[str, tuple[str, float]] = {}
        self._refresh: dict[str, _Grant] = {}
        self.requests: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.introspection_url = ""
        self.token_url = ""

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind an ephemeral port on 127.0.0.1 and serve in a daemon thread.

        Raises:
            RuntimeError: if the stub is already running.
            OSError: if the socket cannot be bound.
        """
        if self._server is not None:
            raise RuntimeError("OAuth2Stub already started")
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                # Quiet: pytest would show every Dovecot introspection as stderr noise.
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self._reply(413, {"error": "invalid_request"})
                    return
                raw = self.rfile.read(length).decode("utf-8", "replace")
                form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw).items()}
                path = urllib.parse.urlsplit(self.path).path
                if path == "/introspect":
                    self._reply(200, stub._introspect(form.get("token", "")))
                elif path == "/token":
                    status, body = stub._token(form)
                    self._reply(status, body)
                else:
                    self._reply(404, {"error": "not_found"})

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        port = server.server_address[1]
        self._server = server
        self.introspection_url = f"http://127.0.0.1:{port}/introspect"
        self.token_url = f"http://127.0.0.1:{port}/token"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name="oauth2-stub",
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OAuth2Stub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- test API ------------------------------------------------------------------------------

    def issue(self, username: str, *, expires_in_s: float = 3600) -> tuple[str, str]:
        """Mint an access token and a refresh token for ``username``.

        Args:
            username: the IMAP login the tokens stand for.
            expires_in_s: access-token lifetime; refreshed tokens get the same lifetime.

        Returns:
            ``(access_token, refresh_token)``.
        """
        access = "at-" + secrets.token_urlsafe(18)
        refresh = "rt-" + secrets.token_urlsafe(18)
        with self._lock:
            self._access[access] = (username, time.monotonic() + expires_in_s)
            self._refresh[refresh] = _Grant(username, expires_in_s)
        return access, refresh

    def revoke(self, access_token: str) -> None:
        """Make ``access_token`` inactive at once (unknown tokens are ignored)."""
        with self._lock:
            self._access.pop(access_token, None)

    # -- endpoint logic (called from the HTTP thread) ------------------------------------------

    def _introspect(self, token: str) -> dict[str, Any]:
        with self._lock:
            entry = self._access.get(token)
        if entry is None or entry[1] <= time.monotonic():
            return {"active": False}
        return {"active": True, "username": entry[0]}

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(dict(form))
            if form.get("grant_type") != "refresh_token":
                return 400, {"error": "unsupported_grant_type"}
            grant = self._refresh.pop(form.get("refresh_token", ""), None)
            if grant is None:
                return 400, {"error": "invalid_grant"}
        access, refresh = self.issue(grant.username, expires_in_s=grant.expires_in_s)
        return 200, {
            "access_token": access,
            "expires_in": int(grant.expires_in_s),
            "token_type": "Bearer",
            "refresh_token": refresh,
        }
