"""Run the whole demo in one process: IMAP server, Switchboard server, a listener worker, mail.

The steps, each printed with a timestamp as it happens:

1. start the embedded pymap IMAP server with the demo account (:mod:`.imapserver`);
2. start the Switchboard server on 127.0.0.1 (port 8080 if free, else any free port) with its
   state in a temporary directory, and print the dashboard URL;
3. connect a worker to ``/workers`` with the asyncio client, ``connect`` the demo account
   (plain IMAP: loopback only) and ``watchMailboxes`` INBOX, which returns once the baseline is
   taken, so every message delivered afterwards is announced;
4. run the listener worker (:func:`switchboard.workers.listener.listen`), and deliver a sample
   message at once, then every ``interval_s`` seconds (and on Enter when interactive).

``duration_s`` ends the run after that long; its exit status is 0 only if at least one
delivered message reached the worker. A signal (Ctrl-C, SIGTERM) cancels the run: everything
is closed in reverse order of starting (worker socket, server, IMAP server, temporary
directory), without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, TextIO

from switchboard.client.aio import AsyncClient
from switchboard.demo.imapserver import EmbeddedImapServer
from switchboard.errors import SwitchboardError
from switchboard.runloop import run_until_signalled
from switchboard.workers.listener import format_message, listen
from switchboard.workers.mail import NewMail

__all__ = [
    "DEFAULT_INTERVAL_S",
    "DEFAULT_PORT",
    "DemoError",
    "DemoOptions",
    "run_demo",
    "sample_subject",
    "verdict",
]

DEFAULT_PORT: Final = 8080
DEFAULT_INTERVAL_S: Final = 5.0
EXIT_INTERRUPTED: Final = 130  # the shell's status for a run ended by SIGINT
# Bounds each command the demo's worker sends (connect includes a first IMAP login).
_CALL_TIMEOUT_S: Final = 30.0
# Upper bound on one line typed at the interactive prompt.
_MAX_STDIN_LINE_CHARS: Final = 4096
_MAILBOX: Final = "INBOX"


class DemoError(SwitchboardError):
    """The demo could not start (port taken, IMAP login refused, …); the message says which."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How ``switchboard demo`` runs.

    Attributes:
        duration_s: stop after this many seconds and report success or failure; ``None`` runs
            until interrupted.
        port: the Switchboard server's port; ``None`` tries 8080 and falls back to any free
            port, 0 always takes any free port.
        interval_s: seconds between sample messages.
        interactive: deliver a message on Enter; ``None`` means "when stdin is a terminal and
            no duration is set".
    """

    duration_s: float | None = None
    port: int | None = None
    interval_s: float = DEFAULT_INTERVAL_S
    interactive: bool | None = None

    def __post_init__(self) -> None:
        if self.duration_s is not None and self.duration_s <= 0:
            raise ValueError("duration_s must be positive")
        if self.interval_s <= 0:
            raise ValueError("interval_s must be positive")
        if self.port is not None and not 0 <= self.port <= 65535:
            raise ValueError("port must be 0..65535")


def sample_subject(number: int) -> str:
    """The subject of the ``number``-th sample message (1-based); unique within a run."""
    return f"Switchboard demo message #{number}"


def verdict(delivered: int, received: int, duration_s: float) -> tuple[int, str]:
    """The exit status and one-line summary of a ``--duration`` run.

    Success means at least one delivered message travelled IMAP -> server -> worker.
    """
    if received > 0:
        return 0, (
            f"OK: {received} of {delivered} message(s) travelled IMAP -> server -> worker "
            f"in {duration_s:g} s"
        )
    if delivered == 0:
        return 1, f"FAILED: no message could be delivered to the IMAP server in {duration_s:g} s"
    return 1, (
        f"FAILED: none of the {delivered} delivered message(s) reached the worker "
        f"in {duration_s:g} s"
    )


def _reason(exc: OSError) -> str:
    """``Address already in use`` rather than asyncio's longer wrapped message."""
    return os.strerror(exc.errno) if exc.errno else str(exc)


def _stamp(now: datetime) -> str:
    return now.strftime("%H:%M:%S.") + f"{now.microsecond // 1000:03d}"


