"""A throwaway PostgreSQL server of a test's own, which the test may stop and start again.

The machine's shared PostgreSQL (``tests.support.postgres``) must never go down under other
tests; an outage test gets its own: ``initdb`` into a temporary directory, ``pg_ctl start``
on a free loopback port, ``pg_ctl stop -m immediate`` for the outage (the server dies as in a
crash: connections drop at once, the next start runs crash recovery), and start again on the
same port. As root the server runs as the ``postgres`` user (``runuser``), as PostgreSQL
refuses to run as root.

Use the fixture :func:`private_postgres` (import it into a ``conftest.py``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT_S = 30

HOW_TO_INSTALL = (
    "initdb/pg_ctl not found under /usr/lib/postgresql/*/bin: the outage tests run a "
    "PostgreSQL of their own; install it with `apt-get install -y postgresql`"
)


def _bin_dir() -> Path | None:
    def version(initdb: str) -> int:
        name = Path(initdb).parent.parent.name  # /usr/lib/postgresql/<version>/bin/initdb
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePostgres:
    """One PostgreSQL server in ``directory``, on 127.0.0.1:``port``, trust auth for postgres."""

    def __init__(self, directory: Path, bin_dir: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.bin_dir = bin_dir
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0

    @property
    def dsn(self) -> str:
        """The ``postgres`` database as the ``postgres`` user."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=START_TIMEOUT_S * 2, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()}\n{self.log_tail()}"
            )

    def init(self) -> None:
        """Create the cluster (``initdb``)."""
        if self._as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
            "-E", "UTF8",
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            # fsync=off only skips flushing to disk: a crash of PostgreSQL alone (not of the
            # machine) loses nothing committed. synchronous_commit must stay on for that.
            " -c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
            "-t", str(START_TIMEOUT_S), "start",
        )

    def crash(self) -> None:
        """Stop the server at once (``-m immediate``): every connection drops, as in a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        """Stop the server if it runs (fast shutdown)."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no postgres.log)"


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running PostgreSQL of this test's own; fails (not skips) when PostgreSQL is missing."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.fail(HOW_TO_INSTALL, pytrace=False)
    directory = Path(tempfile.mkdtemp(prefix="sb-private-pg-"))
    directory.chmod(0o755)
    server = PrivatePostgres(directory, bin_dir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)
