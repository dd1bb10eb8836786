"""An asyncio IMAP client connection: the socket, TLS, timeouts and the tagged command pipeline.

How it works:

* :class:`ImapConnection` *is* the asyncio protocol: each read feeds the sans-I/O
  :class:`~switchboard.imap.parser.ResponseParser` and dispatches each parsed response. No
  ``StreamReader`` sits in between, so a connection holds one buffer (the parser's), which
  matters at 10,000 idle connections. It is a *buffered* protocol: the loop reads into one
  scratch buffer per thread (:func:`_read_buffer`) and the parser copies out what it keeps.
  With plain ``data_received`` uvloop's TLS allocates a fresh 256 KiB ``bytes`` for every
  read and shrinks it — with glibc's mmap threshold pinned below that size
  (:mod:`switchboard.runloop`), an mmap, an mremap and a munmap per read, a fifth of the
  server's time when 10,000 mailboxes get mail at once.
* Commands are tagged ``A1``, ``A2``…; several may be in flight (pipelining). A tagged
  completion goes to the command with that tag and nowhere else. An untagged response goes to
  the oldest in-flight command whose kind claims it (``* SEARCH`` to UID SEARCH, ``* LIST`` to
  LIST…); unclaimed ones (``EXISTS``, ``EXPUNGE``, flag ``FETCH``es) go to a bounded queue read
  by :meth:`ImapConnection.take_unsolicited` and :meth:`ImapConnection.idle_wait`.
* A command's chunks are written under a send lock: a chunk after the first goes out only when
  the server's ``+`` arrives (synchronising literals), or all at once with LITERAL+.
* Every await is bounded. A command that times out leaves the pipeline in an unknown state,
  so the connection is aborted and :class:`ImapTimeout` raised; the engine reconnects.
* Only :meth:`ImapConnection._set_state` changes ``state``; ``TRANSITIONS`` lists the legal
  moves and ``_require`` rejects a call made in the wrong state with :class:`InvalidState`.
* :meth:`ImapConnection.select_pipelined` writes SELECT/EXAMINE and returns at once: the
  commands for the mailbox go out behind it without waiting for its answer (RFC 3501 §5.5), so
  opening a mailbox costs no round trip of its own. The connection remembers what its last
  SELECT/EXAMINE opened (``selected``) and refuses a write on an EXAMINEd mailbox.

Why one module of ~1,150 lines (docs/architecture.md, "Conventions", asks a long module to say
why): more than half is the public commands' docstrings, and the commands and the pipeline share
private state (the pending-tag map, the send lock, the continuation waiter); the sans-I/O rules
already live in :mod:`switchboard.imap.state` and TLS in :mod:`switchboard.imap.tls`.

Mailbox names are passed and returned raw (modified UTF-7, as ``ListItem.name`` holds them);
use :mod:`switchboard.mail.utf7` to show them to people.

See Also:
    RFC 3501 (IMAP4rev1), RFC 2177 (IDLE), RFC 7888 (LITERAL+), RFC 4959 (SASL-IR),
    RFC 5161 (ENABLE), RFC 4616 (PLAIN), Google's XOAUTH2 protocol.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import cast

from switchboard.imap.commands import (
    DONE,
    Arg,
    EncodedCommand,
    astring,
    atom,
    encode_command,
    raw,
    sasl_plain,
    sasl_xoauth2,
    seq_set,
)
from switchboard.imap.errors import (
    CommandFailed,
    ConnectionLost,
    ImapError,
    ImapProtocolError,
    ImapTimeout,
    InsecureConnection,
    InvalidState,
)
from switchboard.imap.parser import ResponseParser
from switchboard.imap.responses import (
    Capability,
    Continuation,
    Enabled,
    Fetch,
    ListItem,
    MailboxStatus,
    Response,
    Search,
    Status,
    StatusResponse,
    TaggedResponse,
    UntaggedResponse,
)
from switchboard.imap.state import (
    ANY_OPEN,
    AUTHED,
    NOOP_CLAIMS,
    SELECT_CLAIMS,
    ConnectionState,
    SelectInfo,
    as_auth_failure,
    check_transition,
    sasl_error_detail,
    select_info,
)
from switchboard.imap.tls import TlsMode, default_ssl_context, start_tls

__all__ = ["ConnectionState", "ImapConnection", "SelectInfo", "TlsMode"]

_log = logging.getLogger("switchboard.imap")

# TCP keepalive: a peer that vanished without a FIN (host gone, NAT entry dropped) is noticed by
# the kernel after idle + interval * count = 30 + 10 * 3 = 60 s (docs/reliability.md: a dead peer
# is noticed within a minute), without any IMAP round trip. A peer whose process is alive but
# silent still answers keepalives: the engine's probe of a quiet IDLE (probe_quiet_s +
# liveness_grace_s) covers that case.
KEEPALIVE_IDLE_S = 30
KEEPALIVE_INTERVAL_S = 10
KEEPALIVE_COUNT = 3

# Commands that change the selected mailbox: refused on an EXAMINEd one (RFC 3501 §6.3.2).
_NEEDS_READ_WRITE = frozenset({"STORE", "UID STORE", "EXPUNGE", "UID EXPUNGE", "MOVE", "UID MOVE"})
# Commands after which no mailbox is selected (RFC 3501 §6.4.2, RFC 3691).
_DESELECTS = frozenset({"CLOSE", "UNSELECT"})


@dataclass(slots=True, eq=False)
class _Command:
    """One in-flight tagged command (mutable bookkeeping, never leaves this module)."""

    tag: str
    name: str
    claims: tuple[type, ...]
    done: asyncio.Future[TaggedResponse]
    untagged: list[UntaggedResponse] = field(default_factory=list)
    # Set while the command waits for a "+"; resolved with None if the command completes first.
    continuation: asyncio.Future[Continuation | None] | None = None


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost could resolve anywhere


def _set_keepalive(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        # Not every platform has the fine-grained knobs (macOS lacks TCP_KEEPIDLE).
        for name, value in (
            ("TCP_KEEPIDLE", KEEPALIVE_IDLE_S),
            ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL_S),
            ("TCP_KEEPCNT", KEEPALIVE_COUNT),
        ):
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)
    except OSError as exc:  # e.g. the socket is already closed; liveness still has NOOP
        _log.debug("cannot set TCP keepalive: %s", exc)


_READ_BUFFER_BYTES = 256 * 1024
_scratch = threading.local()


def _read_buffer() -> memoryview:
    """This thread's scratch buffer for reads (one per thread, shared by its connections).

    Safe to share: the loop calls ``get_buffer``, reads into it and calls ``buffer_updated``
    without running anything else in between (asyncio and uvloop, plain and TLS alike), and
    the parser copies what it keeps before returning.
    """
    view: memoryview | None = getattr(_scratch, "view", None)
    if view is None:
        view = _scratch.view = memoryview(bytearray(_READ_BUFFER_BYTES))
    return view


class ImapConnection(asyncio.BufferedProtocol):
    """One IMAP client connection; create it with :meth:`open`.

    Attributes:
        state: the :class:`ConnectionState`; only this class changes it.
        capabilities: the server's capabilities as last announced, upper-cased.
        last_received_at: ``time.monotonic()`` when the last bytes arrived (liveness checks).
        selected: the mailbox as its last successful SELECT/EXAMINE reported it, ``None`` when
            none is selected (its ``exists`` and ``uidnext`` are those of that moment).
        commands_sent: how many commands of each name went out (``"EXAMINE"``, ``"UID FETCH"``…),
            for tests and diagnostics.
    """

    def __init__(
        self,
        host: str,
        tls: TlsMode,
        *,
        command_timeout_s: float,
        max_line_bytes: int,
        max_literal_bytes: int,
        max_unsolicited_responses: int,
    ) -> None:
        self.state = ConnectionState.NOT_AUTHENTICATED
        self.capabilities: frozenset[str] = frozenset()
        self.last_received_at = time.monotonic()
        self.selected: SelectInfo | None = None
        self.commands_sent: collections.Counter[str] = collections.Counter()
        self._host = host
        self._tls = tls
        self._tls_active = False
        self._command_timeout_s = command_timeout_s
        self._max_line_bytes = max_line_bytes
        self._max_literal_bytes = max_literal_bytes
        self._parser = ResponseParser(
            max_line_bytes=max_line_bytes, max_literal_bytes=max_literal_bytes
        )
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._greeting: asyncio.Future[StatusResponse] = self._loop.create_future()
        self._tag_counter = 0
        self._pending: dict[str, _Command] = {}
        self._waiting_for_continuation: _Command | None = None
        self._send_lock = asyncio.Lock()
        # Bounded: EXISTS/EXPUNGE superseded by later ones is harmless to drop; see _queue.
        self._unsolicited: collections.deque[UntaggedResponse] = collections.deque(
            maxlen=max_unsolicited_responses
        )
        self._unsolicited_arrived = asyncio.Event()
        self._idle_command: _Command | None = None
        # An IDLE written behind a pipelined command (idle_fetch) whose "+" has not been
        # seen yet: the next IDLE call waits for it before anything else goes out.
        self._idle_unconfirmed: _Command | None = None
        self._state_before_idle = ConnectionState.SELECTED
        self._closed_error: ImapError | None = None
        # True between STARTTLS's OK and the handshake: no plain-text byte may arrive then.
        self._awaiting_tls = False

    # ------------------------------------------------------------------ opening

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        tls: TlsMode = TlsMode.IMPLICIT,
        ssl_context: ssl.SSLContext | None = None,
        allow_plain: bool = False,
        connect_timeout_s: float = 15.0,
        command_timeout_s: float = 30.0,
        max_line_bytes: int = 65536,
        max_literal_bytes: int = 64 << 20,
        max_unsolicited_responses: int = 10_000,
    ) -> ImapConnection:
        """Connect, set up TLS, read the greeting and (for STARTTLS) upgrade.

        Args:
            host: server name or address; also the name the certificate must match.
            port: TCP port (993 for implicit TLS, 143 for STARTTLS/plain).
            tls: implicit TLS (default), STARTTLS, or plain.
            ssl_context: client context; defaults to :func:`tls.default_ssl_context`.
            allow_plain: permit :attr:`TlsMode.PLAIN` to a host that is not loopback.
            connect_timeout_s: bound on TCP connect + TLS handshake + greeting (+ STARTTLS).
            command_timeout_s: bound on each later command.
            max_line_bytes: longest response line accepted.
            max_literal_bytes: largest literal accepted (e.g. a message body).
            max_unsolicited_responses: depth of the unsolicited-response queue.

        Returns:
            The open connection, NOT_AUTHENTICATED (or AUTHENTICATED after ``* PREAUTH``).

        Raises:
            InsecureConnection: plain to a non-loopback host without ``allow_plain`` (raised
                before any connection attempt), or STARTTLS not offered by the server.
            ImapTimeout: the whole opening took longer than ``connect_timeout_s``.
            ConnectionLost: refused, reset, TLS handshake or certificate failure (the
                ``ssl.SSLError`` is the ``__cause__``), or a ``* BYE`` greeting.
            ImapProtocolError: the greeting is not IMAP.
        """
        if tls is TlsMode.PLAIN and not allow_plain and not _is_loopback(host):
            raise InsecureConnection(
                f"refusing plain-text IMAP to {host}: use TLS or allow_plain=True"
            )
        context = None
        if tls is not TlsMode.PLAIN:
            context = ssl_context if ssl_context is not None else default_ssl_context()
        conn = cls(
            host,
            tls,
            command_timeout_s=command_timeout_s,
            max_line_bytes=max_line_bytes,
            max_literal_bytes=max_literal_bytes,
            max_unsolicited_responses=max_unsolicited_responses,
        )
        try:
            async with asyncio.timeout(connect_timeout_s):
                try:
                    await conn._loop.create_connection(lambda: conn, host, port)
                except OSError as exc:
                    raise ConnectionLost(f"cannot connect to {host}:{port}: {exc}") from exc
                if tls is TlsMode.IMPLICIT:
                    assert context is not None
                    await conn._upgrade(context, connect_timeout_s)
                await asyncio.shield(conn._greeting)
                if tls is TlsMode.STARTTLS:
                    assert context is not None
                    await conn._starttls(context, connect_timeout_s)
                if not conn.capabilities:
                    await conn.capability()
        except TimeoutError as exc:
            conn._abort(ImapTimeout(f"opening {host}:{port} took over {connect_timeout_s} s"))
            if isinstance(exc, ImapTimeout):
                raise
            raise ImapTimeout(f"opening {host}:{port} took over {connect_timeout_s} s") from None
        except BaseException as exc:
            conn._abort(exc if isinstance(exc, ImapError) else ConnectionLost(str(exc)))
            raise
        return conn

    async def _upgrade(self, context: ssl.SSLContext, timeout_s: float) -> None:
        if self._transport is None:  # lost before the handshake began (connection_lost)
            raise ConnectionLost(f"connection to {self._host} closed before TLS")
        try:
            self._transport = await start_tls(
                self._transport, self, context, self._host, handshake_timeout_s=timeout_s
            )
        except (ssl.SSLError, ssl.CertificateError, ConnectionError) as exc:
            raise ConnectionLost(f"TLS with {self._host} failed: {exc}") from exc
        self._tls_active = True

    async def _starttls(self, context: ssl.SSLContext, timeout_s: float) -> None:
        if "STARTTLS" not in self.capabilities:
            await self.capability()
        if "STARTTLS" not in self.capabilities:
            raise InsecureConnection(f"{self._host} does not offer STARTTLS")
        await self._simple("STARTTLS")
        # Plain text after STARTTLS's OK could be an attacker's injection (CVE-2011-0411
        # class): _awaiting_tls made any such byte fatal; a fresh parser drops partial input.
        self._parser = ResponseParser(
            max_line_bytes=self._max_line_bytes, max_literal_bytes=self._max_literal_bytes
        )
        self._awaiting_tls = False
        await self._upgrade(context, timeout_s)
        # RFC 3501 §6.2.1: capabilities learned before TLS must be forgotten.
        self.capabilities = frozenset()
        await self.capability()

    # ------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Remember the TCP transport and turn keepalive on (asyncio callback)."""
        # uvloop's transports quack like asyncio.Transport without inheriting from it.
        self._transport = cast(asyncio.Transport, transport)
        _set_keepalive(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        """Where the loop reads the next bytes to (asyncio callback): the shared scratch."""
        return _read_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        """The loop read ``nbytes`` into the buffer :meth:`get_buffer` gave (asyncio callback)."""
        # The same thread's buffer get_buffer gave: the loop calls both from its own thread.
        view = _read_buffer()
        self.data_received(view[:nbytes] if nbytes < len(view) else view)

    def data_received(self, data: bytes | memoryview) -> None:
        """Parse ``data`` and dispatch each complete response.

        The parser copies ``data`` before it returns; only then may the loop reuse the buffer.
        """
        self.last_received_at = time.monotonic()
        try:
            if self._awaiting_tls:
                raise ImapProtocolError("plain text after STARTTLS's OK, before the handshake")
            self._parser.receive_data(data)
            while (response := self._parser.next_response()) is not None:
                self._dispatch(response)
        except ImapError as exc:
            _log.warning("%s: dropping the connection: %s", self._host, exc)
            self._abort(exc)

    def eof_received(self) -> bool | None:
        """Let asyncio close the transport; :meth:`connection_lost` fails what is pending."""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail everything still waiting (asyncio callback)."""
        reason = f": {exc}" if exc is not None else ""
        self._fail(ConnectionLost(f"connection to {self._host} closed{reason}"))
        # The loop's TLS protocol holds our bound methods: while we hold its transport, each
        # closed connection is a reference cycle that only a full walk of the garbage
        # collector frees (switchboard.gcpolicy), not the moment the last user lets go.
        self._transport = None

    # ---------------------------------------------------------------- dispatch

    def _dispatch(self, response: Response) -> None:
        if self._awaiting_tls:
            raise ImapProtocolError("plain text after STARTTLS's OK, before the handshake")
        if not self._greeting.done():
            self._on_greeting(response)
        elif isinstance(response, TaggedResponse):
            self._on_tagged(response)
        elif isinstance(response, Continuation):
            waiting = self._waiting_for_continuation
            if waiting is None or waiting.continuation is None or waiting.continuation.done():
                raise ImapProtocolError("continuation request while no command waits for one")
            waiting.continuation.set_result(response)
        else:
            self._on_untagged(response)

    def _on_greeting(self, response: Response) -> None:
        if not isinstance(response, StatusResponse) or response.status in (
            Status.NO,
            Status.BAD,
        ):
            raise ImapProtocolError(f"bad greeting from {self._host}: {response!r}")
        if response.status is Status.BYE:
            raise ConnectionLost(f"{self._host} refused the connection: {response.text}")
        self._learn_capabilities(response)
        if response.status is Status.PREAUTH:
            self._set_state(ConnectionState.AUTHENTICATED)
        self._greeting.set_result(response)

    def _on_tagged(self, response: TaggedResponse) -> None:
        command = self._pending.pop(response.tag, None)
        if command is None:
            raise ImapProtocolError(f"completion for unknown tag {response.tag!r}")
        self._learn_capabilities(response)
        if command.continuation is not None and not command.continuation.done():
            command.continuation.set_result(None)
        if command is self._idle_command and self.state is ConnectionState.IDLING:
            # The server ended IDLE on its own; wake idle_wait so the caller notices.
            self._idle_command = None
            self._set_state(self._state_before_idle)
            self._unsolicited_arrived.set()
        if not command.done.done():
            command.done.set_result(response)
        if command.name == "STARTTLS" and response.status is Status.OK:
            self._awaiting_tls = True

    def _on_untagged(self, response: UntaggedResponse) -> None:
        if isinstance(response, Capability):
            self.capabilities = response.capabilities
        elif isinstance(response, StatusResponse):
            self._learn_capabilities(response)
            if response.status is Status.BYE and not any(
                c.name == "LOGOUT" for c in self._pending.values()
            ):
                raise ConnectionLost(f"{self._host} said BYE: {response.text}")
        for command in self._pending.values():
            if isinstance(response, command.claims) and (
                not isinstance(response, Fetch)
                or command.name != "UID FETCH"
                or response.uid is not None
            ):
                command.untagged.append(response)
                return
        self._queue(response)

    def _queue(self, response: UntaggedResponse) -> None:
        if len(self._unsolicited) == self._unsolicited.maxlen:
            # Dropping the oldest is safe for what lands here: a later EXISTS supersedes an
            # earlier one, and the engine's UID catch-up does not depend on this queue.
            _log.warning("%s: unsolicited queue full, dropping the oldest", self._host)
        self._unsolicited.append(response)
        self._unsolicited_arrived.set()

    def _learn_capabilities(self, response: StatusResponse | TaggedResponse) -> None:
        code = response.code
        if code is not None and code.name == "CAPABILITY" and isinstance(code.value, tuple):
            self.capabilities = frozenset(code.value)

    # ------------------------------------------------------------ state, failure

    def _set_state(self, new: ConnectionState) -> None:
        check_transition(self.state, new)
        self.state = new

    def _require(self, operation: str, *states: ConnectionState) -> None:
        if self._closed_error is not None:
            raise self._closed_error
        if self.state not in states:
            wanted = " or ".join(s.name for s in states)
            raise InvalidState(f"{operation} needs state {wanted}; connection is {self.state.name}")

    def _fail(self, error: ImapError) -> None:
        """Record why the connection is unusable and fail everything that waits on it."""
        if self._closed_error is None:
            self._closed_error = error
        self.state = ConnectionState.CLOSED  # from any state: the socket is gone
        self.selected = None
        futures: builtins.list[asyncio.Future[object]] = [self._greeting]  # type: ignore[list-item]
        for command in self._pending.values():
            futures.append(command.done)  # type: ignore[arg-type]
            if command.continuation is not None:
                futures.append(command.continuation)  # type: ignore[arg-type]
        self._pending.clear()
        for future in futures:
            if not future.done():
                future.set_exception(self._closed_error)
                # Mark it retrieved: whoever awaits still gets it; nobody else logs it.
                future.exception()
        self._unsolicited_arrived.set()

    def _abort(self, error: ImapError) -> None:
        self._fail(error)
        if self._transport is not None:
            self._transport.abort()

    # ---------------------------------------------------------------- commands

    def _next_tag(self) -> str:
        self._tag_counter += 1
        return f"A{self._tag_counter}"

    def _expire(self, text: str) -> None:
        """A deadline passed with no answer: the pipeline's state is unknown, so close."""
        self._abort(ImapTimeout(text))

    def _write(self, data: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            raise self._closed_error or ConnectionLost(f"connection to {self._host} closed")
        self._transport.write(data)

    async def _continuation(self, command: _Command) -> Continuation | None:
        """Wait for a ``+``; ``None`` if the command completed instead (NO/BAD)."""
        future: asyncio.Future[Continuation | None] = self._loop.create_future()
        command.continuation = future
        self._waiting_for_continuation = command
        try:
            return await future
        finally:
            command.continuation = None
            self._waiting_for_continuation = None

    def _start(self, name: str, claims: tuple[type, ...]) -> _Command:
        command = _Command(self._next_tag(), name, claims, self._loop.create_future())
        self._pending[command.tag] = command
        self.commands_sent[name] += 1
        return command

    async def _run(
        self,
        name: str,
        *args: Arg,
        claims: tuple[type, ...] = (),
    ) -> tuple[TaggedResponse, builtins.list[UntaggedResponse]]:
        """Send one command, wait for its completion, raise on NO/BAD."""
        if self._closed_error is not None:
            raise self._closed_error
        command = self._start(name, claims)
        encoded: EncodedCommand = encode_command(
            command.tag,
            name,
            *args,
            literal_plus="LITERAL+" in self.capabilities,
            literal_minus="LITERAL-" in self.capabilities,
        )
        if _log.isEnabledFor(logging.DEBUG):
            # describe() masks LOGIN/AUTHENTICATE arguments and elides literals.
            _log.debug("%s > %s", self._host, encoded.describe())
        tagged = await self._bounded(command, self._send_chunks(command, encoded.chunks))
        if tagged.status is not Status.OK:
            raise CommandFailed.from_response(name, tagged)
        return tagged, command.untagged

    async def _send_chunks(self, command: _Command, chunks: Sequence[bytes]) -> None:
        # Held until the last chunk is out: another command's bytes must not land inside a
        # literal we are still sending.
        async with self._send_lock:
            self._write(chunks[0])
            try:
                for chunk in chunks[1:]:
                    if await self._continuation(command) is None:
                        return  # the server refused the literal with a tagged NO/BAD
                    self._write(chunk)
            except asyncio.CancelledError:
                # The server now waits mid-literal for bytes that will never come.
                self._abort(ConnectionLost(f"{command.name} cancelled while sending"))
                raise

    async def _bounded(self, command: _Command, sending: Awaitable[None] | None) -> TaggedResponse:
        # A timer that aborts the connection (failing every await on it with the ImapTimeout),
        # not asyncio.timeout: cheaper per command, which counts when thousands of accounts
        # are set up or woken at once.
        bound_s = self._command_timeout_s
        deadline = self._loop.call_later(
            bound_s, self._expire, f"{command.name} to {self._host} got no answer in {bound_s} s"
        )
        try:
            if sending is not None:
                await sending
            return await command.done
        finally:
            deadline.cancel()

    async def _simple(self, name: str, *args: Arg) -> TaggedResponse:
        tagged, _ = await self._run(name, *args)
        return tagged

    # ------------------------------------------------------------ authentication

    def _check_may_send_credentials(self, operation: str) -> None:
        self._require(operation, ConnectionState.NOT_AUTHENTICATED)
        if self._tls is not TlsMode.PLAIN and not self._tls_active:
            raise InsecureConnection(f"refusing to send credentials to {self._host} without TLS")

    async def _authenticated(self, tagged: TaggedResponse) -> None:
        self._set_state(ConnectionState.AUTHENTICATED)
        if not (tagged.code is not None and tagged.code.name == "CAPABILITY"):
            # Capabilities may change after authentication (RFC 3501 §6.2.2); ask once.
            await self.capability()

    async def login(self, username: str, password: str) -> None:
        """Log in with LOGIN (RFC 3501 §6.2.3); the password never reaches a log.

        Args:
            username: the login name.
            password: the password; any characters, sent as a literal when it must be.

        Raises:
            AuthenticationFailed: the server refused the credentials.
            InsecureConnection: STARTTLS was asked for but is not in effect.
            InvalidState: the connection is not in NOT_AUTHENTICATED.
            ImapTimeout: no answer within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._check_may_send_credentials("login")
        try:
            tagged, _ = await self._run("LOGIN", astring(username), astring(password))
        except CommandFailed as exc:
            raise as_auth_failure(exc) from None
        await self._authenticated(tagged)

    async def authenticate_plain(self, username: str, password: str) -> None:
        """Log in with AUTHENTICATE PLAIN (RFC 4616), in one round trip with SASL-IR.

        Args:
            username: the login name (authorisation identity left empty).
            password: the password.

        Raises:
            AuthenticationFailed: the server refused the credentials.
            InsecureConnection: STARTTLS was asked for but is not in effect.
            InvalidState: the connection is not in NOT_AUTHENTICATED.
            ImapTimeout: no answer within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._check_may_send_credentials("authenticate_plain")
        await self._authenticate("PLAIN", sasl_plain(username, password))

    async def authenticate_xoauth2(self, username: str, access_token: str) -> None:
        """Log in with AUTHENTICATE XOAUTH2 (an OAuth2 bearer token, Gmail/Outlook style).

        On a rejected token the server sends a ``+`` with a base64 JSON error; we answer with
        an empty line as the protocol requires, so the server completes with ``NO`` at once
        instead of both sides waiting for each other.

        Args:
            username: the account's login name (usually the e-mail address).
            access_token: the OAuth2 access token; it never reaches a log or an exception.

        Raises:
            AuthenticationFailed: the token was rejected; the message carries the server's
                decoded error ``status`` (e.g. ``401``), never the token.
            InsecureConnection: STARTTLS was asked for but is not in effect.
            InvalidState: the connection is not in NOT_AUTHENTICATED.
            ImapTimeout: no answer within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._check_may_send_credentials("authenticate_xoauth2")
        await self._authenticate("XOAUTH2", sasl_xoauth2(username, access_token))

    async def _authenticate(self, mechanism: str, initial_response: bytes) -> None:
        initial = initial_response.strip()
        command = self._start("AUTHENTICATE", (Capability,))
        _log.debug(
            "%s > %s AUTHENTICATE %s <credentials hidden>", self._host, command.tag, mechanism
        )
        challenges: builtins.list[str] = []
        tagged = await self._bounded(
            command, self._authenticate_exchange(command, mechanism, initial, challenges)
        )
        if tagged.status is not Status.OK:
            failure = as_auth_failure(CommandFailed.from_response("AUTHENTICATE", tagged))
            detail = sasl_error_detail(challenges)
            if detail:
                failure.args = (f"{failure.args[0]} ({detail})",)
            raise failure
        await self._authenticated(tagged)

    async def _authenticate_exchange(
        self, command: _Command, mechanism: str, initial: bytes, challenges: builtins.list[str]
    ) -> None:
        # The whole exchange holds the send lock: nothing may be pipelined into a SASL dialogue.
        async with self._send_lock:
            head = f"{command.tag} AUTHENTICATE {mechanism}".encode("ascii")
            if "SASL-IR" in self.capabilities:
                self._write(head + b" " + initial + b"\r\n")  # RFC 4959: one round trip
            else:
                self._write(head + b"\r\n")
                if await self._continuation(command) is None:
                    return
                self._write(initial + b"\r\n")
            while (challenge := await self._continuation(command)) is not None:
                challenges.append(challenge.text)
                # Answer an error challenge with an empty response (XOAUTH2); a second one
                # means the server wants more than we have: cancel (RFC 3501 §6.2.2).
                self._write(b"\r\n" if len(challenges) == 1 else b"*\r\n")

    # ---------------------------------------------------------- other commands

    async def capability(self) -> frozenset[str]:
        """Ask for and remember the server's capabilities (RFC 3501 §6.1.1).

        Returns:
            The capabilities, upper-cased.

        Raises:
            CommandFailed: the server refused.
            InvalidState: the connection is idling, logging out or closed.
            ImapTimeout: no answer within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._require("capability", *ANY_OPEN)
        _, untagged = await self._run("CAPABILITY", claims=(Capability,))
        for response in untagged:
            if isinstance(response, Capability):
                self.capabilities = response.capabilities
        return self.capabilities

    async def enable(self, *capabilities: str) -> frozenset[str]:
        """Enable extensions with ENABLE (RFC 5161), when the server offers ENABLE.

        Args:
            capabilities: the extensions to enable, e.g. ``"CONDSTORE"``.

        Returns:
            What the server says it enabled; empty when it does not offer ENABLE.

        Raises:
            CommandFailed: the server refused.
            InvalidState: not AUTHENTICATED or SELECTED.
            ImapTimeout: no answer within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._require("enable", *AUTHED)
        if "ENABLE" not in self.capabilities or not capabilities:
            return frozenset()
        _, untagged = await self._run("ENABLE", *(atom(c) for c in capabilities), claims=(Enabled,))
        enabled: set[str] = set()
        for response in untagged:
            if isinstance(response, Enabled):
                enabled |= response.capabilities
        return frozenset(enabled)

    async def select(self, mailbox: str, *, readonly: bool = False) -> SelectInfo:
        """Select (or, with ``readonly``, EXAMINE) a mailbox (RFC 3501 §6.3.1-2).

        Args:
            mailbox: the raw (modified UTF-7) mailbox name.
            readonly: use EXAMINE: nothing is marked seen.

        Returns:
            The mailbox's :class:`SelectInfo`.

        Raises:
            MailboxNotFound: there is no such mailbox (the state is then AUTHENTICATED).
            CommandFailed: the server refused otherwise.
            ImapProtocolError: the server sent no UIDVALIDITY.
            InvalidState: not AUTHENTICATED or SELECTED.
            ImapTimeout: no answer within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._require("select", *AUTHED)
        name = "EXAMINE" if readonly else "SELECT"
        # Whatever the answer, the old mailbox is no longer selected (RFC 3501 §6.3.1).
        self.selected = None
        try:
            tagged, untagged = await self._run(name, astring(mailbox), claims=SELECT_CLAIMS)
        except CommandFailed:
            if self.state is ConnectionState.SELECTED:
                self._set_state(ConnectionState.AUTHENTICATED)
            raise
        self._set_state(ConnectionState.SELECTED)
        info = select_info(mailbox, readonly, tagged, untagged)
        self.selected = info
        return info

    async def select_pipelined(
        self, mailbox: str, *, readonly: bool = False
    ) -> asyncio.Future[SelectInfo]:
        """Write SELECT (or EXAMINE) now and hand back its outcome to await later.

        The commands the caller starts next go out right behind it, without waiting for its
        answer (RFC 3501 §5.5: a server runs them after it, in the new mailbox), so opening a
        mailbox costs no round trip of its own. From here the state is SELECTED, so that
        they may be started; if the SELECT fails the server answers them BAD, and the caller
        must await the outcome before trusting their results (and check its UIDVALIDITY).
        A name that needs a synchronising literal (no LITERAL+) is selected before returning.

        Returns:
            A future of the mailbox's :class:`SelectInfo`; it fails as :meth:`select` does.

        Raises:
            InvalidState: not AUTHENTICATED or SELECTED.
            ConnectionLost: the connection is already closed.
        """
        self._require("select", *AUTHED)
        name = "EXAMINE" if readonly else "SELECT"
        literal_plus = "LITERAL+" in self.capabilities
        literal_minus = "LITERAL-" in self.capabilities
        # The tag does not change how the name is sent; only a name sent as one chunk (no "+"
        # to wait for) and a free send lock let the command go out before this returns.
        probe = encode_command("A0", name, astring(mailbox), literal_plus=literal_plus,
                               literal_minus=literal_minus)
        if len(probe.chunks) != 1 or self._send_lock.locked():
            done: asyncio.Future[SelectInfo] = self._loop.create_future()
            done.set_result(await self.select(mailbox, readonly=readonly))
            return done
        command = self._start(name, SELECT_CLAIMS)
        encoded = encode_command(command.tag, name, astring(mailbox), literal_plus=literal_plus,
                                 literal_minus=literal_minus)
        self.selected = None
        try:
            self._write(encoded.chunks[0])
        except ImapError:
            del self._pending[command.tag]
            raise
        if self.state is ConnectionState.AUTHENTICATED:
            self._set_state(ConnectionState.SELECTED)
        return asyncio.ensure_future(self._selected(command, mailbox, readonly))

    async def _selected(self, command: _Command, mailbox: str, readonly: bool) -> SelectInfo:
        tagged = await self._bounded(command, None)
        if tagged.status is not Status.OK:
            if self.state is ConnectionState.SELECTED:
                self._set_state(ConnectionState.AUTHENTICATED)
            raise CommandFailed.from_response(command.name, tagged)
        info = select_info(mailbox, readonly, tagged, command.untagged)
        self.selected = info
        return info

    async def list(self, reference: str = "", pattern: str = "*") -> builtins.list[ListItem]:
        """List mailboxes (RFC 3501 §6.3.8).

        Args:
            reference: the reference name; ``""`` for the root.
            pattern: the mailbox pattern, with ``*`` and ``%`` wildcards.

        Returns:
            One :class:`ListItem` per mailbox, names raw (modified UTF-7).

        Raises:
            CommandFailed: the server refused.
            InvalidState: not AUTHENTICATED or SELECTED.
            ImapTimeout: no answer within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._require("list", *AUTHED)
        _, untagged = await self._run(
            "LIST", astring(reference), astring(pattern), claims=(ListItem,)
        )
        return [r for r in untagged if isinstance(r, ListItem)]

    async def status(
        self,
        mailbox: str,
        items: Sequence[str] = ("MESSAGES", "UIDNEXT", "UIDVALIDITY"),
    ) -> dict[str, int]:
        """Ask for a mailbox's status without selecting it (RFC 3501 §6.3.10).

        Args:
            mailbox: the raw (modified UTF-7) mailbox name.
            items: status items such as ``MESSAGES``, ``UIDNEXT``, ``UIDVALIDITY``, ``UNSEEN``.

        Returns:
            Item name (upper-cased) to value.

        Raises:
            MailboxNotFound: there is no such mailbox.
            CommandFailed: the server refused otherwise.
            InvalidState: not AUTHENTICATED or SELECTED.
            ImapTimeout: no answer within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._require("status", *AUTHED)
        if not all(item.replace("-", "").isalnum() and item.isascii() for item in items):
            raise ValueError(f"not STATUS item names: {list(items)!r}")
        wanted = " ".join(items)
        _, untagged = await self._run(
            "STATUS", astring(mailbox), raw(f"({wanted})"), claims=(MailboxStatus,)
        )
        result: dict[str, int] = {}
        for response in untagged:
            if isinstance(response, MailboxStatus):
                result.update(response.items)
        return result

    async def uid_search(self, criteria: str = "ALL") -> builtins.list[int]:
        """Search the selected mailbox and return UIDs (RFC 3501 §6.4.4, §6.4.8).

        Args:
            criteria: the search criteria as IMAP text, e.g. ``"UID 42:*"`` (trusted input).

        Returns:
            The matching UIDs, ascending.

        Raises:
            CommandFailed: the server refused (e.g. BAD criteria).
            InvalidState: not SELECTED.
            ImapTimeout: no answer within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._require("uid_search", ConnectionState.SELECTED)
        _, untagged = await self._run("UID SEARCH", raw(criteria), claims=(Search,))
        uids: set[int] = set()
        for response in untagged:
            if isinstance(response, Search):
                uids.update(response.ids)
        return sorted(uids)

    async def uid_fetch(self, uid_set: str, items: str) -> builtins.list[Fetch]:
        """Fetch items of messages by UID (RFC 3501 §6.4.5, §6.4.8).

        Args:
            uid_set: a UID set such as ``"1:*"`` or ``"4,7:9"``.
            items: the fetch items as IMAP text, e.g. ``"(UID ENVELOPE BODY.PEEK[])"``.

        Returns:
            One :class:`Fetch` per message, in the order the server sent them.

        Raises:
            CommandFailed: the server refused.
            InvalidState: not SELECTED.
            ImapTimeout: no answer within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._require("uid_fetch", ConnectionState.SELECTED)
        _, untagged = await self._run("UID FETCH", seq_set(uid_set), raw(items), claims=(Fetch,))
        return [r for r in untagged if isinstance(r, Fetch)]

    async def run_selected(
        self, name: str, *args: Arg, claims: tuple[type, ...] = ()
    ) -> tuple[TaggedResponse, builtins.list[UntaggedResponse]]:
        """Run a command on the selected mailbox that has no method here (the writes of
        :mod:`switchboard.imap.writes`), with every command's bounded wait and NO/BAD
        translation.

        Args:
            name: the command, e.g. ``"UID STORE"``.
            args: its arguments, built with :mod:`switchboard.imap.commands`.
            claims: the untagged response types it takes for itself while it runs (others go
                to :meth:`take_unsolicited`).

        Returns:
            The tagged OK (its code, e.g. COPYUID) and the untagged responses it claimed.

        Raises:
            CommandFailed: the server refused.
            InvalidState: not SELECTED.
            ImapTimeout, ConnectionLost: as every command.
        """
        self._require(name, ConnectionState.SELECTED)
        selected = self.selected
        if name in _NEEDS_READ_WRITE and selected is not None and selected.readonly:
            # A caller that EXAMINEd must SELECT first; the server
            # would refuse with a NO that reads as its fault.
            raise InvalidState(f"{name} needs a read-write SELECT of {selected.mailbox!r}")
        if name in _DESELECTS:
            self.selected = None
            result = await self._run(name, *args, claims=claims)
            self._set_state(ConnectionState.AUTHENTICATED)
            return result
        return await self._run(name, *args, claims=claims)

    async def noop(self) -> builtins.list[UntaggedResponse]:
        """Send NOOP: a liveness probe that also collects pending updates (RFC 3501 §6.1.2).

        Returns:
            The untagged responses that arrived while the NOOP was in flight and that no
            earlier command claimed; older ones stay in :meth:`take_unsolicited`.

        Raises:
            CommandFailed: the server refused.
            InvalidState: the connection is idling, logging out or closed.
            ImapTimeout: no answer within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._require("noop", *ANY_OPEN)
        _, untagged = await self._run("NOOP", claims=NOOP_CLAIMS)
        return untagged

    # ------------------------------------------------------------------- IDLE

    async def idle_start(self) -> None:
        """Enter IDLE (RFC 2177) and wait for the server's ``+``.

        Raises:
            CommandFailed: the server refused IDLE.
            InvalidState: not AUTHENTICATED or SELECTED.
            ImapTimeout: no ``+`` within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        self._require("idle_start", *AUTHED)
        command = self._start("IDLE", ())
        self._state_before_idle = self.state
        # IDLING from the moment IDLE is written: no other command may follow it on the wire.
        self._set_state(ConnectionState.IDLING)
        self._idle_command = command
        _log.debug("%s > %s IDLE", self._host, command.tag)

        started = False
        try:
            async with asyncio.timeout(self._command_timeout_s):
                async with self._send_lock:
                    self._write(f"{command.tag} IDLE\r\n".encode("ascii"))
                    started = await self._continuation(command) is not None
        except TimeoutError:
            error = ImapTimeout(f"IDLE to {self._host} got no + in {self._command_timeout_s} s")
            self._abort(error)
            raise error from None
        if not started:
            tagged = await command.done  # already completed: the refusal
            if self.state is ConnectionState.IDLING:
                self._set_state(self._state_before_idle)
            self._idle_command = None
            raise CommandFailed.from_response("IDLE", tagged)

    async def idle_wait(self, timeout_s: float) -> builtins.list[UntaggedResponse]:
        """Wait while idling for the server to push something.

        Args:
            timeout_s: how long to wait; it bounds this call, not the connection.

        Returns:
            The unsolicited responses queued so far (EXISTS, EXPUNGE, FETCH, ``* OK Still
            here``…), or ``[]`` when ``timeout_s`` passed with nothing.

        Raises:
            ConnectionLost: the connection closed or the server said BYE.
            InvalidState: the connection is not idling.
        """
        if self._closed_error is not None:
            raise self._closed_error
        await self._confirm_idle(None)
        if not self._unsolicited:
            self._require("idle_wait", ConnectionState.IDLING)
            arrived = self._unsolicited_arrived
            arrived.clear()
            # A timer that sets the event, not asyncio.timeout: at 10,000 idle connections
            # this wait ends by timeout every probe interval, and a plain wake-up is cheaper
            # than a cancellation.
            timer = self._loop.call_later(timeout_s, arrived.set)
            try:
                await arrived.wait()
            finally:
                timer.cancel()
            if self._closed_error is not None:
                raise self._closed_error
        return self.take_unsolicited()

    async def idle_done(self) -> builtins.list[UntaggedResponse]:
        """Leave IDLE: send DONE and wait for IDLE's completion.

        Returns:
            Every unsolicited response queued so far, including those that arrived before
            the completion.

        Raises:
            CommandFailed: the server completed IDLE with NO or BAD.
            InvalidState: the connection is not idling.
            ImapTimeout: no completion within ``command_timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        await self._confirm_idle(None)
        command = self._idle_command
        if command is None and self._closed_error is None and self.state in AUTHED:
            return self.take_unsolicited()  # the server already ended IDLE on its own
        self._require("idle_done", ConnectionState.IDLING)
        assert command is not None
        _log.debug("%s > DONE", self._host)
        self._write(DONE)
        tagged = await self._bounded(command, None)
        self._idle_command = None
        if self.state is ConnectionState.IDLING:
            self._set_state(self._state_before_idle)
        if tagged.status is not Status.OK:
            raise CommandFailed.from_response("IDLE", tagged)
        return self.take_unsolicited()

    async def idle_renew(self, timeout_s: float | None = None) -> builtins.list[UntaggedResponse]:
        """End the current IDLE and start the next one in a single write: DONE, then IDLE.

        A cheap liveness probe: one write and (usually) one read, where :meth:`idle_done`
        then :meth:`idle_start` take two round trips. Pipelining a command right behind DONE is
        plain RFC 3501 §5.5 pipelining; RFC 2177 only forbids commands *before* DONE. When the
        server already ended IDLE on its own, this is just :meth:`idle_start`.

        Args:
            timeout_s: bound on both answers (default ``command_timeout_s``).

        Returns:
            Every unsolicited response queued until the new IDLE's ``+`` (EXISTS included,
            whether it came before or after the old IDLE's completion); the connection is
            idling again.

        Raises:
            CommandFailed: the server completed the old IDLE with NO/BAD, or refused the new one
                (the connection is then not idling).
            InvalidState: the connection is not idling.
            ImapTimeout: no answer within ``timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        bound_s = self._command_timeout_s if timeout_s is None else timeout_s
        await self._confirm_idle(bound_s)
        old = self._idle_command
        if old is None and self._closed_error is None and self.state in AUTHED:
            await self.idle_start()  # the server already ended IDLE on its own
            return self.take_unsolicited()
        self._require("idle_renew", ConnectionState.IDLING)
        assert old is not None
        new = self._start("IDLE", ())
        # From here the old IDLE's completion is an ordinary one (see _on_tagged), and an IDLE
        # completion the server sends unasked is the new one's.
        self._idle_command = new
        _log.debug("%s > DONE, %s IDLE", self._host, new.tag)
        # The liveness probe of every quiet IDLE (10,000 accounts: 220 a second): a timer that
        # aborts the connection, not asyncio.timeout, whose context and cancellation cost more
        # than the rest of the Python side of a probe. An abort fails both awaits below with
        # the ImapTimeout.
        deadline = self._loop.call_later(
            bound_s, self._expire, f"DONE + IDLE to {self._host} got no answer in {bound_s} s"
        )
        try:
            async with self._send_lock:
                self._write(DONE + b"%s IDLE\r\n" % new.tag.encode("ascii"))
                started = await self._continuation(new) is not None
            ended = await old.done
        finally:
            deadline.cancel()
        if ended.status is not Status.OK:
            self._abort(ConnectionLost(f"{self._host} refused to end IDLE"))
            raise CommandFailed.from_response("IDLE", ended)
        if not started:
            tagged = await new.done  # already completed: the refusal
            if self.state is ConnectionState.IDLING:
                self._set_state(self._state_before_idle)
            self._idle_command = None
            raise CommandFailed.from_response("IDLE", tagged)
        return self.take_unsolicited()

    async def idle_fetch(
        self, uid_set: str, items: str, timeout_s: float | None = None
    ) -> builtins.list[Fetch]:
        """Leave IDLE, fetch, and idle again, in one write: DONE, UID FETCH, IDLE.

        The wake path of a watcher: where :meth:`idle_done`, :meth:`uid_fetch` and
        :meth:`idle_start` take three round trips, this takes one, and the new IDLE is on the
        wire before the FETCH is answered, so the window in which a server may not report a
        change made between a command and the next IDLE (pymap does not) is only the server's
        own time between the two. Plain RFC 3501 §5.5 pipelining: RFC 2177 forbids commands
        *before* DONE, not behind it. The FETCH's result is returned as soon as it completes;
        the new IDLE's ``+`` is awaited by the next IDLE call (:meth:`idle_wait`,
        :meth:`idle_done`, :meth:`idle_renew`), so a refused IDLE surfaces there.

        Args:
            uid_set: a UID set such as ``"42:*"``.
            items: the fetch items as IMAP text, e.g. ``"(UID RFC822.SIZE)"``.
            timeout_s: bound on the old IDLE's completion and the FETCH (default
                ``command_timeout_s``).

        Returns:
            One :class:`Fetch` per message, in the order the server sent them. Whatever else
            the server pushed stays in :meth:`take_unsolicited`.

        Raises:
            CommandFailed: the server completed the old IDLE or the FETCH with NO/BAD.
            InvalidState: the connection is not idling.
            ImapTimeout: no answer within ``timeout_s`` (the connection is closed).
            ConnectionLost: the connection broke.
        """
        bound_s = self._command_timeout_s if timeout_s is None else timeout_s
        await self._confirm_idle(bound_s)
        old = self._idle_command
        if old is None and self._closed_error is None and self.state in AUTHED:
            # The server already ended IDLE on its own: no DONE to send.
            fetched = await self.uid_fetch(uid_set, items)
            await self.idle_start()
            return fetched
        self._require("idle_fetch", ConnectionState.IDLING)
        assert old is not None
        if self._state_before_idle is not ConnectionState.SELECTED:
            raise InvalidState("idle_fetch needs an IDLE entered from SELECTED")
        fetch = self._start("UID FETCH", (Fetch,))
        encoded = encode_command(fetch.tag, "UID FETCH", seq_set(uid_set), raw(items))
        new = self._start("IDLE", ())
        # From here the old IDLE's completion is an ordinary one (see _on_tagged), and an IDLE
        # completion the server sends unasked is the new one's.
        self._idle_command = new
        new.continuation = self._loop.create_future()
        self._waiting_for_continuation = new
        self._idle_unconfirmed = new
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s > DONE, %s, %s IDLE", self._host, encoded.describe(), new.tag)
        # A timer that aborts, not asyncio.timeout (see idle_renew): at 10,000 mailboxes woken
        # at once the timeout's context was a sixth of the server's time.
        deadline = self._loop.call_later(
            bound_s, self._expire, f"DONE + UID FETCH to {self._host} got no answer in {bound_s} s"
        )
        try:
            async with self._send_lock:
                self._write(DONE + encoded.chunks[0] + b"%s IDLE\r\n" % new.tag.encode())
            ended = await old.done
            completion = await fetch.done
        finally:
            deadline.cancel()
        if ended.status is not Status.OK:
            self._abort(ConnectionLost(f"{self._host} refused to end IDLE"))
            raise CommandFailed.from_response("IDLE", ended)
        if completion.status is not Status.OK:
            raise CommandFailed.from_response("UID FETCH", completion)
        return [r for r in fetch.untagged if isinstance(r, Fetch)]

    async def _confirm_idle(self, timeout_s: float | None) -> None:
        """Wait for the ``+`` of an IDLE :meth:`idle_fetch` wrote; raise if it was refused."""
        command = self._idle_unconfirmed
        if command is None:
            return
        future = command.continuation
        bound_s = self._command_timeout_s if timeout_s is None else timeout_s
        deadline = None
        if future is not None and not future.done():
            deadline = self._loop.call_later(
                bound_s, self._expire, f"IDLE to {self._host} got no + in {bound_s} s"
            )
        try:
            started = future is None or await future is not None
        finally:
            if deadline is not None:
                deadline.cancel()
            if self._idle_unconfirmed is command:
                self._idle_unconfirmed = None
                command.continuation = None
                if self._waiting_for_continuation is command:
                    self._waiting_for_continuation = None
        if not started:
            tagged = await command.done  # already completed: the refusal
            if self.state is ConnectionState.IDLING and self._idle_command is command:
                self._set_state(self._state_before_idle)
            if self._idle_command is command:
                self._idle_command = None
            raise CommandFailed.from_response("IDLE", tagged)

    def take_unsolicited(self) -> builtins.list[UntaggedResponse]:
        """Take (and forget) the queued responses no command claimed, oldest first.

        Returns:
            EXISTS, EXPUNGE, RECENT, flag FETCHes, ``* OK`` notices… possibly empty.
        """
        taken = list(self._unsolicited)
        self._unsolicited.clear()
        return taken

    # ---------------------------------------------------------------- closing

    async def logout(self, timeout_s: float = 5.0) -> None:
        """Log out politely, then close; best effort, never raises for a dead peer.

        Args:
            timeout_s: bound on the whole goodbye.
        """
        if self.state in (ConnectionState.CLOSED, ConnectionState.LOGOUT):
            await self.close()
            return
        try:
            async with asyncio.timeout(timeout_s):
                if self.state is ConnectionState.IDLING and self._idle_command is not None:
                    await self.idle_done()
                self._set_state(ConnectionState.LOGOUT)
                await self._run("LOGOUT", claims=(StatusResponse,))
        except (ImapError, OSError, TimeoutError) as exc:
            _log.debug("%s: logout was not clean: %s", self._host, exc)
        await self.close()

    async def close(self) -> None:
        """Abort the transport now; pending commands fail with :class:`ConnectionLost`."""
        self._abort(ConnectionLost(f"connection to {self._host} closed by us"))

    async def __aenter__(self) -> ImapConnection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.logout()
