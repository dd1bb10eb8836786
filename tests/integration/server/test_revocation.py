"""A revoked token's open sockets are closed within seconds (1008 "token revoked"), others stay.

The server runs in the test's event loop on a real data directory (SQLite) or on the machine's
PostgreSQL; the revocation comes from outside it: the real ``switchboard tokens revoke`` command
in a subprocess on the same data directory, or another store handle on the same database (what
any other node does). A store that fails while the check runs must close nobody.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from switchboard.cli.serve import build_server
from switchboard.model.store import TokenScope
from switchboard.server.app import SwitchboardServer
from switchboard.server.config import ServerSettings
from switchboard.server.revocation import (
    DEFAULT_REVOCATION_INTERVAL_S,
    REVOKED_CLOSE_CODE,
    REVOKED_REASON,
)
from switchboard.server.tokens import create_token
from switchboard.store import SecretBox
from switchboard.store.postgres import PostgresStore
from tests.support.jmap_http import RawHttp
from tests.support.switchboard import Peer

CLI_TIMEOUT_S = 60.0
# The check runs every 2 s; the rest is the closing handshake on a loaded machine.
CLOSED_WITHIN_S = DEFAULT_REVOCATION_INTERVAL_S + 8.0


async def tokens_cli(data_dir: Path, *args: str) -> str:
    """Run ``switchboard tokens ARGS`` on ``data_dir`` in a subprocess; return its stdout."""
    env = {**os.environ, "SWITCHBOARD_DATA_DIR": str(data_dir)}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "switchboard.cli", "tokens", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done.stdout


async def open_worker(port: int, token: str) -> ClientConnection:
    """A ``/workers`` socket authenticated with ``token``, checked to answer a command."""
    ws = await connect(
        f"ws://127.0.0.1:{port}/workers",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=10,
    )
    await answers(ws)
    return ws


async def answers(ws: ClientConnection) -> None:
    """Assert the socket is open and served: a command gets its reply."""
    reply = await Peer(ws).call([["watchAll", {}, "probe"]])
    assert reply == [["watchingAll", {}, "probe"]], reply


async def closed_by_server(ws: ClientConnection) -> tuple[int, str, float]:
    """Wait (bounded) for the server to close ``ws``; return the code, the reason, the wait."""
    started = time.monotonic()
    async with asyncio.timeout(CLOSED_WITHIN_S):
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
    received = closed.value.rcvd
    assert received is not None, "the connection dropped without a close frame"
    return received.code, received.reason, time.monotonic() - started


class LogSeen(logging.Handler):
    """Sets ``seen`` once a record containing ``text`` is logged."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


async def upgrade_status(port: int, token: str) -> int:
    try:
        async with connect(f"ws://127.0.0.1:{port}/workers?token={token}", open_timeout=10):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def settings(data_dir: Path, **changes: Any) -> ServerSettings:
    return ServerSettings(host="127.0.0.1", port=0, data_dir=data_dir, **changes)


