"""Watch one mailbox: catch up from the checkpoint, then IDLE and announce every new UID once.

How it works — one task per watched mailbox loops over sessions::

    CONNECTING -> AUTHENTICATING -> SYNCING (SELECT, compare checkpoint, announce UIDs above it)
        -> IDLE (wait for EXISTS; DONE + IDLE again every idle_refresh_s) -> SYNCING -> ...

Exactly-once rules:

- The durable checkpoint is the only truth. Each session starts from ``store.load_checkpoint``
  and every announcement is one ``store.record(checkpoint, events)`` call (one per FETCH
  batch) followed by ``sink.publish``. If ``record`` fails nothing has moved: the session ends in
  ERROR, backs off and starts again from the durable checkpoint.
- ``UID FETCH n:*`` returns the highest message even when its UID is below n (RFC 3501 §6.4.8,
  "*" is the largest UID in use), so UIDs at or below the checkpoint are filtered out and the
  rest announced in ascending order.
- A UIDVALIDITY change resets the checkpoint to the mailbox's current top (UIDNEXT-1) and
  records one :class:`UidValidityChanged` event, never a flood of old mail.
- A mailbox that no longer exists records one :class:`MailboxGone` and stops the watcher.

Liveness: IDLE is re-issued every ``idle_refresh_s`` (with a check of the mailbox's identity).
Between refreshes, an IDLE from which nothing arrived for ``probe_quiet_s`` is probed: DONE and
a new IDLE in one write. The probe, and the DONE of a refresh, must be answered within
``liveness_grace_s`` or the connection is declared dead and reopened, so a peer that went silent
with the socket still open (a black-holed NAT entry) is noticed within ``probe_quiet_s +
liveness_grace_s`` — 55 s at the defaults; every other command is bounded by
``command_timeout_s``. TCP keepalive (set by the connection) covers a vanished host. Failures
back off with jitter: network ones on the normal schedule, refused credentials on the slow auth
schedule, so a wrong password is never a hot loop.

Why one module of ~570 lines (a long module says why): the session loop, the IDLE loop with its
probe and the wake's announce are one state machine over one connection and one checkpoint;
the states are :mod:`~switchboard.engine.state`, the timing rules
:mod:`~switchboard.engine.backoff`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence

from switchboard.engine.backoff import Backoff
from switchboard.engine.connector import AccountConnector, close_connection
from switchboard.engine.errors import ConnectionFailed, OAuth2Unavailable
from switchboard.engine.fetchplan import fetch_items, header_fields
from switchboard.engine.settings import EngineSettings
from switchboard.engine.state import AccountState, MailboxStatus, StateMachine
from switchboard.imap.connection import ConnectionState, ImapConnection
from switchboard.imap.errors import (
    AuthenticationFailed,
    ConnectionLost,
    ImapError,
    ImapProtocolError,
    ImapTimeout,
    MailboxNotFound,
)
from switchboard.imap.responses import (
    Exists,
    Expunge,
    Fetch,
    Status,
    StatusResponse,
    UntaggedResponse,
)
from switchboard.mail.summary import SUMMARY_PLAN, summary_of
from switchboard.model.events import (
    Checkpoint,
    EngineEvent,
    MailboxGone,
    MessageSummary,
    NewMessage,
    UidValidityChanged,
)
from switchboard.model.store import CheckpointStore, EventSink

__all__ = ["MailboxWatcher"]

logger = logging.getLogger(__name__)

_SUMMARY_ITEMS = fetch_items(SUMMARY_PLAN)
# Probe intervals from this long are aligned on whole seconds (see _idle_once).
_PROBE_TICK_FROM_S = 10.0


def _summary(fetch: Fetch) -> MessageSummary:
    try:
        return summary_of(header_fields(fetch), fetch.size)
    except Exception:  # a bug in the decoder must not block the mailbox
        # The message is announced without its fields rather than retried forever: an
        # exception here would end the session, and every reconnect would meet the same mail.
        logger.exception("could not summarize a message of %d bytes; announced without it",
                         fetch.size or 0)
        return MessageSummary(size=fetch.size)

S = AccountState


def probe_due(quiet_since: float, probe_quiet_s: float) -> float:
    """When an IDLE quiet since ``quiet_since`` is probed (clock seconds).

    Intervals from :data:`_PROBE_TICK_FROM_S` fall due on whole seconds, at most a second
    early (never later than the detection bound ``probe_quiet_s + liveness_grace_s``): the
    probes of thousands of quiet connections then go out, and their answers come back, in a
    few event-loop turns a second rather than one turn each (docs/benchmarks.md, item 12).
    """
    probe_at = quiet_since + probe_quiet_s
    if probe_quiet_s >= _PROBE_TICK_FROM_S:
        return float(math.floor(probe_at))
    return probe_at


def _is_warning(response: UntaggedResponse) -> bool:
    # RFC 3501 §7.1.2/§7.1.3: an untagged NO is a warning, BAD an error not tied to a command.
    return isinstance(response, StatusResponse) and response.status in (Status.NO, Status.BAD)


class _StoreError(Exception):
    """The store failed to load or record: nothing advanced; retry from the durable state."""


class _MailboxGoneError(Exception):
    """The watched mailbox no longer exists (already recorded)."""


class MailboxWatcher:
    """The watcher of one mailbox of one account; owns one task and one connection.

    Args:
        account_id: the account's wire id (goes into events).
        mailbox: the raw (modified UTF-7) mailbox name.
        connector: opens authenticated connections for the account.
        store: checkpoints and the event log.
        sink: receives stored events.
        settings: timings and limits.
        idle_refresh_s: the account's effective IDLE refresh (settings and provider profile).
        counters: the account's counters, shared with its other watchers.
        on_gone: called (synchronously) after the mailbox was reported gone.
        connection: an authenticated connection (not SELECTED) for the first session; the
            watcher owns it from here (closes it if it never runs).
        clock, wall_clock, sleep: injected time.
    """

    def __init__(
        self,
        account_id: str,
        mailbox: str,
        *,
        connector: AccountConnector,
        store: CheckpointStore,
        sink: EventSink,
        settings: EngineSettings,
        idle_refresh_s: float,
        counters: collections.Counter[str],
        on_gone: Callable[[str], None] | None = None,
        connection: ImapConnection | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.account_id = account_id
        self.mailbox = mailbox
        self._connector = connector
        self._store = store
        self._sink = sink
        self._settings = settings
        self._idle_refresh_s = idle_refresh_s
        self._counters = counters
        self._on_gone = on_gone
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._machine = StateMachine(S.CONNECTING)
        self._backoff = Backoff(settings.backoff_initial_s, settings.backoff_cap_s)
        self._auth_backoff = Backoff(settings.auth_backoff_initial_s, settings.auth_backoff_cap_s)
        self._conn: ImapConnection | None = None
        self._handoff = connection
        self._task: asyncio.Task[None] | None = None
        self._checkpoint: Checkpoint | None = None
        self._known_exists = 0
        # EXISTS count when the last announcement finished; None until one did this session.
        self._synced_exists: int | None = None
        self.last_event_at: float | None = None
        self.last_error: str | None = None
        # Wall time of the next attempt while waiting out a backoff, else None.
        self.retry_at: float | None = None
        # Wall time of the EXISTS push being handled now (NewMessage.detected_at), else None.
        self._pushed_at: float | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def state(self) -> AccountState:
        """The watcher's current state."""
        return self._machine.state

    def start(self) -> None:
        """Start the watcher's task (its owner must :meth:`stop` it)."""
        if self._task is None:
            self._task = asyncio.create_task(
                self._run(), name=f"watch {self.account_id} {self.mailbox}"
            )

    async def stop(self) -> None:
        """Stop the task and LOGOUT its connection, bounded by ``stop_timeout_s``."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        if task is not None:
            try:
                async with asyncio.timeout(self._settings.stop_timeout_s):
                    await asyncio.gather(task, return_exceptions=True)
            except TimeoutError:
                logger.warning("watcher %s/%s did not stop in time", self.account_id, self.mailbox)
        await self._drop_connection(logout=False)
        handoff, self._handoff = self._handoff, None
        if handoff is not None:  # stopped before its first session
            await close_connection(handoff, logout_timeout_s=self._settings.stop_timeout_s / 2)
        if self._machine.state is not S.STOPPED:
            self._machine.move(S.STOPPED)

    def status(self) -> MailboxStatus:
        """A snapshot for the dashboard."""
        checkpoint = self._checkpoint
        return MailboxStatus(
            name=self.mailbox,
            state=self._machine.state,
            uidvalidity=checkpoint.uidvalidity if checkpoint else None,
            last_uid=checkpoint.last_uid if checkpoint else None,
            last_event_at=self.last_event_at,
            last_error=self.last_error,
            retry_at=self.retry_at,
        )

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        try:
            while True:
                self._machine.move(S.CONNECTING)
                self.retry_at = None
                # LOGOUT when the peer is sane; a broken or silent one is just closed.
                polite = True
                handed_over = self._handoff is not None
                try:
                    await self._session()
                except _MailboxGoneError:
                    self._machine.move(S.STOPPED)
                    if self._on_gone is not None:
                        self._on_gone(self.mailbox)
                    return
                except AuthenticationFailed as exc:
                    delay_s = self._fail(S.AUTH_FAILED, exc, self._auth_backoff)
                except (ConnectionFailed, ConnectionLost, ImapTimeout, OAuth2Unavailable) as exc:
                    polite = False
                    delay_s = self._fail(S.BACKOFF, exc, self._backoff)
                    if handed_over:
                        # The connection handed over had died meanwhile: not the server's
                        # fault, and not worth a backoff. Open a fresh one now.
                        delay_s = 0.0
                except (ImapError, _StoreError) as exc:
                    # Protocol errors, unexpected NO/BAD, store failures: the peer or the store
                    # misbehaved; reconnecting from the durable checkpoint is the safe answer.
                    polite = not isinstance(exc, ImapProtocolError)
                    delay_s = self._fail(S.ERROR, exc, self._backoff)
                finally:
                    await self._drop_connection(logout=polite)
                await self._sleep(delay_s)
        finally:
            await self._drop_connection(logout=False)

    def _fail(self, state: AccountState, exc: BaseException, backoff: Backoff) -> float:
        self._machine.move(state)
        text = str(exc.__cause__ or exc) if isinstance(exc, _StoreError) else str(exc)
        self.last_error = f"{type(exc.__cause__ or exc).__name__}: {text}"[:500]
        self._counters[f"failures_{state.value}"] += 1
        delay_s = backoff.next_delay_s()
        self.retry_at = self._wall_clock() + delay_s
        logger.info(
            "%s/%s: %s; retrying in %.1f s", self.account_id, self.mailbox, self.last_error, delay_s
        )
        return delay_s

    async def _drop_connection(self, *, logout: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            timeout_s = self._settings.stop_timeout_s / 2 if logout else None
            await close_connection(conn, logout_timeout_s=timeout_s)

    async def _session(self) -> None:
        handoff, self._handoff = self._handoff, None
        if handoff is not None and handoff.state is ConnectionState.AUTHENTICATED:
            self._conn = conn = handoff  # already logged in (see the supervisor's watch())
            self._machine.move(S.AUTHENTICATING)
        else:
            if handoff is not None:
                await close_connection(handoff, logout_timeout_s=None)
            self._conn = conn = await self._connector.open()
            self._machine.move(S.AUTHENTICATING)
            await self._connector.authenticate(conn)
        self._machine.move(S.SYNCING)
        try:
            info = await conn.select(self.mailbox, readonly=True)
        except MailboxNotFound as exc:
            await self._report_gone(str(exc))
            raise _MailboxGoneError from exc
        self._known_exists = info.exists
        self._synced_exists = None
        self._pushed_at = None  # a catch-up is not a push
        checkpoint = await self._load_checkpoint()
        top = await self._top_uid(conn, info.uidnext, info.exists)
        if checkpoint is None:
            # First session without a baseline (watch() normally records one): start at the top.
            await self._record(Checkpoint(info.uidvalidity, top), [])
            self._synced_exists = info.exists
        elif checkpoint.uidvalidity != info.uidvalidity:
            self._counters["uidvalidity_changes"] += 1
            event = UidValidityChanged(
                self.account_id, self.mailbox, checkpoint.uidvalidity, info.uidvalidity
            )
            await self._record(Checkpoint(info.uidvalidity, top), [event])
            self._synced_exists = info.exists
        else:
            self._checkpoint = checkpoint
            await self._announce_new(conn)
        await self._idle_loop(conn)

    async def _load_checkpoint(self) -> Checkpoint | None:
        try:
            return await self._store.load_checkpoint(self.account_id, self.mailbox)
        except Exception as exc:  # any store failure: nothing was read, retry later
            raise _StoreError("loading the checkpoint failed") from exc

    async def _top_uid(self, conn: ImapConnection, uidnext: int | None, exists: int) -> int:
        if uidnext is not None:
            return uidnext - 1
        if exists == 0:
            return 0
        fetches = await conn.uid_fetch("*", "(UID)")
        return max((f.uid for f in fetches if f.uid is not None), default=0)

    async def _report_gone(self, reason: str) -> None:
        self._counters["mailboxes_gone"] += 1
        checkpoint = self._checkpoint or await self._load_checkpoint() or Checkpoint(0, 0)
        await self._record(checkpoint, [MailboxGone(self.account_id, self.mailbox, reason)])

    async def _record(self, checkpoint: Checkpoint, events: Sequence[EngineEvent]) -> None:
        """Make ``events`` and ``checkpoint`` durable in one step, then publish them."""
        try:
            stored = await self._store.record(self.account_id, self.mailbox, checkpoint, events)
        except Exception as exc:  # the store's failure means nothing moved; retry from durable
            self._counters["store_failures"] += 1
            raise _StoreError("recording events failed") from exc
        self._checkpoint = checkpoint
        if stored:
            self._counters["events"] += len(stored)
            self.last_event_at = self._wall_clock()
            self._sink.publish(stored)

    # ------------------------------------------------------------------ announcing

    async def _announce_new(self, conn: ImapConnection) -> None:
        """Announce every UID above the checkpoint, ascending, in batches of ``fetch_batch``."""
        checkpoint = self._checkpoint
        assert checkpoint is not None
        settings = self._settings
        # With summaries, the same header fields getMessages reads (mail.summary.SUMMARY_PLAN).
        full_items = _SUMMARY_ITEMS if settings.summaries else "(UID)"
        start = checkpoint.last_uid + 1
        # One round trip in the common case (a few new messages); a catch-up of unknown size
        # first lists the UIDs so each FETCH of summaries stays within fetch_batch messages.
        synced, self._synced_exists = self._synced_exists, self._known_exists
        small = synced is not None and self._known_exists - synced <= settings.fetch_batch
        fetches = await conn.uid_fetch(f"{start}:*", full_items if small else "(UID)")
        by_uid: dict[int, Fetch] = {
            f.uid: f for f in fetches if f.uid is not None and f.uid > checkpoint.last_uid
        }
        uids = sorted(by_uid)
        for i in range(0, len(uids), settings.fetch_batch):
            batch = uids[i : i + settings.fetch_batch]
            if settings.summaries and not small:
                fetched = await conn.uid_fetch(",".join(map(str, batch)), full_items)
                by_uid.update({f.uid: f for f in fetched if f.uid is not None})
            await self._record_new(checkpoint, batch, by_uid)

    def _small_wake(self) -> bool:
        """Whether the mail a push announced fits one FETCH (of at most ``fetch_batch``)."""
        synced = self._synced_exists
        return (
            self._checkpoint is not None
            and synced is not None
            and self._known_exists - synced <= self._settings.fetch_batch
        )

    async def _announce_in_idle(self, conn: ImapConnection) -> None:
        """The wake path: DONE, UID FETCH and IDLE in one write, then record and publish.

        Only for a wake that fits one FETCH (:meth:`_small_wake`); the connection is idling
        again (or about to be: its ``+`` is awaited by the next IDLE call) when this returns.
        """
        checkpoint = self._checkpoint
        assert checkpoint is not None
        self._synced_exists = self._known_exists
        items = _SUMMARY_ITEMS if self._settings.summaries else "(UID)"
        fetches = await conn.idle_fetch(f"{checkpoint.last_uid + 1}:*", items)
        by_uid = {f.uid: f for f in fetches if f.uid is not None and f.uid > checkpoint.last_uid}
        if by_uid:
            await self._record_new(checkpoint, sorted(by_uid), by_uid)

    async def _record_new(
        self, checkpoint: Checkpoint, batch: Sequence[int], by_uid: dict[int, Fetch]
    ) -> None:
        summaries = self._settings.summaries
        events = [
            NewMessage(
                self.account_id,
                self.mailbox,
                checkpoint.uidvalidity,
                uid,
                _summary(by_uid[uid]) if summaries else None,
                detected_at=self._pushed_at,
            )
            for uid in batch
        ]
        await self._record(Checkpoint(checkpoint.uidvalidity, batch[-1]), events)

    # ------------------------------------------------------------------ IDLE

    def _saw_new_mail(self, responses: Sequence[UntaggedResponse]) -> bool:
        new_mail = False
        for response in responses:
            if isinstance(response, Exists):
                # Any EXISTS may hide new mail (an expunge and an arrival can cancel out).
                new_mail = True
                self._known_exists = response.count
            elif isinstance(response, Expunge):
                self._known_exists = max(0, self._known_exists - 1)
        # Taken when the push is handled, a few microseconds after it was read: close enough
        # for the dashboard's push-to-sink latency, and no change to the IMAP layer needed.
        # Kept until the next push: the announcement it starts may take several steps.
        if new_mail:
            self._pushed_at = self._wall_clock()
        return new_mail

    async def _idle_loop(self, conn: ImapConnection) -> None:
        idle_supported = "IDLE" in conn.capabilities
        while True:
            if self._saw_new_mail(conn.take_unsolicited()):
                self._machine.move(S.SYNCING)
                await self._announce_new(conn)
                continue
            self._machine.move(S.IDLE)
            self._backoff.reset()
            self._auth_backoff.reset()
            self.last_error = None
            if idle_supported:
                new_mail = await self._idle_once(conn)
            else:
                new_mail = self._saw_new_mail(await self._poll_once(conn))
            if new_mail:
                self._machine.move(S.SYNCING)
                await self._announce_new(conn)
            else:
                await self._check_identity(conn)

    async def _check_identity(self, conn: ImapConnection) -> None:
        """At each refresh, make sure the selected mailbox is still the one we checkpointed.

        A mailbox deleted and recreated faster than the server notices (Dovecot checks about
        every 0.5 s) leaves the session on the old, dead mailbox without a word; STATUS reads
        the current one.
        """
        checkpoint = self._checkpoint
        assert checkpoint is not None
        try:
            current = await conn.status(self.mailbox, ("UIDVALIDITY",))
        except MailboxNotFound as exc:
            raise ConnectionLost("the watched mailbox vanished; reselecting") from exc
        if current.get("UIDVALIDITY", checkpoint.uidvalidity) != checkpoint.uidvalidity:
            raise ConnectionLost("UIDVALIDITY changed under the session; reselecting")

    async def _idle_once(self, conn: ImapConnection) -> bool:
        """IDLE until the refresh deadline or a wake too large for one FETCH.

        A push of new mail that fits one FETCH is announced without leaving the loop
        (:meth:`_announce_in_idle`: one write, one round trip). A connection quiet for
        ``probe_quiet_s`` is probed on the way (see :meth:`_probe`).

        Returns:
            Whether new mail waits to be announced (IDLE is then done).

        Raises:
            ConnectionLost: the connection broke, a probe went unanswered, or the server
                warned about the selected mailbox.
        """
        await conn.idle_start()
        now = self._clock()
        deadline = now + self._idle_refresh_s
        quiet_since = now  # the server's "+" just arrived
        new_mail = warned = False
        while True:
            now = self._clock()
            if now >= deadline:
                self._counters["idle_refreshes"] += 1
                break
            probe_at = probe_due(quiet_since, self._settings.probe_quiet_s)
            if now >= probe_at:
                pushed = await self._probe(conn)
                quiet_since = self._clock()
            else:
                pushed = await conn.idle_wait(min(deadline, probe_at) - now)
                if pushed:
                    quiet_since = self._clock()
            if any(_is_warning(r) for r in pushed):
                warned = True
                break
            if self._saw_new_mail(pushed):
                if not self._small_wake():
                    new_mail = True
                    break
                self._machine.move(S.SYNCING)
                await self._announce_in_idle(conn)
                self._machine.move(S.IDLE)
                quiet_since = self._clock()
        # The DONE round trip doubles as the liveness probe (RFC 2177: the server must answer).
        ended = await self._done(conn)
        if warned or any(_is_warning(r) for r in ended):
            # Dovecot's session on a mailbox deleted and recreated under it only says
            # "* NO Internal error" and keeps serving the stale view: start afresh.
            raise ConnectionLost("the server reported an error on the selected mailbox")
        return self._saw_new_mail(ended) or new_mail

    async def _probe(self, conn: ImapConnection) -> list[UntaggedResponse]:
        """Probe a quiet IDLE: DONE and a new IDLE in one write, answered within the grace.

        One write and one read: a peer that went silent with the socket still open is noticed
        within ``probe_quiet_s + liveness_grace_s`` rather than at the next refresh. Nothing
        pushed meanwhile is lost: whatever arrived until the new IDLE's ``+`` (before or after
        the old IDLE's completion) is returned, and the caller leaves IDLE and announces when
        it holds news. Announcing always starts from the durable checkpoint, so a probe can
        neither skip nor repeat a message.

        Raises:
            ConnectionLost: no answer within ``liveness_grace_s`` (counted as a dead
                connection).
        """
        self._counters["probes"] += 1
        try:
            return await conn.idle_renew(timeout_s=self._settings.liveness_grace_s)
        except ImapTimeout as exc:
            self._counters["dead_connections"] += 1
            raise ConnectionLost(str(exc)) from exc

    async def _done(self, conn: ImapConnection) -> list[UntaggedResponse]:
        """Leave IDLE within ``liveness_grace_s``; return what the server pushed until then.

        Raises:
            ConnectionLost: no completion in time (counted as a dead connection).
        """
        grace_s = self._settings.liveness_grace_s
        try:
            async with asyncio.timeout(grace_s):
                return await conn.idle_done()
        except TimeoutError as exc:
            self._counters["dead_connections"] += 1
            raise ConnectionLost(f"no answer to DONE within {grace_s} s") from exc

    async def _poll_once(self, conn: ImapConnection) -> list[UntaggedResponse]:
        """Without IDLE: wait a polling interval, then NOOP (which reports new mail).

        Raises:
            ConnectionLost: the NOOP went unanswered for ``liveness_grace_s``.
        """
        await self._sleep(min(self._idle_refresh_s, self._settings.probe_quiet_s))
        grace_s = self._settings.liveness_grace_s
        try:
            async with asyncio.timeout(grace_s):
                return await conn.noop()
        except TimeoutError as exc:
            self._counters["dead_connections"] += 1
            raise ConnectionLost(f"no answer to NOOP within {grace_s} s") from exc


