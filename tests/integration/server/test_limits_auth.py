"""Auth tokens and scopes, the rate limit, the slow-consumer close, and no secret in logs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from switchboard.model.events import NewMessage, StoredEvent
from switchboard.model.store import TokenScope
from switchboard.protocol.wirejson import dumps, loads
from switchboard.server.app import SwitchboardServer
from switchboard.server.tokens import create_token
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import Peer, new_server, plain

pytestmark = pytest.mark.dovecot


async def start(tmp_path: Path, dovecot: DovecotServer, **changes: Any) -> SwitchboardServer:
    srv = new_server(tmp_path / "data", dovecot, **changes)
    await srv.start()
    return srv


@pytest.fixture
async def server(tmp_path: Path, dovecot: DovecotServer) -> AsyncIterator[SwitchboardServer]:
    srv = await start(tmp_path, dovecot, rate_limit_per_s=1.0, rate_limit_burst=5)
    try:
        yield srv
    finally:
        await srv.stop()


async def status_of(server: SwitchboardServer, path: str, **kwargs: Any) -> int:
    """The HTTP status of a WebSocket upgrade to ``path`` (101 when it opens)."""
    try:
        async with connect(f"ws://127.0.0.1:{server.port}{path}", open_timeout=10, **kwargs):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def test_token_scopes(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    store = server.parts.store
    # No token configured on loopback: open.
    assert await status_of(server, "/workers") == 101
    worker, _ = await create_token(store, TokenScope.WORKER, name="w")
    client, _ = await create_token(store, TokenScope.CLIENT, name="c")
    bound, _ = await create_token(store, TokenScope.CLIENT, name="b", account="someone-else")
    # Once any token exists, every socket needs one, even on loopback.
    assert await status_of(server, "/workers") == 401
    assert await status_of(server, "/clients?token=sbt_wrong") == 401
    bearer = {"additional_headers": {"Authorization": f"Bearer {worker}"}}
    assert await status_of(server, "/workers", **bearer) == 101
    assert await status_of(server, f"/workers?token={worker}") == 101  # old clients: the URL
    assert await status_of(server, f"/clients?token={client}") == 101
    assert await status_of(server, f"/workers?token={client}") == 403  # valid, wrong scope
    # A client token bound to another account cannot connect this one.
    async with connect(f"ws://127.0.0.1:{server.port}/clients?token={bound}") as ws:
        args = plain(dovecot, imap_user.username, imap_user.password)
        [reply] = await Peer(ws).call([["connect", args, 1]])
        assert reply[0] == "error" and reply[1]["type"] == "notAuthorized", reply
        assert imap_user.password not in dumps(reply)
    await store.revoke_token("c")
    assert await status_of(server, f"/clients?token={client}") == 401


async def test_rate_limit_answers_rate_limited_and_keeps_the_socket(
    server: SwitchboardServer,
) -> None:
    async with connect(f"ws://127.0.0.1:{server.port}/workers") as ws:
        peer = Peer(ws)
        reply = await peer.call([["ack", {"eventIds": [i]}, i] for i in range(1, 9)])
        names = [r[0] for r in reply]
        assert names[:5] == ["acked"] * 5  # the burst
        assert "error" in names[5:]
        limited = [r for r in reply if r[0] == "error"]
        assert all(r[1]["type"] == "rateLimited" for r in limited)
        # Still open: the next frame gets a reply (limited or not, but a reply).
        [next_reply] = await peer.call([["ack", {"eventIds": [1]}, "x"]])
        assert next_reply[2] == "x"


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_slow_consumer_is_closed_with_1013_and_memory_stays_bounded(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    srv = await start(tmp_path, dovecot, max_pending_frames=1000)
    try:
        # max_queue=1: the client stops reading from the socket almost at once.
        async with connect(f"ws://127.0.0.1:{srv.port}/workers", max_queue=1) as ws:
            await ws.send(dumps([["watchAll", {}, 1]]))
            assert loads(await asyncio.wait_for(ws.recv(), 10)) == [["watchingAll", {}, 1]]
            (session,) = srv.parts.sessions
            before = rss_kib()
            hub = srv.parts.hub
            now = time.time()
            # 500 events at a time, the loop free in between so the writer sends what the
            # socket takes; once the peer's buffers are full the outbox grows to its bound.
            # (Loopback buffers hold a few MB of ~120-byte frames, hence up to 200k events.)
            published = 0
            while session.is_open and published < 200_000:
                hub.publish(
                    [
                        StoredEvent(i, NewMessage("acct", "INBOX", 1, i), now)
                        for i in range(published + 1, published + 501)
                    ]
                )
                published += 500
                await asyncio.sleep(0)
            grown_kib = rss_kib() - before
            assert not session.is_open
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert ws.close_code == 1013
            assert ws.close_reason == "slow consumer: too many pending frames"
        assert grown_kib < 64 * 1024, grown_kib  # 20k frames queued would be far more
    finally:
        await srv.stop()


async def test_no_secret_in_debug_logs_or_error_responses(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    log_file = tmp_path / "server.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    # The test's own client logs its frames too; only the server's log is under test.
    handler.addFilter(lambda record: not record.name.startswith("websockets.client"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    srv = await start(tmp_path, dovecot)
    access, refresh = dovecot.oauth2.issue(imap_user.username)
    wrong_password = "Wr0ng-Passw0rd-XYZZY"
    secrets = [imap_user.password, wrong_password, access, refresh]
    responses: list[str] = []
    try:
        worker, _ = await create_token(srv.parts.store, TokenScope.WORKER, name="w")
        secrets.append(worker)
        url = f"ws://127.0.0.1:{srv.port}/workers?token={worker}"
        async with connect(url) as ws:
            good = plain(dovecot, imap_user.username, imap_user.password)
            bad = plain(dovecot, imap_user.username, wrong_password)
            oauth = {
                **good,
                "auth": {
                    "type": "xoauth2",
                    "username": imap_user.username,
                    "token": {"type": "access", "token": access},
                },
            }
            for frame in (
                [["connect", good, 1], ["watchMailboxes", {"account": imap_user.username,
                                                           "list": ["INBOX"]}, 2]],
                [["connect", bad, 3]],
                [["connect", oauth, 4]],
                [["connect", {**good, "port": "x"}, 5]],
                [["getMessages", {"account": imap_user.username, "ids": ["bad"],
                                  "properties": ["subject"]}, 6]],
            ):  # fmt: skip
                await ws.send(dumps(frame))
                responses.append(str(await asyncio.wait_for(ws.recv(), 15)))
        assert await status_of(srv, "/workers?token=" + worker + "x") == 401
        health = await asyncio.to_thread(_get, f"http://127.0.0.1:{srv.port}/health", worker)
        responses.append(health)
    finally:
        await srv.stop()
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert any('"error"' in r for r in responses)  # the failures were answered
    log_text = log_file.read_text()
    assert "connect" in log_text or "listening" in log_text  # something was logged
    for secret in secrets:
        assert secret not in log_text
        for response in responses:
            assert secret not in response


def _get(url: str, token: str) -> str:
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())
