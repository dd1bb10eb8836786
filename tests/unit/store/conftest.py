"""Backends for the store contract suite: the same tests run on MemoryStore and SqliteStore."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from switchboard.store import MemoryData, MemoryStore, SecretBox, SqliteStore, Store


class FakeClock:
    """Unix time that moves only when a test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Backend:
    """Opens (and reopens) one store kind over the same persistent contents."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.path = tmp_path / "sb.db"
        self.clock = FakeClock()
        self.box = SecretBox.generate()
        self._data = MemoryData()

    async def open(self, box: SecretBox | None = None) -> Store:
        box = box or self.box
        if self.kind == "memory":
            return MemoryStore(box, data=self._data, clock=self.clock)
        return await SqliteStore.open(self.path, box, clock=self.clock)

    def raw_bytes(self) -> bytes:
        """Everything the backend keeps, as bytes (the db file plus its WAL for SQLite)."""
        if self.kind == "memory":
            return repr(self._data).encode()
        return b"".join(p.read_bytes() for p in sorted(self.path.parent.glob("sb.db*")))


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend(request.param, tmp_path)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    s = await backend.open()
    yield s
    await s.close()
