"""Account notices between nodes: "this account changed" and "apply its watches, then answer".

Nodes share accounts and watches through the store; this channel only says *when* to re-read
them. Every node LISTENs on ``switchboard_accounts``. Three kinds of notice, JSON payloads:

- ``changed`` (account): its row or its watches were saved or deleted; re-read it;
- ``watch`` (account, nonce): a node that does not hold the account saved new watches for it;
  the lease holder re-reads them, lets its engine watch them (which baselines new mailboxes)
  and answers with
- ``watched`` (nonce, failed): the names that could not be watched.

The asking node waits for the answer (bounded by ``answer_timeout_s``), so ``watchMailboxes``
keeps its single-node meaning on any node: when it returns, mail arriving afterwards in those
mailboxes is announced. It repeats the request every ``resend_interval_s`` until answered:
a holder that gives the account away while the request is under way does not answer, and the
next holder answers the repeat once it has started the account with the stored watches (a
repeat of a request already answered is not applied again). A notice lost while the listening
connection was down is covered by a ``resync`` handed to the handler after every reconnect
(re-read everything).
"""

from __future__ import annotations

import asyncio
import collections
import enum
import itertools
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from switchboard.protocol import wirejson
from switchboard.store.errors import StoreError

__all__ = ["ACCOUNTS_CHANNEL", "AccountNotices", "NoticeHandler", "NoticeKind"]

logger = logging.getLogger("switchboard.cluster")

ACCOUNTS_CHANNEL = "switchboard_accounts"
"""The LISTEN/NOTIFY channel of account notices."""

# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
_MAX_PAYLOAD_BYTES = 7900
# Watch requests already handled, by nonce: a repeated request is not applied again.
_REMEMBERED_NONCES = 1000


class NoticeKind(enum.StrEnum):
    """What a notice asks of the nodes that receive it."""

    CHANGED = "changed"
    WATCH = "watch"
    WATCHED = "watched"


class NoticeHandler(Protocol):
    """What a node does with notices (the server's account registry)."""

    async def account_changed(self, account_id: str) -> None:
        """Re-read the account from the store. Must not raise."""
        ...

    async def apply_stored_watches(self, account_id: str) -> tuple[str, ...] | None:
        """As lease holder, watch the stored watches; return the failed names.

        ``None`` when this node does not hold the account (it then does not answer). Must not
        raise.
        """
        ...

    async def resync(self) -> None:
        """Re-read every account (notices may have been missed). Must not raise."""
        ...


@dataclass(frozen=True, slots=True)
class _Notice:
    kind: NoticeKind
    account_id: str = ""
    nonce: str = ""
    failed: tuple[str, ...] = ()


