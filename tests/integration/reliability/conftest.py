"""Shared pieces of the fault-injection tests: a killable server process, mail, figures.

Every test here is bounded in time (pytest-timeout and explicit waits with timeouts) and prints
one ``FIGURES {...}`` line: messages appended, received, duplicates before dedup by ``eventId``,
recovery time. ``docs/reliability.md`` records the last run's lines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.server_process import ServerProcess

# Dovecot announces new mail ~500 ms after it arrives; 200 messages fit well within this.
DELIVERY_TIMEOUT_S = 60.0
FIGURES_FILE = os.environ.get("SWITCHBOARD_FIGURES_FILE")


@pytest.fixture
def server_process(tmp_path: Path, dovecot: DovecotServer) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data", dovecot, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


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
