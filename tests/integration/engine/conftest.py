"""The ``engine`` fixture of the engine's integration tests: an :class:`Engine` with the quick
settings of tests/support/engine.py, in-memory checkpoints and a collecting sink, stopped after
the test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchboard.engine import Engine
from tests.support.checkpoints import CollectingSink, MemoryCheckpoints
from tests.support.engine import SETTINGS


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    engine = Engine(MemoryCheckpoints(), CollectingSink(), settings=SETTINGS)
    try:
        yield engine
    finally:
        await engine.stop()
