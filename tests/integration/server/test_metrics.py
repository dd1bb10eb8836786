"""``/metrics`` scraped over real HTTP after a new mail travelled from Dovecot to a worker."""

from __future__ import annotations

import asyncio
import http.client
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from switchboard.jmap.capabilities import CORE, MAIL
from switchboard.jmap.ids import account_id
from switchboard.model.store import TokenScope
from switchboard.server.app import SwitchboardServer
from switchboard.server.tokens import create_token
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_http import RawHttp, base_url, basic, basic_of, client_tls, tls_settings
from tests.support.switchboard import Peer, message, new_server, plain

pytestmark = pytest.mark.dovecot

TOKEN = "metrics-token"
SETTLE_S = 15.0


async def scrape(
    server: SwitchboardServer, token: str | None, *, secure: bool = False
) -> tuple[int, str, str]:
    """GET /metrics: the status, the Content-Type and the body."""

    def do() -> tuple[int, str, str]:
        conn = (
            http.client.HTTPSConnection(
                "127.0.0.1", server.port, timeout=10, context=ssl._create_unverified_context()
            )
            if secure
            else http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        )
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            conn.request("GET", "/metrics", headers=headers)
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read().decode()
        finally:
            conn.close()

    return await asyncio.to_thread(do)


def parsed(text: str) -> Iterator[Sample]:
    for family in text_string_to_metric_families(text):
        yield from family.samples


def value(text: str, name: str, **labels: str) -> float:
    found = [s.value for s in parsed(text) if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, found)
    return found[0]


async def scrape_until(
    server: SwitchboardServer,
    token: str | None,
    done: Callable[[str], bool],
    *,
    secure: bool = False,
) -> tuple[str, str]:
    """Scrape until ``done(text)`` (bounded by SETTLE_S); return the Content-Type and text."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        status, content_type, text = await scrape(server, token, secure=secure)
        assert status == 200, text
        if done(text):
            return content_type, text
        assert time.monotonic() < deadline, text
        await asyncio.sleep(0.2)


def idle(text: str) -> bool:
    """Whether the one account's watcher is in IDLE (a push is then measured, not caught up)."""
    return value(text, "switchboard_accounts", state="idle") == 1


async def test_metrics_after_one_new_mail(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    account = imap_user.username
    async with new_server(tmp_path / "data", dovecot, tokens=(TOKEN,)) as server:
        base = f"ws://127.0.0.1:{server.port}"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            connect(f"{base}/workers", additional_headers=auth, open_timeout=10) as worker_ws,
            connect(f"{base}/clients", additional_headers=auth, open_timeout=10),
        ):
            worker = Peer(worker_ws)
            reply = await worker.call(
                [
                    ["connect", plain(dovecot, account, imap_user.password), 1],
                    ["watchMailboxes", {"account": account, "list": ["INBOX"]}, 2],
                    ["watchAll", {}, 3],
                    ["noSuchMethod", {}, 4],  # no account named: noAccount
                ]
            )
            names = [r[0] for r in reply]
            assert names == ["connected", "watchingMailboxes", "watchingAll", "error"], reply
            await scrape_until(server, TOKEN, idle)
            await asyncio.to_thread(dovecot.append, imap_user, message("metrics"))
            push = await worker.push()
            assert push["account"] == account

            # Who may read it: the same rules as /api.
            assert (await scrape(server, None))[0] == 401
            assert (await scrape(server, "wrong"))[0] == 401
            client_token, _ = await create_token(server.parts.store, TokenScope.CLIENT)
            assert (await scrape(server, client_token))[0] == 403

            # The watcher goes back to IDLE right after announcing; wait for it, bounded.
            content_type, text = await scrape_until(server, TOKEN, idle)

    # The text format (the library's current version of it), not OpenMetrics or protobuf.
    assert content_type.startswith("text/plain; version="), content_type
    assert sum(
        s.value for s in parsed(text) if s.name == "switchboard_accounts"
    ) == 1, "one account, in exactly one state"
    assert value(text, "switchboard_sessions", interface="workers") == 1
    assert value(text, "switchboard_sessions", interface="clients") == 1
    assert value(text, "switchboard_events_announced_total") >= 1
    latency = "switchboard_new_mail_latency_seconds"
    assert value(text, f"{latency}_count") >= 1
    # Dovecot's push to the fan-out takes milliseconds, well inside the 10 s bucket.
    assert value(text, f"{latency}_bucket", le="10.0") == value(text, f"{latency}_count")
    assert value(text, "switchboard_errors_total", type="noAccount") == 1
    assert value(text, "switchboard_errors_total", type="serverError") == 0
    assert value(text, "switchboard_imap_reconnects_total", reason="backoff") == 0


