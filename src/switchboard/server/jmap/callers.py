"""Who a JMAP request is, and which accounts it reaches: a Switchboard token, or the mail login.

Two ways in (docs/jmap.md, "Authentication"):

- ``Authorization: Bearer T`` (or ``?token=T``, for an EventSource in a browser) with a
  Switchboard token, checked by :class:`~switchboard.server.auth.Authenticator` like a socket's:
  a worker-scope token reaches every account; a client-scope token reaches the one account it
  is bound to (an unbound one reaches none); a wrong or revoked token is refused (401).
- ``Authorization: Basic`` with the IMAP username and password. The username is the account's
  name, as ``connect`` uses it. The password is compared in constant time with the account's
  stored one; otherwise it is tried by an IMAP login, through the account registry's
  ``connect`` exactly as a worker's ``connect`` would: new credentials that log in replace the
  stored ones, and an account not yet known is added — on ``jmap_imap_server``, the one IMAP
  server the settings name for that — pinned and watching INBOX. A success is remembered for
  :data:`BASIC_CACHE_S` (keyed by a keyed digest, never the password), so every API call does
  not cost a login.

A wrong password must not cost an IMAP login per request either: a client retrying in a loop
would hammer the mail server, and many servers lock an account after a few failed logins.
A login the IMAP server refused is remembered, per (IMAP host, username, password) — again by
a keyed digest — and the same credentials get 401 (with ``Retry-After``) without any IMAP
for :data:`BASIC_BACKOFF_FIRST_S` seconds, doubling after each further refusal up to
:data:`BASIC_BACKOFF_MAX_S`. Another password (the right one) is not held back. Requests with
the same credentials that arrive while their check runs wait for it instead of logging in
side by side. The digest key is drawn when the server starts and never leaves memory.

A request with neither gets 401 with ``WWW-Authenticate: Basic realm="Switchboard", Bearer``,
even on a loopback server without tokens (where sockets are open to anyone): a JMAP Session
lists *the caller's* accounts, and an anonymous caller has none. Credentials are never logged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import http
import logging
import math
import secrets
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Final, Protocol

from switchboard.engine.engine import WatchResult
from switchboard.engine.errors import AuthenticationFailed, EngineError
from switchboard.model.accounts import AccountConfig, PasswordAuth, TlsMode
from switchboard.model.store import TokenScope
from switchboard.protocol.errors import AccountConflict
from switchboard.server.accountbook import WORKERS
from switchboard.server.accountconfig import ImapPolicy
from switchboard.server.accounts import ConnectOutcome
from switchboard.server.auth import Authenticator, Refusal, RequestHead, offered_token
from switchboard.server.credentials import same_credentials
from switchboard.store.errors import StoreError

__all__ = [
    "BASIC_BACKOFF_FIRST_S",
    "BASIC_BACKOFF_MAX_S",
    "BASIC_CACHE_S",
    "CHALLENGE",
    "BasicAccounts",
    "JmapAuthenticator",
    "JmapCaller",
]

logger = logging.getLogger("switchboard.server")

BASIC_CACHE_S: Final = 60.0
"""How long a Basic login that succeeded is taken on trust."""

BASIC_BACKOFF_FIRST_S: Final = 10.0
"""How long a refused Basic login's credentials get 401 without an IMAP login, at first."""

BASIC_BACKOFF_MAX_S: Final = 300.0
"""The longest such wait (it doubles with each refusal of the same credentials)."""

CHALLENGE: Final = 'Basic realm="Switchboard", Bearer'
"""``WWW-Authenticate`` of a JMAP 401: both schemes are accepted."""

_MAX_CACHED: Final = 10_000
_NEW_ACCOUNT_WATCHES: Final = ("INBOX",)


@dataclass(frozen=True, slots=True)
class JmapCaller:
    """Who a JMAP request authenticated as.

    Attributes:
        username: the Session's ``username``: the token's name, or the mail login.
        every_account: a worker-scope token: every account of the server.
        account: otherwise the one account reached, if any.
        token_id: the stored token's id (for revocation), ``None`` otherwise.
    """

    username: str
    every_account: bool = False
    account: str | None = None
    token_id: str | None = None

    @property
    def name(self) -> str:
        """The name logged for the caller (the revocation watch's ``TokenHolder``)."""
        return self.username

    def reaches(self, account_id: str) -> bool:
        """Whether the caller may use the Switchboard account ``account_id``."""
        return self.every_account or account_id == self.account

    def account_ids(
        self, known: Callable[[], list[str]], exists: Callable[[str], bool]
    ) -> list[str]:
        """The accounts the caller reaches among the server's (``known``: every account id)."""
        if self.every_account:
            return known()
        return [self.account] if self.account is not None and exists(self.account) else []


