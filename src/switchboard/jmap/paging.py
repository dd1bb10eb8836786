"""The window of a /query result: ``position``, ``anchor``, ``anchorOffset``, ``limit``.

RFC 8620 §5.5.

Pure. :func:`query_window` takes the full, sorted id list and the standard arguments and
returns the slice to send and the position it starts at, as §5.5 describes:

* a negative ``position`` counts from the end (clamped to 0); one past the end gives ``[]``;
* an ``anchor`` overrides ``position``: the window starts ``anchorOffset`` ids from it (clamped
  to 0), and an anchor not in the results is ``anchorNotFound``;
* ``limit`` ``None`` means "all", capped by the server's own ``max_limit``: when the cap
  applies, ``limit`` in the answer says so (§5.5: "the server MUST return the limit it used").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from switchboard.jmap.errors import AnchorNotFound

__all__ = ["QueryWindow", "query_window"]


@dataclass(frozen=True, slots=True)
class QueryWindow:
    """The ids to send, the position of the first, and the limit used if the server capped it."""

    ids: tuple[str, ...]
    position: int
    capped_limit: int | None


def query_window(
    ids: Sequence[str],
    *,
    position: int,
    anchor: str | None,
    anchor_offset: int,
    limit: int | None,
    max_limit: int,
) -> QueryWindow:
    """The window of ``ids`` the arguments ask for.

    Raises:
        AnchorNotFound: ``anchor`` is not one of ``ids``.
    """
    total = len(ids)
    if anchor is not None:
        try:
            index = ids.index(anchor)
        except ValueError:
            raise AnchorNotFound("the anchor is not in the results") from None
        start = max(0, index + anchor_offset)
    elif position < 0:
        start = max(0, total + position)
    else:
        start = position
    capped: int | None = None
    count = limit
    if count is None or count > max_limit:
        count = max_limit
        capped = max_limit
    start = min(start, total)
    return QueryWindow(tuple(ids[start : start + count]), start, capped)
