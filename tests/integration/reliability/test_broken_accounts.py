"""A restart with broken accounts: the healthy one is served at once, the broken ones recover.

Four accounts on the session Dovecot, connected and watched by a worker before a restart of a
real ``switchboard serve`` process:

- ``healthy``: straight to Dovecot;
- ``dead``: through a TCP proxy that is stopped before the restart (connects are refused);
- ``hanging``: through a proxy that swallows everything (each connect waits out the engine's
  15 s connect timeout);
- ``changed``: its password is changed in Dovecot's users file before the restart.

After the restart the healthy account's new mail reaches a worker while the hanging one is still
connecting; ``/health`` and ``switchboard accounts list`` show the broken ones with their state
and last error (and never a password); once the proxy is back and the password restored, the
mail that arrived meanwhile is announced exactly once.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import switchboard.aio
from tests.integration.reliability.conftest import (
    DELIVERY_TIMEOUT_S,
    connect_args,
    messages,
    report,
)
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.server_process import ServerProcess
from tests.support.tcpproxy import TcpProxy

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(180)]

# Fast reconnect schedules so the test does not wait out the defaults (1 s and 60 s at first);
# refused logins still back off more slowly than network failures.
ENV = {
    "SWITCHBOARD_IMAP_BACKOFF_INITIAL_S": "0.2",
    "SWITCHBOARD_IMAP_BACKOFF_CAP_S": "1",
    "SWITCHBOARD_IMAP_AUTH_BACKOFF_INITIAL_S": "1",
    "SWITCHBOARD_IMAP_AUTH_BACKOFF_CAP_S": "2",
}
STATE_TIMEOUT_S = 20.0
NEW_PASSWORD = "changed-by-the-admin-7"


def get_json(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read())


def health_of(port: int) -> dict[str, dict[str, Any]]:
    return {a["account"]: a for a in get_json(port, "/health")["accounts"]}


async def wait_health(port: int, done: Callable[[dict[str, dict[str, Any]]], bool],
                      what: str) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + STATE_TIMEOUT_S
    while True:
        accounts = await asyncio.to_thread(health_of, port)
        if done(accounts):
            return accounts
        assert time.monotonic() < deadline, f"{what}: {accounts}"
        await asyncio.sleep(0.2)  # polling another process's state


def accounts_list(port: int) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "switchboard", "accounts", "list", "--url",
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def row(table: str, account: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(account + " "))


async def test_restart_with_a_dead_a_hanging_and_a_changed_password_account(
    tmp_path: Path,
    dovecot: DovecotServer,
    tcp_proxy_factory: Callable[[str, int], Awaitable[TcpProxy]],
) -> None:
    users = {name: dovecot.new_user() for name in ("healthy", "dead", "hanging", "changed")}
    dead_proxy = await tcp_proxy_factory(dovecot.host, dovecot.tls_port)
    hanging_proxy = await tcp_proxy_factory(dovecot.host, dovecot.tls_port)
    ports = {"dead": dead_proxy.port, "hanging": hanging_proxy.port}
    server = ServerProcess(tmp_path / "data", dovecot, tmp_path, env=ENV)
    server.start()
    try:
        async with switchboard.aio.connect(server.url, timeout_s=20) as sb:
            for name, user in users.items():
                await sb.call("connect", connect_args(dovecot, user, ports.get(name)))
                await sb.watch_mailboxes(user.username, ["INBOX"])
        server.stop()
        await dead_proxy.stop()
        hanging_proxy.blackhole()
        changed = users["changed"]
        await asyncio.to_thread(dovecot.set_password, changed, NEW_PASSWORD)
        with_new_password = ImapUser(changed.username, NEW_PASSWORD)

        server.start()  # asserts it comes up and listens
        await _broken_accounts_do_not_stop_the_healthy_one(
            server, dovecot, users, dead_proxy, with_new_password)
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert changed.password not in log and NEW_PASSWORD not in log


async def _broken_accounts_do_not_stop_the_healthy_one(
    server: ServerProcess, dovecot: DovecotServer, users: dict[str, ImapUser],
    dead_proxy: TcpProxy, with_new_password: ImapUser,
) -> None:
    uidvalidity = {name: dovecot.uidvalidity(user) for name, user in users.items()
                   if name != "changed"}
    uidvalidity["changed"] = dovecot.uidvalidity(with_new_password)
    received: Counter[tuple[str, str]] = Counter()  # (account, messageId) -> pushes
    arrived = asyncio.Condition()
    started = time.monotonic()

    async with switchboard.aio.connect(server.url, timeout_s=20) as sb:
        await sb.watch_all()

        async def consume() -> None:
            async for push in sb.events():
                async with arrived:
                    received[push.args["account"], push.args["messageId"]] += 1
                    arrived.notify_all()

        async def wait_for(name: str, uids: list[int]) -> None:
            ids = {(users[name].username, f"INBOX!{uidvalidity[name]}?{uid}") for uid in uids}
            async with asyncio.timeout(DELIVERY_TIMEOUT_S), arrived:
                await arrived.wait_for(lambda: ids <= set(received))

        consumer = asyncio.create_task(consume())
        try:
            # The healthy account is served while the hanging one still waits for its first
            # connect to time out: nothing serialises the accounts behind a dead host.
            healthy_uid = await asyncio.to_thread(
                dovecot.append, users["healthy"], messages(1, "healthy")[0])
            await wait_for("healthy", [healthy_uid])
            healthy_s = time.monotonic() - started
            assert health_of(server.port)[users["hanging"].username]["state"] == "connecting"

            # Mail for the broken accounts arrives while they are broken.
            missed = {
                "dead": await asyncio.to_thread(
                    dovecot.append, users["dead"], messages(1, "missed")[0]),
                "changed": await asyncio.to_thread(
                    dovecot.append, with_new_password, messages(1, "missed")[0]),
            }

            health = await wait_health(
                server.port,
                lambda a: a[users["changed"].username]["state"] == "authFailed"
                and a[users["dead"].username]["lastError"] is not None,
                "broken accounts shown with their state and error",
            )
            dead = health[users["dead"].username]
            assert dead["state"] in ("backoff", "connecting"), dead
            assert "cannot reach" in dead["lastError"]
            changed = health[users["changed"].username]
            assert "AuthenticationFailed" in changed["lastError"]
            assert changed["retryAt"] is None or changed["retryAt"] > time.time() - 1
            assert health[users["healthy"].username]["state"] == "idle"
            # Refused logins follow the slow schedule (first delays 0.5-1 s, then 1-2 s),
            # never a hot loop.
            counters = {a["account"]: a["counters"] for a in get_json(server.port, "/api/accounts")}
            attempts = counters[users["changed"].username]["login_attempts"]
            assert attempts <= (time.monotonic() - started) / 0.5 + 2

            # The account flips between authFailed and a retry's connecting/authenticating:
            # look again until the table caught it waiting out its backoff.
            deadline = time.monotonic() + STATE_TIMEOUT_S
            while "authFailed" not in row(
                table := await asyncio.to_thread(accounts_list, server.port),
                users["changed"].username,
            ):
                assert time.monotonic() < deadline, table
            assert "AuthenticationFailed" in row(table, users["changed"].username)
            assert "cannot reach" in row(table, users["dead"].username)
            assert " idle " in row(table, users["healthy"].username)
            documents = json.dumps(get_json(server.port, "/api/accounts")) + json.dumps(health)
            for text in (documents, table):
                assert users["changed"].password not in text and NEW_PASSWORD not in text

            # Recovery: the proxy listens again, the administrator restores the password.
            await dead_proxy.restart()
            back_at = time.monotonic()
            restore = asyncio.create_task(asyncio.to_thread(
                dovecot.set_password, users["changed"], users["changed"].password))
            await wait_for("dead", [missed["dead"]])
            dead_s = time.monotonic() - back_at
            await restore  # written at once; returns after Dovecot's once-a-second re-read
            await wait_for("changed", [missed["changed"]])
            changed_s = time.monotonic() - back_at
            await wait_health(
                server.port,
                lambda a: all(a[users[n].username]["state"] == "idle"
                              for n in ("healthy", "dead", "changed")),
                "recovered accounts idle",
            )
            # A later message to each proves the stream moved on; by then a duplicate of the
            # missed one would have been announced too.
            later = {name: await asyncio.to_thread(
                         dovecot.append, users[name], messages(1, "later")[0])
                     for name in ("dead", "changed")}
            for name, uid in later.items():
                await wait_for(name, [uid])
        finally:
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)

    assert all(count == 1 for count in received.values()), received
    expected = {
        (users[name].username, f"INBOX!{uidvalidity[name]}?{uid}")
        for name, uid in [("healthy", healthy_uid), *missed.items(), *later.items()]
    }
    assert set(received) == expected
    report("broken_accounts_restart", appended=len(expected), received=sum(received.values()),
           unique=len(received), healthy_first_event_s=round(healthy_s, 2),
           dead_recovered_s=round(dead_s, 2), changed_recovered_s=round(changed_s, 2))