async def test_revoking_with_the_cli_closes_the_open_sockets_of_that_token_only(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    async with SwitchboardServer(settings(data_dir)) as server:
        revoked = await tokens_cli(data_dir, "create", "--scope", "worker", "--name", "apns")
        kept = await tokens_cli(data_dir, "create", "--scope", "worker", "--name", "web")
        first = await open_worker(server.port, revoked.strip())
        second = await open_worker(server.port, revoked.strip())
        other = await open_worker(server.port, kept.strip())
        try:
            assert "revoked" in await tokens_cli(data_dir, "revoke", "apns")
            for ws in (first, second):
                code, reason, waited_s = await closed_by_server(ws)
                assert (code, reason) == (REVOKED_CLOSE_CODE, REVOKED_REASON)
                assert waited_s < CLOSED_WITHIN_S
            # The other token's socket outlives more rounds of the check, and is served.
            await asyncio.sleep(2 * DEFAULT_REVOCATION_INTERVAL_S)
            await answers(other)
            assert await upgrade_status(server.port, revoked.strip()) == 401
            assert await upgrade_status(server.port, kept.strip()) == 101
        finally:
            for ws in (first, second, other):
                await ws.close()


async def test_a_store_that_fails_during_the_check_closes_nobody(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    async with SwitchboardServer(settings(data_dir)) as server:
        token = await tokens_cli(data_dir, "create", "--scope", "worker", "--name", "apns")
        ws = await open_worker(server.port, token.strip())
        db = sqlite3.connect(data_dir / "switchboard.db", isolation_level=None)
        failed = LogSeen("cannot check for revoked tokens")
        logging.getLogger("switchboard.server").addHandler(failed)
        try:
            with caplog.at_level(logging.INFO, logger="switchboard.server"):
                # Another process breaks the token table (the server's query now fails with
                # "no such table") and revokes the token where the server cannot see it.
                db.execute("ALTER TABLE tokens RENAME TO tokens_away")
                db.execute("UPDATE tokens_away SET revoked_at = 1 WHERE name = 'apns'")
                async with asyncio.timeout(CLOSED_WITHIN_S):
                    await failed.seen.wait()
                await asyncio.sleep(2 * DEFAULT_REVOCATION_INTERVAL_S)  # more failed rounds
                await answers(ws)
                warnings = [
                    r for r in caplog.records if "cannot check for revoked" in r.getMessage()
                ]
                assert len(warnings) == 1, caplog.text
                assert warnings[0].levelno == logging.WARNING
                # The store answers again: the revocation it now shows is enforced.
                db.execute("ALTER TABLE tokens_away RENAME TO tokens")
                code, reason, _ = await closed_by_server(ws)
                assert (code, reason) == (REVOKED_CLOSE_CODE, REVOKED_REASON)
            assert "checking for revoked tokens again" in caplog.text
        finally:
            logging.getLogger("switchboard.server").removeHandler(failed)
            db.close()
            await ws.close()


async def test_a_token_revoked_on_another_node_closes_sockets_on_this_one(
    tmp_path: Path, pg_dsn: str
) -> None:
    node = settings(tmp_path / "n1", store_url=pg_dsn, node_id="n1", lease_ttl_s=3.0)
    async with build_server(node) as server:  # a cluster node, as `switchboard serve` builds it
        # "Another node": its own connection to the same database (tokens need no secret key).
        other_node = await PostgresStore.open(pg_dsn, SecretBox.generate(), node_id="n2")
        try:
            revoked, _ = await create_token(other_node, TokenScope.WORKER, name="apns")
            kept, _ = await create_token(other_node, TokenScope.WORKER, name="web")
            ws = await open_worker(server.port, revoked)
            other = await open_worker(server.port, kept)
            try:
                await other_node.revoke_token("apns")
                code, reason, _ = await closed_by_server(ws)
                assert (code, reason) == (REVOKED_CLOSE_CODE, REVOKED_REASON)
                await asyncio.sleep(DEFAULT_REVOCATION_INTERVAL_S + 0.5)
                await answers(other)
            finally:
                await ws.close()
                await other.close()
        finally:
            await other_node.close()


# -- JMAP: the same watch ends WebSockets and EventSource streams ------------------------------


async def jmap_socket(port: int, token: str) -> ClientConnection:
    """A JMAP WebSocket (RFC 8887) opened with ``token``, checked to answer a request."""
    ws = await connect(
        f"ws://127.0.0.1:{port}/jmap/ws",
        subprotocols=[Subprotocol("jmap")],
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=10,
    )
    await jmap_answers(ws)
    return ws


async def jmap_answers(ws: ClientConnection) -> None:
    request = {
        "@type": "Request",
        "id": "r",
        "using": ["urn:ietf:params:jmap:core"],
        "methodCalls": [["Core/echo", {"ok": True}, "c"]],
    }
    await ws.send(json.dumps(request))
    async with asyncio.timeout(10):
        reply = json.loads(await ws.recv())
    assert reply["methodResponses"] == [["Core/echo", {"ok": True}, "c"]], reply


def jmap_api_status(port: int, token: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = json.dumps(
            {"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Core/echo", {}, "c"]]}
        )
        conn.request(
            "POST",
            "/jmap/api",
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


async def test_revoking_a_token_ends_its_jmap_websockets_and_event_streams(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    async with SwitchboardServer(settings(data_dir)) as server:
        create = ("create", "--scope", "worker", "--name")
        revoked = (await tokens_cli(data_dir, *create, "jmap")).strip()
        kept = (await tokens_cli(data_dir, *create, "web")).strip()
        ws = await jmap_socket(server.port, revoked)
        other = await jmap_socket(server.port, kept)
        stream = await RawHttp.open(server)
        kept_stream = await RawHttp.open(server)
        try:
            for raw, token in ((stream, revoked), (kept_stream, kept)):
                await raw.send("GET", "/jmap/eventsource?types=*&closeafter=no&ping=0",
                               {"Authorization": f"Bearer {token}"})  # fmt: skip
                assert (await raw.head())[0] == 200
                assert (await raw.event()).startswith(b"event: state\n")
            assert await asyncio.to_thread(jmap_api_status, server.port, revoked) == 200

            assert "revoked" in await tokens_cli(data_dir, "revoke", "jmap")
            started = time.monotonic()
            code, reason, _ = await closed_by_server(ws)
            assert (code, reason) == (REVOKED_CLOSE_CODE, REVOKED_REASON)
            assert await stream.at_eof(timeout_s=CLOSED_WITHIN_S)  # the stream ended
            assert time.monotonic() - started < CLOSED_WITHIN_S
            assert await asyncio.to_thread(jmap_api_status, server.port, revoked) == 401
            # The other token's socket and stream outlive more rounds, and are served.
            await asyncio.sleep(2 * DEFAULT_REVOCATION_INTERVAL_S)
            await jmap_answers(other)
            with pytest.raises(TimeoutError):  # still open: nothing, not the end, arrives
                await asyncio.wait_for(kept_stream.reader.read(1), 0.5)
            assert await asyncio.to_thread(jmap_api_status, server.port, kept) == 200
            assert len(list(server.parts.jmap.streams)) == 2  # the kept socket and stream
        finally:
            for raw in (stream, kept_stream):
                await raw.close()
            await ws.close()
            await other.close()