class AccountNotices:
    """Sends and receives account notices for one node.

    Args:
        pool: a pool on the shared database (NOTIFY is sent through it).
        dsn: the database to LISTEN on (one dedicated connection).
        handler: acts on the notices.
        answer_timeout_s: how long :meth:`request_watch` waits for the holder's answer.
        resend_interval_s: how often it repeats the request meanwhile.
        max_queued_notices: notices waiting for the handler; beyond it a ``resync`` replaces
            them (re-reading everything is always correct).
        check_interval_s: how often the listening connection is checked (and re-opened).
        connect_timeout_s: the limit for (re)opening the listening connection.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        handler: NoticeHandler,
        *,
        answer_timeout_s: float = 15.0,
        resend_interval_s: float = 2.0,
        max_queued_notices: int = 10_000,
        check_interval_s: float = 1.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._handler = handler
        self._answer_timeout_s = answer_timeout_s
        self._resend_interval_s = resend_interval_s
        self._check_interval_s = check_interval_s
        self._connect_timeout_s = connect_timeout_s
        self._queue: asyncio.Queue[_Notice | None] = asyncio.Queue(max_queued_notices)
        self._answers: dict[str, asyncio.Future[tuple[str, ...]]] = {}
        self._nonces = itertools.count()
        self._prefix = secrets.token_hex(4)
        self._listener: asyncpg.Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._handled: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._failing_since: float | None = None

    async def start(self) -> None:
        """LISTEN and start handling notices.

        Raises:
            StoreError: the database cannot be reached.
        """
        await self._listen()
        self._tasks = [
            asyncio.create_task(self._handle_loop(), name="account-notices"),
            asyncio.create_task(self._watchdog(), name="account-notices-listener"),
        ]

    async def stop(self) -> None:
        """Stop handling notices and close the listening connection."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        conn, self._listener = self._listener, None
        if conn is not None:
            conn.terminate()
        for future in self._answers.values():
            future.cancel()

    async def changed(self, account_id: str) -> None:
        """Tell every node the account (or its watches) changed in the store.

        Raises:
            StoreError: the database cannot be reached.
        """
        await self._send({"kind": NoticeKind.CHANGED.value, "account": account_id})

    async def request_watch(self, account_id: str) -> tuple[str, ...] | None:
        """Ask the holder to watch the account's stored watches; return its failed names.

        ``None`` when no node answered within ``answer_timeout_s`` (no holder, or a slow one:
        the watches are stored, and a holder applies them when it starts the account).

        Raises:
            StoreError: the database cannot be reached.
        """
        nonce = f"{self._prefix}-{next(self._nonces)}"
        future: asyncio.Future[tuple[str, ...]] = asyncio.get_running_loop().create_future()
        self._answers[nonce] = future
        request = {"kind": NoticeKind.WATCH.value, "account": account_id, "nonce": nonce}
        try:
            async with asyncio.timeout(self._answer_timeout_s):
                while True:
                    await self._send(request)
                    done, _ = await asyncio.wait({future}, timeout=self._resend_interval_s)
                    if done:
                        return future.result()
        except TimeoutError:
            return None
        finally:
            self._answers.pop(nonce, None)

    # -- plumbing ----------------------------------------------------------------------------

    async def _send(self, body: dict[str, Any]) -> None:
        payload = wirejson.dumps(body)
        if len(payload.encode()) > _MAX_PAYLOAD_BYTES:
            # Only a "watched" answer can grow (its failed names); the asker then times out.
            raise StoreError("account notice too large for NOTIFY")
        try:
            async with self._pool.acquire() as conn:
                await conn.execute("SELECT pg_notify($1, $2)", ACCOUNTS_CHANNEL, payload)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot NOTIFY: {exc}") from exc

    async def _listen(self) -> None:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=self._connect_timeout_s)
            await conn.add_listener(ACCOUNTS_CHANNEL, self._received)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot LISTEN on PostgreSQL: {exc}") from exc
        self._listener = conn

    def _received(self, _conn: object, _pid: object, _channel: object, payload: object) -> None:
        try:
            body = wirejson.loads(str(payload))
            notice = _Notice(
                NoticeKind(body["kind"]),
                str(body.get("account", "")),
                str(body.get("nonce", "")),
                tuple(str(n) for n in body.get("failed", ())),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.warning("ignoring a malformed account notice: %.200r", payload)
            return
        if notice.kind is NoticeKind.WATCHED:
            # Answers resolve at once: they must not wait behind slow watch requests.
            future = self._answers.get(notice.nonce)
            if future is not None and not future.done():
                future.set_result(notice.failed)
            return
        self._enqueue(notice)

    def _enqueue(self, notice: _Notice | None) -> None:
        try:
            self._queue.put_nowait(notice)
        except asyncio.QueueFull:
            # Drop what is queued and re-read everything instead.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)

    async def _handle_loop(self) -> None:
        while True:
            notice = await self._queue.get()
            if notice is None:
                await self._handler.resync()
            elif notice.kind is NoticeKind.CHANGED:
                await self._handler.account_changed(notice.account_id)
            elif notice.nonce not in self._handled:  # else a repeat of one answered
                await self._handler.account_changed(notice.account_id)
                failed = await self._handler.apply_stored_watches(notice.account_id)
                if failed is not None:
                    self._handled[notice.nonce] = None
                    if len(self._handled) > _REMEMBERED_NONCES:
                        self._handled.popitem(last=False)
                    await self._answer(notice.nonce, failed)

    async def _answer(self, nonce: str, failed: tuple[str, ...]) -> None:
        try:
            await self._send({"kind": NoticeKind.WATCHED.value, "nonce": nonce, "failed": failed})
        except StoreError as exc:
            logger.warning("cannot answer a watch request: %s", exc)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self._check_interval_s)
            if self._listener is not None and not self._listener.is_closed():
                continue
            if self._listener is not None:
                self._listener.terminate()
                self._listener = None
            try:
                await self._listen()
            except StoreError as exc:
                if self._failing_since is None:  # once per outage, not every second
                    self._failing_since = time.monotonic()
                    logger.warning("account notices: %s; retrying every second", exc)
                continue
            if self._failing_since is not None:
                logger.warning(
                    "account notices: listening again after %.1f s; re-reading every account",
                    time.monotonic() - self._failing_since,
                )
                self._failing_since = None
            self._enqueue(None)  # notices sent while we were not listening are lost
