"""Run an embedded pymap IMAP server with one demo account, and deliver sample mail into it.

The demo needs a real IMAP server that pushes new mail to IDLE sessions, with no setup at all.
pymap (MIT, asyncio; the optional ``demo`` extra) runs in our own event loop with its in-memory
``dict`` backend, which wakes IDLE sessions the moment a message is appended (about 1 ms).

Choices, and why:

- **Plain IMAP on loopback, no TLS.** The Switchboard server allows plain IMAP to loopback
  (``"ssl": false`` in ``connect``), so the demo needs no certificate and no ``imap_ca_file``.
  pymap then offers LOGIN without STARTTLS (``tls_enabled=False``).
- **Cleartext password storage.** pymap's default hashing costs about 0.2 s of CPU per LOGIN
  (measured); a throwaway in-memory demo account gains nothing from it.
- **Delivery in-process.** :meth:`EmbeddedImapServer.deliver` appends to the account's INBOX
  through the backend, exactly what an IMAP APPEND does after parsing, without a second socket.
- **Every connection task is owned.** pymap's stock service (with its PROXY-protocol reader)
  starts connection tasks nobody awaits; here ``asyncio.start_server`` calls pymap's
  ``IMAPServer`` directly, each connection task is registered, and
  :meth:`EmbeddedImapServer.stop` cancels and awaits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from argparse import Namespace
from asyncio import StreamReader, StreamWriter
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from types import TracebackType
from typing import TYPE_CHECKING, Final

from switchboard.errors import SwitchboardError
from switchboard.extras import install_hint

if TYPE_CHECKING:  # pymap is optional (the ``demo`` extra); imported when the server starts
    from pymap.backend.dict import Config, Login
    from pymap.backend.dict.mailbox import MailboxData

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_RECIPIENT",
    "DEMO_SENDER",
    "DEMO_USERNAME",
    "DemoImapError",
    "EmbeddedImapServer",
    "build_message",
]

DEMO_USERNAME: Final = "demouser"
DEMO_PASSWORD: Final = "demopass"  # noqa: S105 - a public, throwaway demo credential
DEMO_SENDER: Final = "Switchboard Demo <demo-sender@example.com>"
DEMO_RECIPIENT: Final = "Demo User <demouser@example.com>"

_GREETING: Final = b"Switchboard demo IMAP server (pymap) ready"
# A client that fails LOGIN waits this long; pymap's default 0.3 s only slows a typo in the demo.
_INVALID_USER_SLEEP_S: Final = 0.05
# The largest message APPEND accepts; sample mail is tiny.
_MAX_APPEND_BYTES: Final = 1_000_000
# How long stop() waits for pymap's connection tasks to finish after cancelling them.
_STOP_TIMEOUT_S: Final = 5.0


class DemoImapError(SwitchboardError):
    """The embedded IMAP server cannot run: pymap is not installed, or it is used before start()."""


def build_message(
    subject: str,
    body: str,
    *,
    sender: str = DEMO_SENDER,
    recipient: str = DEMO_RECIPIENT,
    date: datetime | None = None,
) -> bytes:
    """Return an RFC 5322 message (CRLF line endings) with the given subject and text body.

    Non-ASCII subjects and names are encoded as RFC 2047 encoded-words, bodies as UTF-8.

    Args:
        subject: the Subject header.
        body: the text/plain body.
        sender: the From header, e.g. ``"Ann <ann@example.com>"``.
        recipient: the To header.
        date: the Date header (default: now, UTC).
    """
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="switchboard.demo")
    msg.set_content(body)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


class EmbeddedImapServer:
    """A pymap IMAP server in the running event loop, with one account whose INBOX starts empty.

    Use ``async with EmbeddedImapServer() as imap:`` or ``start()`` / ``stop()``; then connect to
    ``imap.host:imap.port`` with ``imap.username`` / ``imap.password`` (plain IMAP, LOGIN).

    Args:
        host: address to listen on; keep it loopback, the connection is not encrypted.
        port: TCP port; 0 picks a free one (read it back from :attr:`port`).
        username: the demo account's login name.
        password: its password.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = DEMO_USERNAME,
        password: str = DEMO_PASSWORD,
    ) -> None:
        self.host = host
        self.username = username
        self.password = password
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._inbox: MailboxData | None = None

    @property
    def port(self) -> int:
        """The TCP port actually bound.

        Raises:
            DemoImapError: the server is not started.
        """
        if self._server is None:
            raise DemoImapError("the embedded IMAP server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def connections(self) -> int:
        """How many IMAP client connections are open right now."""
        return len(self._connections)

    async def start(self) -> None:
        """Create the account and listen.

        Raises:
            DemoImapError: pymap is not installed (the ``demo`` extra).
            OSError: the port cannot be bound.
        """
        login, config, self._inbox = await _create_backend(self.username, self.password)
        from proxyprotocol.sock import SocketInfo
        from pymap.imap import IMAPServer

        imap_server = IMAPServer(login, config)

        async def on_connection(reader: StreamReader, writer: StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._connections.add(task)
            try:
                info = SocketInfo.get(writer, None, unique_id=os.urandom(16))
                await imap_server(reader, writer, info)
            finally:
                self._connections.discard(task)
                writer.close()

        self._server = await asyncio.start_server(on_connection, self.host, self._requested_port)

    async def stop(self) -> None:
        """Stop listening, end every open IMAP connection and wait for it. Safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: a task that ignores cancellation must not hang the demo's shutdown.
            await asyncio.wait(tasks, timeout=_STOP_TIMEOUT_S)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), timeout=_STOP_TIMEOUT_S)

    async def __aenter__(self) -> EmbeddedImapServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def deliver(
        self,
        subject: str,
        body: str,
        *,
        sender: str = DEMO_SENDER,
        recipient: str = DEMO_RECIPIENT,
    ) -> int:
        """Put a new message into the demo account's INBOX, as a mail delivery would.

        IDLE sessions on INBOX are told at once (``* n EXISTS``).

        Args:
            subject: the Subject header.
            body: the text/plain body.
            sender: the From header.
            recipient: the To header.

        Returns:
            The new message's UID.

        Raises:
            DemoImapError: the server is not started.
        """
        if self._inbox is None or self._server is None:
            raise DemoImapError("the embedded IMAP server is not started")
        raw = build_message(subject, body, sender=sender, recipient=recipient)
        return await _append(self._inbox, raw)


async def _create_backend(username: str, password: str) -> tuple[Login, Config, MailboxData]:
    """Build pymap's dict backend with one account and an empty INBOX.

    Raises:
        DemoImapError: pymap is not installed.
    """
    try:
        from proxyprotocol.version import ProxyProtocolVersion
        from pymap.backend.dict import Config, Login
        from pymap.backend.dict.filter import FilterSet
        from pymap.backend.dict.mailbox import MailboxSet
        from pymap.concurrent import Subsystem
        from pymap.user import UserMetadata
        from pysasl.hashing import Cleartext
    except ImportError as exc:
        missing = (exc.name or "pymap").partition(".")[0]
        raise DemoImapError(
            f"the demo needs pymap ({missing} is missing): {install_hint('demo')}"
        ) from None

    class DemoConfig(Config):
        # pymap's greeting calls socket.getfqdn() per connection, which may wait on DNS.
        @property
        def greeting(self) -> bytes:
            return _GREETING

    config = DemoConfig(
        Namespace(),
        host=None,
        port=0,
        demo_data=False,
        demo_user=username,
        demo_password=password,
        hash_context=Cleartext(),
        # Checking a cleartext password is instant: no thread pool needed.
        cpu_subsystem=Subsystem.for_asyncio(),
        proxy_protocol=ProxyProtocolVersion.NOOP.value,
        tls_enabled=False,
        invalid_user_sleep=_INVALID_USER_SLEEP_S,
        max_append_len=_MAX_APPEND_BYTES,
    )
    login = Login(config)
    await login.demo_user_identity.set(UserMetadata(config, username, password=password))
    # Create the account's mailboxes now, so deliver() works before anyone has logged in.
    mailbox_set, filter_set = MailboxSet(), FilterSet()
    config.set_cache[username] = (mailbox_set, filter_set)
    inbox = await mailbox_set.get_mailbox("INBOX")
    return login, config, inbox


async def _append(inbox: MailboxData, raw: bytes) -> int:
    from pymap.parsing.message import AppendMessage

    message = await inbox.append(AppendMessage(raw, datetime.now(UTC)), recent=True)
    return message.uid
