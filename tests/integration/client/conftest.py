from collections.abc import Iterator

import pytest

from tests.support.ws_peer import WsPeer


@pytest.fixture
def peer() -> Iterator[WsPeer]:
    with WsPeer() as running:
        yield running