class BasicAccounts(Protocol):
    """The account registry, as a Basic login uses it."""

    def config(self, account_id: str) -> AccountConfig | None:
        """The account's settings and credentials, or ``None``."""
        ...

    def exists(self, account_id: str) -> bool:
        """Whether the account is managed."""
        ...

    async def connect(
        self, wanted: AccountConfig, *, by_worker: bool, holder: Hashable
    ) -> ConnectOutcome:
        """Create or join an account, checking its credentials by an IMAP login."""
        ...

    async def set_watches(
        self, account_id: str, holder: Hashable, names: tuple[str, ...]
    ) -> WatchResult:
        """Replace a holder's watch set."""
        ...


def _unauthorized(description: str, *, retry_after_s: float | None = None) -> Refusal:
    headers: tuple[tuple[str, str], ...] = (("WWW-Authenticate", CHALLENGE),)
    if retry_after_s is not None:
        headers += (("Retry-After", str(max(1, math.ceil(retry_after_s)))),)
    return Refusal(
        http.HTTPStatus.UNAUTHORIZED, {"error": "unauthorized", "description": description}, headers
    )


@dataclass(slots=True)
class _Refused:
    """Credentials the IMAP server refused: held back until ``until``, then ``delay_s`` doubles."""

    until: float
    delay_s: float


@dataclass(slots=True)
class _Check:
    """The check running for one set of credentials, and how many requests wait on it."""

    lock: asyncio.Lock
    users: int = 0


def _unavailable(description: str) -> Refusal:
    return Refusal(
        http.HTTPStatus.SERVICE_UNAVAILABLE, {"error": "unavailable", "description": description}
    )


def basic_credentials(header: str) -> tuple[str, str] | None:
    """The username and password of an ``Authorization: Basic`` value, or ``None``.

    RFC 7617 leaves the charset open; clients send UTF-8 (browsers, curl) or Latin-1 (Python's
    ``requests``, which jmapc uses): UTF-8 is tried first, then Latin-1, which decodes anything.
    """
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    username, colon, password = text.partition(":")
    if not colon or not username:
        return None
    return username, password


