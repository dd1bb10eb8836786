"""A real local SMTP server (aiosmtpd) in the test's event loop that records what it accepted.

``async with FakeSmtpServer() as smtp:`` — ``smtp.port``; ``smtp.replies`` is a script of
replies to DATA (``"451 4.3.0 try later"``) used before accepting; ``await smtp.wait_messages(n)``
waits (bounded) for ``n`` accepted messages; ``smtp.attempts`` counts every DATA received.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from aiosmtpd.smtp import SMTP, Envelope, Session

WAIT_TIMEOUT_S: Final = 15.0


@dataclass(frozen=True, slots=True)
class Accepted:
    sender: str
    recipients: tuple[str, ...]
    data: bytes


class FakeSmtpServer:
    def __init__(self) -> None:
        self.messages: list[Accepted] = []
        self.replies: deque[str] = deque()
        self.attempts = 0
        self.port = 0
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None

    # aiosmtpd calls the hook by this name.
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.attempts += 1
        if self.replies:
            return self.replies.popleft()
        data = envelope.original_content or b""
        async with self._changed:
            self.messages.append(Accepted(
                str(envelope.mail_from), tuple(envelope.rcpt_tos), data))
            self._changed.notify_all()
        return "250 2.0.0 OK"

    async def wait_messages(self, count: int, timeout_s: float = WAIT_TIMEOUT_S) -> list[Accepted]:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: len(self.messages) >= count)
        return list(self.messages)

    async def __aenter__(self) -> FakeSmtpServer:
        loop = asyncio.get_running_loop()
        handler: Any = self
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="fake-smtp", decode_data=False),
            "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
