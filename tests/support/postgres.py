"""PostgreSQL for tests: one fresh database per test run, one fresh schema per test.

The server is the machine's PostgreSQL on 127.0.0.1:5432 with trust auth for ``postgres``
(``SWITCHBOARD_TEST_PG`` overrides the admin DSN). The session fixture :func:`pg_database`
checks the server answers — and fails with a message saying how to start it when it does not —
creates ``sbtest_<random>`` and drops it at the end. :func:`pg_dsn` gives each test a DSN whose
``search_path`` is a schema of its own, so tests never see each other's tables.

Import the fixtures into a ``conftest.py`` to use them::

    from tests.support.postgres import pg_database, pg_dsn  # noqa: F401
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

ADMIN_DSN = os.environ.get("SWITCHBOARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
CONNECT_TIMEOUT_S = 5.0

HOW_TO_START = (
    "PostgreSQL is not reachable at {dsn} ({error}). The cluster tests need it: start it with "
    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or install it "
    "with `apt-get install -y postgresql` (trust auth for local TCP connections as postgres), "
    "or point SWITCHBOARD_TEST_PG at another server."
)


def with_database(dsn: str, database: str, **params: str) -> str:
    """Return ``dsn`` naming ``database`` instead, with extra query parameters."""
    parts = urlsplit(dsn)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", query, ""))


def _in_thread(coro_fn: Any, *args: Any) -> Any:
    # A private loop on a private thread: session setup must not touch the tests' loops.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn(*args))).result()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN, timeout=CONNECT_TIMEOUT_S)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def check_reachable() -> None:
    """Fail the test run with instructions when the server does not answer."""
    try:
        _in_thread(_admin, "SELECT 1")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        pytest.fail(HOW_TO_START.format(dsn=ADMIN_DSN, error=exc), pytrace=False)


@dataclass(frozen=True, slots=True)
class PgDatabase:
    """A throwaway database on the test server."""

    name: str
    dsn: str

    def schema_dsn(self, schema: str) -> str:
        """A DSN whose tables live in ``schema`` (which must exist)."""
        return with_database(self.dsn, self.name, search_path=schema)

    async def create_schema(self) -> str:
        """Create a fresh schema; return a DSN that uses it."""
        schema = f"s_{secrets.token_hex(6)}"
        conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT_S)
        try:
            await conn.execute(f"CREATE SCHEMA {schema}")
        finally:
            await conn.close()
        return self.schema_dsn(schema)

    async def drop_schema(self, dsn: str) -> None:
        """Drop the schema a :meth:`create_schema` DSN uses, with everything in it."""
        schema = urlsplit(dsn).query.split("search_path=", 1)[1]
        conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT_S)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabase]:
    """A database created for this test run (random name), dropped at the end."""
    check_reachable()
    name = f"sbtest_{secrets.token_hex(6)}"
    _in_thread(_admin, f"CREATE DATABASE {name}")
    try:
        yield PgDatabase(name, with_database(ADMIN_DSN, name))
    finally:
        # WITH (FORCE): a test that failed may have left a connection open.
        _in_thread(_admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def pg_dsn(pg_database: PgDatabase) -> AsyncIterator[str]:
    """A DSN for a schema of this test's own, dropped after it."""
    dsn = await pg_database.create_schema()
    yield dsn
    await pg_database.drop_schema(dsn)
