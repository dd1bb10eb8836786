"""A scripted Switchboard WebSocket peer for client tests, on 127.0.0.1 port 0 in its own thread.

It answers like the server (docs/protocol.md: one reply frame per request frame, tags
echoed unchanged, untagged commands answered untagged, ``[]`` answered with ``[]``, invalid JSON
answered with an untagged ``invalidJson`` error) for ``connect``, ``watchAll``,
``watchMailboxes``, ``getMailboxes``, ``getMessageList`` and ``getMessages``
(``inactiveAccount`` for ``nobody@example.com``); other methods get ``unknownMethod``.
Test-only methods script the awkward cases, in command order:

=================  =========================================================================
``_push``          reply ``["pushed", {}]``, then send each frame of ``args["frames"]``
                   (after the reply frame, as the server does with ``newMessage``)
``_sendText``      send ``args["text"]`` verbatim as its own frame *before* the reply
``_binary``        send a binary frame before the reply
``_wrongTags``     reply ``["wrong", {}]`` with the tag plus 1000 (a tag nobody sent)
``_silence``       send no reply frame at all for this request frame
``_close``         close with ``args["code"]`` / ``args["reason"]``, no reply
``_abort``         drop the TCP connection without a close frame (the client sees 1006)
=================  =========================================================================

The peer runs its own event loop in a daemon thread, so threaded and asyncio clients can both
talk to it. ``frames`` and ``headers`` record what clients sent.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers

RAW_MESSAGE = (
    "From: Latency Probe <probe@example.com>\r\n"
    "To: user1@localhost\r\n"
    "Subject: appended 0\r\n"
    "Date: Wed, 04 Jan 2017 12:00:00 +0000\r\n"
    "Message-ID: <appended-0@example.com>\r\n"
    "\r\n"
    "body of appended 0\r\n"
)

MAILBOXES = {
    "state": 9994537339654418401471858898878876255421381384,
    "list": [
        {"name": "[Gmail]/Sent Mail", "id": "[Gmail]/Sent Mail!7"},
        {"name": "Work", "id": "Work!3"},
        {"name": "INBOX", "id": "INBOX!1"},
    ],
}

START_TIMEOUT_S = 5.0


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class WsPeer:
    """The scripted server; use as a context manager, then ``peer.url("/workers")``."""

    def __init__(self, raw_message: str = RAW_MESSAGE) -> None:
        self.raw_message = raw_message
        self.frames: list[str] = []
        self.headers: list[Headers] = []
        self.paths: list[str] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ws-peer", daemon=True)
        self._error: BaseException | None = None

    def url(self, path: str = "/workers") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> WsPeer:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("ws peer did not start")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(START_TIMEOUT_S)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._session, "127.0.0.1", 0, compression=None) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _session(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.headers.append(ws.request.headers)
        self.paths.append(ws.request.path)
        async for message in ws:
            if isinstance(message, bytes):
                continue  # binary frames are ignored, as by the server
            self.frames.append(message)
            if not await self._answer(ws, message):
                return

    async def _answer(self, ws: ServerConnection, text: str) -> bool:
        """Answer one request frame; return False once the connection is gone."""
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if not isinstance(frame, list):
            await ws.send(_dumps([["error", {"type": "invalidJson", "method": None,
                                             "arguments": None}]]))
            return True
        replies: list[list[Any]] = []
        after: list[Any] = []
        silent = False
        for cmd in frame:
            method, args = cmd[0], cmd[1]
            tail = cmd[2:]
            if method == "_sendText":
                await ws.send(args["text"])
                resp: list[Any] = ["sent", {}]
            elif method == "_binary":
                await ws.send(b"\x00\x01binary")
                resp = ["sent", {}]
            elif method == "_push":
                after.extend(args["frames"])
                resp = ["pushed", {}]
            elif method == "_wrongTags":
                resp = ["wrong", {}]
                tail = [tag + 1000 for tag in tail]
            elif method == "_silence":
                silent = True
                continue
            elif method == "_close":
                await ws.close(args.get("code", 1000), args.get("reason", ""))
                return False
            elif method == "_abort":
                assert ws.transport is not None
                ws.transport.abort()
                return False
            else:
                resp = self._command(method, args)
            replies.append(resp + tail)
        if not silent:
            await ws.send(_dumps(replies))
        for pushed in after:
            await ws.send(_dumps(pushed))
        return True

    def _command(self, method: str, args: Any) -> list[Any]:
        if method == "connect":
            return ["connected", {}]
        if method == "watchAll":
            return ["watchingAll", {}]
        if method == "watchMailboxes":
            return ["watchingMailboxes", {"list": args["list"]}]
        if method == "getMailboxes":
            return ["mailboxes", MAILBOXES]
        if method == "getMessageList":
            if args.get("mailboxId") != "INBOX!1":
                return _error("mailboxDoesNotExist", method, args)
            return ["messageList", {"messageIds": ["INBOX!1?1", "INBOX!1?2", "INBOX!1?3"]}]
        if method == "getMessages":
            if args.get("account") == "nobody@example.com":
                return _error("inactiveAccount", method, args)
            ids = args.get("ids")
            if not isinstance(ids, list):
                return _error("invalidArguments", method, args)
            found = [{"raw": self.raw_message} for i in ids if str(i).startswith("INBOX!1?")]
            return ["messages", {"state": "TODO", "list": found}]
        return _error("unknownMethod", method, args)


def _error(error_type: str, method: str, args: Any) -> list[Any]:
    return ["error", {"type": error_type, "method": method, "arguments": args}]
