"""The /query window (RFC 8620 §5.5)."""

from __future__ import annotations

import pytest

from switchboard.jmap.errors import AnchorNotFound
from switchboard.jmap.paging import QueryWindow, query_window

IDS = ("a", "b", "c", "d", "e")


def window(**changes: object) -> QueryWindow:
    args: dict[str, object] = {"position": 0, "anchor": None, "anchor_offset": 0,
                               "limit": None, "max_limit": 100}  # fmt: skip
    args.update(changes)
    return query_window(IDS, **args)  # type: ignore[arg-type]


def test_position_and_limit() -> None:
    assert window() == QueryWindow(IDS, 0, 100)
    assert window(position=1, limit=2) == QueryWindow(("b", "c"), 1, None)
    assert window(position=-2) == QueryWindow(("d", "e"), 3, 100)
    assert window(position=-9, limit=1) == QueryWindow(("a",), 0, None)
    assert window(position=7, limit=1) == QueryWindow((), 5, None)
    assert window(limit=9, max_limit=2) == QueryWindow(("a", "b"), 0, 2)


def test_anchor_overrides_position() -> None:
    assert window(anchor="c", position=4, limit=2) == QueryWindow(("c", "d"), 2, None)
    assert window(anchor="c", anchor_offset=-5, limit=1) == QueryWindow(("a",), 0, None)
    assert window(anchor="e", anchor_offset=3, limit=1) == QueryWindow((), 5, None)
    with pytest.raises(AnchorNotFound):
        window(anchor="z")