class JmapAuthenticator:
    """Authenticates JMAP requests (see the module docstring).

    Args:
        tokens: the server's token check.
        accounts: the account registry.
        policy: how IMAP servers are reached (CA file, certificate checks).
        imap_server: where a Basic login of an unknown account is tried, or ``None``.
        clock: monotonic seconds, for the Basic cache and backoff.
        on_login: called with each Basic login's outcome (``/metrics``: one of
            :data:`switchboard.server.metrics.BASIC_OUTCOMES`).
    """

    def __init__(
        self,
        tokens: Authenticator,
        accounts: BasicAccounts,
        policy: ImapPolicy,
        imap_server: tuple[str, int] | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_login: Callable[[str], None] = lambda outcome: None,
    ) -> None:
        self._on_login = on_login
        self._refused: dict[bytes, _Refused] = {}
        self._checks: dict[bytes, _Check] = {}
        self._tokens = tokens
        self._accounts = accounts
        self._policy = policy
        self._imap_server = imap_server
        self._clock = clock
        self._cache_key = secrets.token_bytes(32)
        self._cache: dict[bytes, float] = {}

    async def authenticate(self, request: RequestHead) -> JmapCaller | Refusal:
        """Who ``request`` is, or the refusal to answer with (401, or 503 on an outage)."""
        header = request.headers.get("Authorization", "")
        credentials = basic_credentials(header) if header else None
        if credentials is not None:
            return await self._basic(*credentials)
        if offered_token(request) is None:
            return _unauthorized("log in with the mail account (Basic) or a Switchboard token")
        try:
            principal = await self._tokens.authenticate(request)
        except StoreError as exc:
            logger.warning("cannot check a token: %s", exc)
            return _unavailable("the token store cannot be read now")
        if principal is None:
            return _unauthorized("a valid token is required")
        if principal.scope is TokenScope.WORKER:
            return JmapCaller(principal.name, every_account=True, token_id=principal.token_id)
        return JmapCaller(principal.name, account=principal.account, token_id=principal.token_id)

    def _cache_digest(self, username: str, password: str) -> bytes:
        message = username.encode("utf-8", "surrogatepass") + b"\0"
        message += password.encode("utf-8", "surrogatepass")
        return hmac.new(self._cache_key, message, "sha256").digest()

    async def _basic(self, username: str, password: str) -> JmapCaller | Refusal:
        digest = self._cache_digest(username, password)
        expires = self._cache.get(digest)
        if expires is not None and expires > self._clock() and self._accounts.exists(username):
            self._on_login("cached")
            return JmapCaller(username, account=username)
        # One check at a time per credentials: the others wait, then find its outcome cached.
        check = self._checks.get(digest)
        if check is None:
            check = self._checks[digest] = _Check(asyncio.Lock())
        check.users += 1
        try:
            async with check.lock:
                expires = self._cache.get(digest)
                if (
                    expires is not None
                    and expires > self._clock()
                    and self._accounts.exists(username)
                ):
                    self._on_login("cached")
                    return JmapCaller(username, account=username)
                outcome, answer = await self._check(username, password)
                self._on_login(outcome)
                if not isinstance(answer, Refusal):
                    self._remember(digest, self._clock())
                return answer
        finally:
            check.users -= 1
            if not check.users:
                del self._checks[digest]

    async def _check(self, username: str, password: str) -> tuple[str, JmapCaller | Refusal]:
        """Check a Basic login that is not cached: its outcome's name and the answer."""
        wanted = PasswordAuth(username, password)
        existing = self._accounts.config(username)
        if existing is not None:
            if isinstance(existing.auth, PasswordAuth) and same_credentials(existing.auth, wanted):
                return "stored", JmapCaller(username, account=username)
            config = replace(existing, auth=wanted)
        elif self._imap_server is None:
            return "unknown", _unauthorized(
                "no such account here (and no jmap_imap_server to try a new one on)"
            )
        else:
            host, port = self._imap_server
            policy = self._policy
            config = AccountConfig(
                account_id=username,
                host=host,
                port=port,
                auth=wanted,
                tls=TlsMode.IMPLICIT,
                ca_file=policy.ca_file,
                verify_tls=policy.verify_tls,
                allow_plain=policy.allow_plain,
            )
        key = self._refusal_digest(config.host, config.port, username, password)
        now = self._clock()
        held = self._refused.get(key)
        if held is not None and held.until > now:
            return "backoff", _unauthorized(
                "the IMAP server refused these credentials; wait before trying them again",
                retry_after_s=held.until - now,
            )
        outcome, refused = await self._connect(config)
        if outcome == "refused":
            self._hold_back(key, held, now, username)
        elif refused is None:
            self._refused.pop(key, None)
        return outcome, refused or JmapCaller(username, account=username)

    def _refusal_digest(self, host: str, port: int, username: str, password: str) -> bytes:
        message = b"\0".join(
            part.encode("utf-8", "surrogatepass")
            for part in ("refused", f"{host}:{port}", username, password)
        )
        return hmac.new(self._cache_key, message, "sha256").digest()

    def _hold_back(self, key: bytes, held: _Refused | None, now: float, username: str) -> None:
        """Remember a refusal: the same credentials wait, longer each time."""
        if held is not None and now < held.until + BASIC_BACKOFF_MAX_S:
            delay_s = min(held.delay_s * 2, BASIC_BACKOFF_MAX_S)
        else:
            delay_s = BASIC_BACKOFF_FIRST_S
        if len(self._refused) >= _MAX_CACHED:
            self._refused = {
                k: r for k, r in self._refused.items() if now < r.until + BASIC_BACKOFF_MAX_S
            }
            if len(self._refused) >= _MAX_CACHED:
                self._refused.clear()
        self._refused[key] = _Refused(now + delay_s, delay_s)
        logger.info(
            "JMAP Basic login refused for %s: these credentials get 401 without an IMAP login "
            "for %.0f s",
            username,
            delay_s,
        )

    async def _connect(self, config: AccountConfig) -> tuple[str, Refusal | None]:
        """Log in through the registry's ``connect``; a new account also watches INBOX.

        Returns the outcome's name (``imap``, ``refused``, ``unavailable``) and the refusal to
        answer with, if any.
        """
        try:
            outcome = await self._accounts.connect(config, by_worker=True, holder=WORKERS)
        except AuthenticationFailed:
            return "refused", _unauthorized("the IMAP server refused these credentials")
        except AccountConflict as exc:
            return "conflict", _unauthorized(str(exc))
        except (EngineError, OSError) as exc:
            # verify_login logged why, with the secrets scrubbed.
            logger.info("JMAP Basic login of %s not checked: %s", config.account_id,
                        type(exc).__name__)  # fmt: skip
            return "unavailable", _unavailable(
                "the IMAP server cannot be reached to check these credentials"
            )
        except StoreError as exc:
            logger.warning("JMAP Basic login of %s: %s", config.account_id, exc)
            return "unavailable", _unavailable("the account store cannot be written now")
        if outcome.created:
            try:
                await self._accounts.set_watches(config.account_id, WORKERS, _NEW_ACCOUNT_WATCHES)
            except (EngineError, StoreError, OSError) as exc:
                # The account is added; its watch is retried by the next worker or restart.
                logger.warning("new JMAP account %s: cannot watch INBOX: %s",
                               config.account_id, exc)  # fmt: skip
        return "imap", None

    def _remember(self, digest: bytes, now: float) -> None:
        if len(self._cache) >= _MAX_CACHED:
            self._cache = {d: t for d, t in self._cache.items() if t > now}
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
        self._cache[digest] = now + BASIC_CACHE_S
