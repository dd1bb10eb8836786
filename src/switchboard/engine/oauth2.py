"""OAuth2 for XOAUTH2: refresh access tokens at the token endpoint, cache them, hand back rotations.

Two pieces:

- :class:`HttpTokenRefresher` does one refresh-token grant (RFC 6749 §6): a form-encoded POST of
  ``grant_type=refresh_token`` with the client id and secret, over stdlib ``urllib`` in a
  worker thread, bounded by ``timeout_s`` and ``max_response_bytes``.
- :class:`OAuth2Credentials` holds one account's current tokens. It refreshes ahead of expiry
  (``margin_s``) and once after the IMAP server refused a token, serialises refreshes with a lock
  (providers rotate refresh tokens: two concurrent refreshes with the same one would burn it),
  paces failed refreshes with a :class:`~switchboard.engine.backoff.Backoff`, and reports every
  new token set through ``on_refreshed`` so the store can keep the rotated refresh token.

Secrets never appear in a log line, an exception message or a ``repr``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from switchboard.engine.backoff import Backoff
from switchboard.engine.errors import OAuth2Error, OAuth2Rejected, OAuth2Unavailable
from switchboard.model.accounts import OAuth2Auth

__all__ = ["HttpTokenRefresher", "OAuth2Credentials", "TokenGrant", "TokenRefresher"]

logger = logging.getLogger(__name__)

# Error codes (RFC 6749 §5.2) that mean "these credentials will not work, ask the user".
_REJECTING_ERRORS = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope", "invalid_request"}
)
_SAFE_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What the token endpoint gave: an access token, its expiry, maybe a rotated refresh token."""

    access_token: str = field(repr=False)
    expires_at: float | None  # Unix time
    refresh_token: str | None = field(default=None, repr=False)


class TokenRefresher(Protocol):
    """Exchanges a refresh token for a new access token."""

    async def refresh(self, auth: OAuth2Auth) -> TokenGrant:
        """Run one refresh-token grant for ``auth``.

        Raises:
            OAuth2Rejected: the endpoint refused the refresh token or client.
            OAuth2Unavailable: network failure, timeout, server error or a malformed answer.
        """
        ...


