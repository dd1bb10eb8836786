"""Backends for the store contract suite: the same tests run on Memory, SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from switchboard.store import MemoryData, MemoryStore, SecretBox, SqliteStore, Store
from switchboard.store.postgres import PostgresStore
from tests.support.postgres import PgDatabase, pg_database, pg_dsn  # noqa: F401 (fixtures)


class FakeClock:
    """Unix time that moves only when a test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Backend:
    """Opens (and reopens) one store kind over the same persistent contents."""

    def __init__(self, kind: str, tmp_path: Path, dsn: str | None = None) -> None:
        self.kind = kind
        self.pg_dsn = dsn
        self.path = tmp_path / "sb.db"
        self.clock = FakeClock()
        self.box = SecretBox.generate()
        self._data = MemoryData()

    async def open(self, box: SecretBox | None = None) -> Store:
        box = box or self.box
        if self.kind == "memory":
            return MemoryStore(box, data=self._data, clock=self.clock)
        if self.kind == "postgres":
            assert self.pg_dsn is not None
            return await PostgresStore.open(self.pg_dsn, box, clock=self.clock)
        return await SqliteStore.open(self.path, box, clock=self.clock)

    def raw_bytes(self) -> bytes:
        """Everything the backend keeps, as bytes (the db file plus its WAL for SQLite)."""
        if self.kind == "memory":
            return repr(self._data).encode()
        if self.kind == "postgres":
            assert self.pg_dsn is not None
            # pg_dump of the test's schema: every row, as the server holds it.
            parts = urlsplit(self.pg_dsn)
            schema = parts.query.split("search_path=", 1)[1]
            url = parts._replace(query="").geturl()
            return subprocess.run(
                ["pg_dump", "--data-only", "--schema", schema, url],
                check=True,
                capture_output=True,
                timeout=30,
            ).stdout
        return b"".join(p.read_bytes() for p in sorted(self.path.parent.glob("sb.db*")))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param != "postgres":
        yield Backend(request.param, tmp_path)
        return
    # Only the PostgreSQL runs need the server (and its session database).
    db: PgDatabase = request.getfixturevalue("pg_database")
    dsn = await db.create_schema()
    yield Backend("postgres", tmp_path, dsn)
    await db.drop_schema(dsn)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    s = await backend.open()
    yield s
    await s.close()