async def test_a_dropped_imap_connection_counts_one_reconnect(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    account = imap_user.username
    async with (
        new_server(tmp_path / "data", dovecot) as server,  # no token: loopback is open
        connect(f"ws://127.0.0.1:{server.port}/workers", open_timeout=10) as ws,
    ):
        reply = await Peer(ws).call(
            [
                ["connect", plain(dovecot, account, imap_user.password), 1],
                ["watchMailboxes", {"account": account, "list": ["INBOX"]}, 2],
            ]
        )
        assert [r[0] for r in reply] == ["connected", "watchingMailboxes"], reply
        _, text = await scrape_until(server, None, idle)
        assert value(text, "switchboard_imap_reconnects_total", reason="backoff") == 0
        # Dovecot's session processes die: the watcher loses its connection, reconnects.
        assert await asyncio.to_thread(dovecot.kill_imap_processes, imap_user) >= 1

        def reconnected(text: str) -> bool:
            backoff = value(text, "switchboard_imap_reconnects_total", reason="backoff")
            return backoff >= 1 and idle(text)

        _, text = await scrape_until(server, None, reconnected)
    assert value(text, "switchboard_imap_reconnects_total", reason="authFailed") == 0


def dovecot_refusals(dovecot: DovecotServer, username: str) -> int:
    """How many logins of ``username`` Dovecot refused (its log's auth failures)."""
    log = (dovecot.dir / "dovecot.log").read_text(errors="replace")
    return sum(
        1 for line in log.splitlines() if "auth failed" in line and f"user=<{username}>" in line
    )


async def test_jmap_calls_streams_and_basic_logins_are_counted(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    user = dovecot.new_user()
    jmap_id = account_id(user.username)
    async with (
        new_server(tmp_path / "data", dovecot, **tls_settings(dovecot)) as server,
        httpx.AsyncClient(
            base_url=base_url(server), verify=client_tls(dovecot), timeout=20
        ) as http,
    ):
        auth = basic_of(user)
        session = await http.get("/.well-known/jmap", headers=auth)  # adds the account: imap
        assert session.status_code == 200, session.text
        calls = [
            ["Core/echo", {}, "a"],
            ["Mailbox/get", {"accountId": jmap_id}, "b"],
            ["Mailbox/get", {"accountId": "anope"}, "c"],
            ["Made/up", {}, "d"],
        ]
        response = await http.post(
            "/jmap/api",
            headers={**auth, "Content-Type": "application/json"},
            json={"using": [CORE, MAIL], "methodCalls": calls},
        )
        assert response.status_code == 200, response.text
        names = [r[0] for r in response.json()["methodResponses"]]
        assert names == ["Core/echo", "Mailbox/get", "error", "error"], response.text
        bad = await http.post(
            "/jmap/api", headers={**auth, "Content-Type": "application/json"}, content=b"{"
        )
        assert bad.status_code == 400

        # A wrong password, five times: one IMAP login, then 401 without IMAP.
        before = await asyncio.to_thread(dovecot_refusals, dovecot, user.username)
        wrong = {"Authorization": basic(user.username, "not-" + user.password)}
        answers = [await http.get("/.well-known/jmap", headers=wrong) for _ in range(5)]
        assert [a.status_code for a in answers] == [401] * 5
        assert "retry-after" not in answers[0].headers
        assert all(1 <= int(a.headers["retry-after"]) <= 10 for a in answers[1:])
        assert user.password not in "".join(a.text for a in answers)
        # The right password is not held back by the wrong one's backoff.
        assert (await http.get("/.well-known/jmap", headers=auth)).status_code == 200
        deadline = time.monotonic() + SETTLE_S  # imap-login logs as the connection ends
        while await asyncio.to_thread(dovecot_refusals, dovecot, user.username) == before:
            assert time.monotonic() < deadline, "Dovecot never saw the wrong password"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # nothing more arrives
        assert await asyncio.to_thread(dovecot_refusals, dovecot, user.username) == before + 1

        ws_url = f"wss://127.0.0.1:{server.port}/jmap/ws"
        stream = await RawHttp.open(server, client_tls(dovecot))
        async with connect(ws_url, ssl=client_tls(dovecot), subprotocols=[Subprotocol("jmap")],
                           additional_headers=auth, open_timeout=15):  # fmt: skip
            await stream.send("GET", "/jmap/eventsource?types=*&closeafter=no&ping=0", auth)
            assert (await stream.head())[0] == 200
            await stream.event()
            text = (await http.get("/metrics")).text
            assert value(text, "switchboard_jmap_streams", kind="websocket") == 1
            assert value(text, "switchboard_jmap_streams", kind="eventsource") == 1
        await stream.close()
        _, text = await scrape_until(
            server,
            None,
            lambda t: value(t, "switchboard_jmap_streams", kind="websocket")
            + value(t, "switchboard_jmap_streams", kind="eventsource")
            == 0,
            secure=True,
        )

    calls_total = "switchboard_jmap_calls_total"
    assert value(text, calls_total, method="Core/echo", outcome="ok") == 1
    assert value(text, calls_total, method="Mailbox/get", outcome="ok") == 1
    assert value(text, calls_total, method="Mailbox/get", outcome="accountNotFound") == 1
    assert value(text, calls_total, method="other", outcome="unknownMethod") == 1
    assert value(text, "switchboard_jmap_request_errors_total", type="notJSON") == 1
    assert value(text, "switchboard_jmap_request_errors_total", type="limit") == 0
    logins = "switchboard_jmap_basic_logins_total"
    assert value(text, logins, outcome="imap") == 1  # the first Session
    assert value(text, logins, outcome="refused") == 1
    assert value(text, logins, outcome="backoff") == 4
    assert value(text, logins, outcome="cached") >= 3  # API calls, socket, stream