class HttpTokenRefresher:
    """Refresh-token grants over HTTP(S) with the standard library.

    Args:
        timeout_s: bound on connect + request + response.
        max_response_bytes: a larger answer is treated as malformed.
        wall_clock: Unix time, to turn ``expires_in`` into ``expires_at``.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 15.0,
        max_response_bytes: int = 64 * 1024,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._timeout_s = timeout_s
        self._max_response_bytes = max_response_bytes
        self._wall_clock = wall_clock

    async def refresh(self, auth: OAuth2Auth) -> TokenGrant:
        """Run one refresh-token grant for ``auth``; see :meth:`TokenRefresher.refresh`.

        Raises:
            OAuth2Rejected: no refresh token or endpoint configured, or the endpoint refused.
            OAuth2Unavailable: network failure, timeout, server error or a malformed answer.
        """
        if not auth.refresh_token or not auth.token_endpoint:
            raise OAuth2Rejected("no refresh token or token endpoint configured")
        endpoint = auth.token_endpoint
        scheme = urllib.parse.urlsplit(endpoint).scheme.lower()
        if scheme not in {"http", "https"}:
            raise OAuth2Rejected(f"token endpoint scheme {scheme!r} is not http(s)")
        form = {"grant_type": "refresh_token", "refresh_token": auth.refresh_token}
        if auth.client_id is not None:
            form["client_id"] = auth.client_id
        if auth.client_secret is not None:
            form["client_secret"] = auth.client_secret
        # urlencode percent-encodes "+", "&" and "=" inside values (RFC 6749 appendix B).
        body = urllib.parse.urlencode(form).encode("ascii")
        started = self._wall_clock()
        status, payload = await asyncio.to_thread(self._post, endpoint, body)
        return self._parse(status, payload, started)

    def _post(self, endpoint: str, body: bytes) -> tuple[int, bytes]:
        host = urllib.parse.urlsplit(endpoint).hostname or "?"
        request = urllib.request.Request(  # noqa: S310 - scheme checked to be http(s) above
            endpoint,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:  # noqa: S310
                return response.status, response.read(self._max_response_bytes + 1)
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read(self._max_response_bytes + 1)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OAuth2Unavailable(
                f"token endpoint {host} unreachable: {type(reason).__name__}"
            ) from None

    def _parse(self, status: int, payload: bytes, started: float) -> TokenGrant:
        if len(payload) > self._max_response_bytes:
            raise OAuth2Unavailable("token endpoint answer too large")
        try:
            data = json.loads(payload.decode("utf-8")) if payload else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if not isinstance(data, dict):
            raise OAuth2Unavailable(f"token endpoint answered HTTP {status} without a JSON object")
        if status != 200:
            code = data.get("error")
            safe = code if isinstance(code, str) and _SAFE_CODE.fullmatch(code) else "unknown"
            if status in {400, 401, 403} and safe in _REJECTING_ERRORS:
                raise OAuth2Rejected(f"token endpoint refused the refresh token: {safe}")
            raise OAuth2Unavailable(f"token endpoint answered HTTP {status}: {safe}")
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise OAuth2Unavailable("token endpoint answer has no access_token")
        expires_in = data.get("expires_in")
        expires_at: float | None = None
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            expires_at = started + float(expires_in)
        elif isinstance(expires_in, str) and expires_in.isdigit():
            expires_at = started + float(expires_in)  # some providers send a string
        rotated = data.get("refresh_token")
        return TokenGrant(
            access_token=access,
            expires_at=expires_at,
            refresh_token=rotated if isinstance(rotated, str) and rotated else None,
        )


class OAuth2Credentials:
    """One account's OAuth2 tokens: current, refreshed when needed, rotations reported.

    Args:
        auth: the tokens as configured.
        refresher: does the HTTP exchange.
        on_refreshed: awaited with the new :class:`OAuth2Auth` after every successful refresh
            (to persist a rotated refresh token); its failures are logged, not raised.
        backoff: paces refresh attempts after failures.
        margin_s: refresh this long before ``expires_at``.
        clock: monotonic seconds (backoff deadlines).
        wall_clock: Unix time (token expiry).
    """

    def __init__(
        self,
        auth: OAuth2Auth,
        refresher: TokenRefresher,
        *,
        on_refreshed: Callable[[OAuth2Auth], Awaitable[None]] | None = None,
        backoff: Backoff | None = None,
        margin_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._auth = auth
        self._refresher = refresher
        self._on_refreshed = on_refreshed
        self._backoff = backoff if backoff is not None else Backoff(5.0, 300.0)
        self._margin_s = margin_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = asyncio.Lock()
        # After a failed refresh: no new attempt before this monotonic time; re-raise instead.
        self._retry_at = float("-inf")
        self._last_error: OAuth2Error | None = None
        self.refreshes = 0
        """Successful refreshes so far."""

    @property
    def auth(self) -> OAuth2Auth:
        """The current tokens (possibly expired; use :meth:`current` before connecting)."""
        return self._auth

    def replace_auth(self, auth: OAuth2Auth) -> None:
        """Adopt tokens given from outside (new credentials); forget past failures."""
        self._auth = auth
        self._retry_at = float("-inf")
        self._last_error = None
        self._backoff.reset()

    def _needs_refresh(self, auth: OAuth2Auth) -> bool:
        if auth.access_token is None:
            return True
        return (
            auth.expires_at is not None and auth.expires_at - self._margin_s <= self._wall_clock()
        )

    async def current(self, *, rejected_token: str | None = None) -> OAuth2Auth:
        """Return tokens with an access token worth trying, refreshing when needed.

        Args:
            rejected_token: the access token the IMAP server just refused; forces one refresh
                unless another caller already replaced that token.

        Raises:
            OAuth2Rejected: a refresh is needed but impossible or refused.
            OAuth2Unavailable: the endpoint failed (also re-raised without a new request
                until the backoff delay has passed).
        """
        async with self._lock:
            auth = self._auth
            if rejected_token is not None and auth.access_token != rejected_token:
                return auth  # someone refreshed while we were failing with the old token
            if rejected_token is None and not self._needs_refresh(auth):
                return auth
            if not auth.refresh_token or not auth.token_endpoint:
                if auth.access_token is None or rejected_token is not None:
                    raise OAuth2Rejected("access token missing or refused and no refresh token")
                return auth  # expired by our clock but nothing to refresh with: try it anyway
            if self._clock() < self._retry_at and self._last_error is not None:
                raise self._last_error
            try:
                grant = await self._refresher.refresh(auth)
            except OAuth2Error as exc:
                self._last_error = exc
                self._retry_at = self._clock() + self._backoff.next_delay_s()
                raise
            self._backoff.reset()
            self._last_error = None
            self._retry_at = float("-inf")
            auth = replace(
                auth,
                access_token=grant.access_token,
                expires_at=grant.expires_at,
                refresh_token=grant.refresh_token or auth.refresh_token,
            )
            self._auth = auth
            self.refreshes += 1
            if self._on_refreshed is not None:
                try:
                    await self._on_refreshed(auth)
                except Exception:  # the caller's storage failed; the new tokens still work
                    logger.exception("storing refreshed OAuth2 tokens for %s failed", auth.username)
            return auth
