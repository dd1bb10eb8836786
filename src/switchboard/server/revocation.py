"""Closing the sockets of a revoked token, within seconds, whoever revoked it.

``switchboard tokens revoke`` writes the store, usually from another process while the server
runs (SQLite: the same file; PostgreSQL: any node, or the CLI of any machine). Refusing the next
upgrade is not enough: a worker holds its socket for days. So every ``interval_s`` (2 s by
default) the watch asks the store for the ids of the tokens still active — one small query,
skipped when no open socket uses a stored token — and closes every session whose token is no
longer among them, with close code **1008** (policy violation, RFC 6455 §7.4.1) and the reason
``"token revoked"``.

The same watch ends the JMAP push connections opened with a stored token
(:mod:`switchboard.server.jmap.streams`): a JMAP WebSocket is closed with the same 1008, an
EventSource stream simply ends (an HTTP response has no close code). A revoked token's next
HTTP request is refused (401) by the token check itself, which reads the store every time.

Static tokens (``--token``, ``SWITCHBOARD_TOKENS``) come from the configuration and are never
revoked while the server runs; their sessions, like anonymous ones, are not watched.

A failing store must not cost anyone their socket: when the query fails (or takes longer than
``timeout_s``) nobody is closed, the failure is logged once, and the next round tries again; a
revocation is then enforced as soon as the store answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Final, Protocol

__all__ = [
    "DEFAULT_REVOCATION_INTERVAL_S",
    "REVOKED_CLOSE_CODE",
    "REVOKED_REASON",
    "ActiveTokens",
    "Revocable",
    "RevocationWatch",
    "TokenHolder",
]

logger = logging.getLogger("switchboard.server")

DEFAULT_REVOCATION_INTERVAL_S: Final = 2.0
"""How often the store is asked which tokens are still active."""

REVOKED_CLOSE_CODE: Final = 1008
"""Policy violation (RFC 6455 §7.4.1): the socket's credentials are no longer accepted."""

REVOKED_REASON: Final = "token revoked"


class ActiveTokens(Protocol):
    """The one store query the watch needs (every :class:`~switchboard.store.base.Store` has it)."""

    async def active_token_ids(self) -> frozenset[str]:
        """The ids of every token not revoked."""
        ...


class TokenHolder(Protocol):
    """Who opened a socket, as the watch needs it (a :class:`~switchboard.server.auth.Principal`,
    or a JMAP caller)."""

    @property
    def name(self) -> str:
        """The token's name (logged), never the token."""
        ...

    @property
    def token_id(self) -> str | None:
        """The stored token's id; ``None`` for static tokens, anonymous callers, Basic logins."""
        ...


class Revocable(Protocol):
    """A session (or a JMAP push connection) as the watch sees it."""

    @property
    def principal(self) -> TokenHolder | None:
        """Who opened the socket."""
        ...

    @property
    def is_open(self) -> bool:
        """Whether the session is still open (not closing)."""
        ...

    def close(self, code: int, reason: str) -> None:
        """Close the socket without waiting for the closing handshake."""
        ...


class RevocationWatch:
    """Closes the sessions whose stored token was revoked; see the module docstring.

    Args:
        store: where tokens live (the server's store).
        sessions: the open sessions, asked afresh at every round.
        interval_s: seconds between two rounds.
        timeout_s: how long one store query may take before the round is given up.
    """

    def __init__(
        self,
        store: ActiveTokens,
        sessions: Callable[[], Iterable[Revocable]],
        *,
        interval_s: float = DEFAULT_REVOCATION_INTERVAL_S,
        timeout_s: float = 10.0,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._failing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the periodic check (on the running loop). Idempotent."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name="switchboard-token-revocation"
            )

    async def stop(self) -> None:
        """Stop the periodic check. Idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])  # a cancel of our caller is not swallowed here

    async def check_once(self) -> int:
        """One round: close the sessions of revoked tokens; return how many were closed.

        Returns 0 without closing anyone when the store cannot answer (logged once).
        """
        watched = [s for s in self._sessions() if s.is_open and _token_id(s) is not None]
        if not watched:
            return 0
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a stop()'s
            # cancel arriving as the store answers, and the loop would go on after its stop.
            async with asyncio.timeout(self._timeout_s):
                active = await self._store.active_token_ids()
        except Exception as exc:  # any store failure: keep serving, try again next round
            if not self._failing:
                logger.warning(
                    "cannot check for revoked tokens (%s: %s); open sockets stay open until "
                    "the store answers again",
                    type(exc).__name__,
                    exc,
                )
            self._failing = True
            return 0
        if self._failing:
            logger.info("checking for revoked tokens again")
            self._failing = False
        closed = 0
        for session in watched:
            token_id = _token_id(session)
            if token_id is not None and token_id not in active:
                principal = session.principal
                logger.info(
                    "closing a socket of token %s (%s): revoked",
                    token_id,
                    principal.name if principal is not None else "?",
                )
                session.close(REVOKED_CLOSE_CODE, REVOKED_REASON)
                closed += 1
        return closed

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.check_once()


def _token_id(session: Revocable) -> str | None:
    principal = session.principal
    return None if principal is None else principal.token_id
