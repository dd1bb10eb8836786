"""Shared pieces of the fault-injection tests: a killable server process, mail, figures.

Every test here is bounded in time (pytest-timeout and explicit waits with timeouts) and prints
one ``FIGURES {...}`` line: messages appended, received, duplicates before dedup by ``eventId``,
recovery time. ``docs/reliability.md`` records the last run's lines.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from switchboard.server.app import SwitchboardServer
from tests.integration.server.conftest import FAST_ENGINE, server_settings
from tests.support.dovecot import DovecotServer, ImapUser

START_TIMEOUT_S = 30.0
# Dovecot announces new mail ~500 ms after it arrives; 200 messages fit well within this.
DELIVERY_TIMEOUT_S = 60.0
FIGURES_FILE = os.environ.get("SWITCHBOARD_FIGURES_FILE")


class ServerProcess:
    """``python -m switchboard serve`` as a subprocess that a test can kill -9 and restart.

    The first start takes any free port; restarts reuse it and the data directory, as an
    operator's restart would.
    """

    def __init__(self, data_dir: Path, dovecot: DovecotServer, log_dir: Path) -> None:
        self.data_dir = data_dir
        self.dovecot = dovecot
        self.log_dir = log_dir
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/workers"

    def start(self) -> None:
        """Start the server and wait for its "listening" line."""
        self.starts += 1
        log = (self.log_dir / f"server-{self.starts}.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "switchboard", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir), "--imap-ca-file", str(self.dovecot.ca_file)],
            stdout=subprocess.PIPE, stderr=log, text=True,
        )
        log.close()
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        line = self.proc.stdout.readline()  # the server prints it first; bounded by the timeout
        match = re.search(r"ws://127\.0\.0\.1:(\d+)/workers", line)
        assert match and time.monotonic() < deadline, (line, self.log_tail())
        self.port = int(match.group(1))

    def kill9(self) -> None:
        """SIGKILL the server: no shutdown code runs, as in a crash or an OOM kill."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log_tail(self) -> str:
        logs = sorted(self.log_dir.glob("server-*.log"))
        return logs[-1].read_text()[-3000:] if logs else ""


@pytest.fixture
def server_process(tmp_path: Path, dovecot: DovecotServer) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data", dovecot, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def server(tmp_path: Path, dovecot: DovecotServer) -> AsyncIterator[SwitchboardServer]:
    """A server in the test's event loop, for tests that kill other things than the server."""
    srv = SwitchboardServer(server_settings(tmp_path / "data", dovecot),
                            engine_settings=FAST_ENGINE)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


def connect_args(dovecot: DovecotServer, user: ImapUser, port: int | None = None) -> dict[str, Any]:
    """``connect`` arguments for the fixture's implicit-TLS port (or a proxy in front of it)."""
    return {
        "host": dovecot.host,
        "port": dovecot.tls_port if port is None else port,
        "auth": {"type": "plain", "username": user.username, "password": user.password},
    }


def messages(count: int, label: str) -> list[bytes]:
    return [
        (f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {label} {n}\r\n"
         f"Date: Tue, 03 Jun 2014 10:00:00 -0700\r\n\r\nbody {n}\r\n").encode()
        for n in range(count)
    ]


def report(test: str, **figures: Any) -> None:
    """Print the test's figures (and append them to $SWITCHBOARD_FIGURES_FILE if set)."""
    line = json.dumps({"test": test, **figures})
    print(f"FIGURES {line}")
    if FIGURES_FILE:
        with open(FIGURES_FILE, "a") as f:
            f.write(line + "\n")
