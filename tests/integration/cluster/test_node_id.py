"""One process per node id: a live node's twin is refused at start; a restart after kill -9 is not.

Real ``switchboard serve`` processes on PostgreSQL and Dovecot. A second process started with
``--node-id n1`` while n1 runs must exit 1 with one clear line (before, it started silently
and kept n1's heartbeat alive, so n1's accounts were never taken over when n1 died). n1
killed with SIGKILL and started again at once with the same id waits until its old heartbeat
is a TTL old, then starts and takes its accounts again, each watched by one IMAP session.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

import switchboard.aio
from tests.support.cluster import Node, connect_args, leases, one_session_each, until
from tests.support.dovecot import DovecotServer

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(120)]

TTL_S = 3.0
WAIT_S = 30.0
REFUSAL = re.compile(
    r"^switchboard: error: node id 'n1' is in use by a live node \(heartbeat \d+\.\d s ago\);"
    r" pick another --node-id or stop it$"
)


async def test_a_live_node_id_is_refused_and_a_dead_ones_is_taken_over(
    dovecot: DovecotServer, pg_dsn: str, tmp_path: Path
) -> None:
    key = Fernet.generate_key().decode()
    n1 = Node("n1", pg_dsn, key, dovecot, tmp_path, ttl_s=TTL_S)
    users = [dovecot.new_user() for _ in range(3)]
    try:
        await asyncio.to_thread(n1.start)
        async with switchboard.aio.connect(n1.url, timeout_s=30) as sb:
            for u in users:
                await sb.call("connect", connect_args(dovecot, u))
                await sb.watch_mailboxes(u.username, ["INBOX"])
        await until("n1 to hold the accounts", lambda: len(leases([n1])["n1"]) == 3, WAIT_S)

        # The twin: same id, its own data directory and port.
        started = time.monotonic()
        twin = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "switchboard", "serve", "--port", "0",
             "--data-dir", str(tmp_path / "twin"), "--imap-ca-file", str(dovecot.ca_file),
             "--store", pg_dsn, "--node-id", "n1", "--lease-ttl-s", str(TTL_S)],
            capture_output=True, text=True, timeout=WAIT_S,
            env={**n1.env} if n1.env else None,
        )
        refused_s = time.monotonic() - started
        lines = twin.stderr.strip().splitlines()
        print(f"NODE-ID twin exit={twin.returncode} after {refused_s:.1f} s: {lines[-1:]}")
        assert twin.returncode == 1, (twin.returncode, twin.stderr[-2000:])
        assert REFUSAL.match(lines[-1]), lines[-1]
        assert "Traceback" not in twin.stderr
        assert twin.stdout == ""  # it never listened
        # n1 was not disturbed: it still holds its accounts, one IMAP session each.
        assert leases([n1])["n1"] == {u.username for u in users}
        await one_session_each(dovecot, users, "after the twin was refused", WAIT_S)

        # kill -9, then start again at once with the same id: it waits out the old beat.
        await asyncio.to_thread(n1.kill9)
        killed_at = time.monotonic()
        await asyncio.to_thread(n1.start)
        restart_s = time.monotonic() - killed_at
        await until("n1 to hold them again", lambda: len(leases([n1])["n1"]) == 3, WAIT_S)
        held_s = time.monotonic() - killed_at
        print(f"NODE-ID restart listening after {restart_s:.1f} s, holding after {held_s:.1f} s")
        assert "waiting until that beat is" in n1.log_tail()
        assert restart_s <= TTL_S + 10.0
        await one_session_each(dovecot, users, "after the restart", WAIT_S)
    finally:
        await asyncio.to_thread(n1.stop)