class _Demo:
    """One run's state: what was delivered when, what the worker received, and the output."""

    def __init__(self, options: DemoOptions, out: TextIO) -> None:
        self.options = options
        self.out = out
        self.sent: set[str] = set()  # subjects handed to the IMAP server (APPEND started)
        self.delivered: dict[str, float] = {}  # subject -> monotonic time the APPEND completed
        self.received: set[str] = set()
        self._deliver_now = asyncio.Event()

    def say(self, text: str) -> None:
        print(f"[{_stamp(datetime.now())}] {text}", file=self.out, flush=True)

    async def run(self) -> int:
        duration_s = self.options.duration_s
        # --duration bounds the whole run, start-up included: it is what a CI job waits for.
        deadline = None if duration_s is None else time.monotonic() + duration_s
        async with AsyncExitStack() as stack:
            try:
                async with asyncio.timeout(duration_s):
                    data_dir = Path(
                        stack.enter_context(tempfile.TemporaryDirectory(prefix="sb-demo-"))
                    )
                    imap = await self._start_imap(stack)
                    port = await self._start_server(stack, data_dir)
                    client = await self._connect_worker(stack, port, imap)
            except TimeoutError:
                raise DemoError(f"the demo was not ready within {duration_s:g} s") from None
            return await self._exchange_mail(client, imap, deadline)
        raise AssertionError("unreachable")  # pragma: no cover - for mypy's flow analysis

    async def _start_imap(self, stack: AsyncExitStack) -> EmbeddedImapServer:
        self.say("starting the embedded IMAP server (pymap, in-memory)…")
        imap = EmbeddedImapServer()
        try:
            await imap.start()
        except OSError as exc:
            raise DemoError(f"cannot start the embedded IMAP server: {_reason(exc)}") from None
        stack.push_async_callback(imap.stop)
        self.say(
            f"IMAP server listening on {imap.host}:{imap.port}, account "
            f"{imap.username} / {imap.password} (plain IMAP, loopback only)"
        )
        return imap

    async def _start_server(self, stack: AsyncExitStack, data_dir: Path) -> int:
        from switchboard.server.app import ListenError, SwitchboardServer
        from switchboard.server.config import ServerSettings

        self.say("starting the Switchboard server…")
        wanted = self.options.port
        for port in (DEFAULT_PORT, 0) if wanted is None else (wanted,):
            # WARNING: the demo prints its own steps; the server's INFO lines would drown them.
            server = SwitchboardServer(
                ServerSettings(host="127.0.0.1", port=port, data_dir=data_dir, log_level="WARNING")
            )
            try:
                await server.start()
            except ListenError as exc:
                # Nothing was opened: the server binds its port before anything else.
                if wanted is None and exc.errno == errno.EADDRINUSE:
                    self.say(f"port {port} is taken; using any free port instead")
                    continue
                raise DemoError(str(exc)) from None
            stack.push_async_callback(server.stop)
            bound = server.port
            self.say(f"Switchboard server listening on ws://127.0.0.1:{bound}/workers")
            self.say(f"dashboard: http://127.0.0.1:{bound}/")
            return bound
        raise DemoError("no port to listen on")  # pragma: no cover - port 0 always binds

    async def _connect_worker(
        self, stack: AsyncExitStack, port: int, imap: EmbeddedImapServer
    ) -> AsyncClient:
        url = f"ws://127.0.0.1:{port}/workers"
        client = AsyncClient(url, timeout_s=_CALL_TIMEOUT_S)
        try:
            await stack.enter_async_context(client)
        except OSError as exc:
            raise DemoError(f"the worker cannot reach {url}: {_reason(exc)}") from None
        self.say(f"worker connected to {url}")
        await client.call(
            "connect",
            {
                "host": imap.host,
                "port": imap.port,
                "auth": {"type": "plain", "username": imap.username, "password": imap.password},
                # Plain IMAP is allowed to loopback; no certificate to make and trust.
                "ssl": False,
            },
        )
        self.say(f"account {imap.username} connected through /workers (IMAP LOGIN succeeded)")
        await client.call("watchMailboxes", {"account": imap.username, "list": [_MAILBOX]})
        self.say(f"watching {_MAILBOX} of {imap.username}: the server holds an IMAP IDLE on it")
        return client

    async def _exchange_mail(
        self, client: AsyncClient, imap: EmbeddedImapServer, deadline: float | None
    ) -> int:
        options = self.options
        interactive = options.interactive
        if interactive is None:
            interactive = options.duration_s is None and bool(sys.stdin and sys.stdin.isatty())
        listener = asyncio.create_task(listen(client, self._on_message), name="demo-listener")
        sender = asyncio.create_task(self._send_mail(imap), name="demo-sender")
        self.say("listener worker started; it prints each new message's subject, from and to")
        hint = "Ctrl-C to stop"
        if interactive:
            hint = "press Enter to send a message now, " + hint
        self.say(f"sending a sample message every {options.interval_s:g} s ({hint})")
        with self._stdin_reader(interactive):
            try:
                timeout_s = None if deadline is None else max(0.0, deadline - time.monotonic())
                done, _ = await asyncio.wait({listener, sender}, timeout=timeout_s)
            finally:
                for task in (listener, sender):
                    task.cancel()
                await asyncio.gather(listener, sender, return_exceptions=True)
        for finished in done:
            # Either task ending on its own means something broke: report it in one line.
            exc = finished.exception()
            if exc is not None:
                raise DemoError(f"{finished.get_name()} stopped: {exc}") from None
            raise DemoError("the worker's connection to the server ended")
        duration_s = options.duration_s if options.duration_s is not None else 0.0
        status, summary = verdict(len(self.sent), len(self.received), duration_s)
        self.say(summary)
        if status != 0:
            print(f"switchboard demo: {summary}", file=sys.stderr, flush=True)
        return status

    async def _send_mail(self, imap: EmbeddedImapServer) -> None:
        number = 0
        while True:
            number += 1
            subject = sample_subject(number)
            body = f"Hello from the Switchboard demo. This is message {number}.\n"
            self.sent.add(subject)
            uid = await imap.deliver(subject, body)
            # The clock starts once the message is in the mailbox, as a mail server's delivery
            # would leave it: what follows is Switchboard's part (IDLE push, fetch, fan-out).
            self.delivered[subject] = time.monotonic()
            self.say(f"delivered {subject!r} to {_MAILBOX} (IMAP UID {uid})")
            self._deliver_now.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a Ctrl-C's
            # cancel that arrives as a typed line sets the event.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.options.interval_s):
                    await self._deliver_now.wait()

    def _on_message(self, message: NewMail) -> None:
        subject = message.subject or ""
        took = ""
        if subject in self.sent:
            self.received.add(subject)
            delivered_at = self.delivered.get(subject)
            took = (
                " (before the APPEND returned)"
                if delivered_at is None
                else f" ({(time.monotonic() - delivered_at) * 1000:.0f} ms after delivery)"
            )
        self.say(f"worker received new message: {format_message(message)}{took}")

    @contextlib.contextmanager
    def _stdin_reader(self, enabled: bool) -> Iterator[None]:
        """While active and ``enabled``, each line typed on stdin sends a message at once."""
        if not enabled:
            yield
            return
        loop = asyncio.get_running_loop()
        fd = sys.stdin.fileno()

        def on_readable() -> None:
            # A terminal in canonical mode makes stdin readable once a whole line is typed.
            if sys.stdin.readline(_MAX_STDIN_LINE_CHARS):
                self._deliver_now.set()
            else:  # end of input (Ctrl-D): keep the timer, stop listening to the keyboard
                loop.remove_reader(fd)

        loop.add_reader(fd, on_readable)
        try:
            yield
        finally:
            loop.remove_reader(fd)


async def run_demo(options: DemoOptions, *, out: TextIO | None = None) -> int:
    """Run the demo until ``options.duration_s`` passes or a signal arrives; return the status.

    Returns:
        0 on success (or after Ctrl-C / SIGTERM without a duration), 1 when a timed run saw no
        message reach the worker, 130 when a timed run was interrupted.

    Raises:
        DemoError: a step could not be done (port taken, login refused, worker disconnected).
        DemoImapError: pymap is not installed.
        CommandError: the server refused the demo account's ``connect`` or ``watchMailboxes``.
    """
    demo = _Demo(options, out or sys.stdout)
    status = await run_until_signalled(demo.run(), on_signal=lambda: demo.say("stopping…"))
    if status is None:  # a signal stopped it, and everything is closed
        demo.say("stopped")
        return 0 if options.duration_s is None else EXIT_INTERRUPTED
    return status
