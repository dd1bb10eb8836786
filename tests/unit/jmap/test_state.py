import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.jmap.errors import CannotCalculateChanges, InvalidArguments
from switchboard.jmap.state import (
    Change,
    ChangeKind,
    ChangesPage,
    Cursor,
    StateCodec,
    changes_since,
)

CODEC = StateCodec("k3f9")
C, U, D = ChangeKind.CREATED, ChangeKind.UPDATED, ChangeKind.DESTROYED


def test_codec() -> None:
    assert CODEC.encode(42) == "k3f9:42"
    assert CODEC.encode(Cursor(42, 3)) == "k3f9:42.3"
    assert CODEC.decode("k3f9:42") == Cursor(42)
    assert CODEC.decode("k3f9:42.3") == Cursor(42, 3)
    assert CODEC.decode("k3f9:0") == Cursor(0)
    with pytest.raises(ValueError):  # an epoch never holds ":"
        StateCodec("a:b")
    with pytest.raises(ValueError):
        StateCodec("")
    with pytest.raises(ValueError):
        Cursor(-1)


@pytest.mark.parametrize(
    "state",
    ["", "42", "k3f9:", "k3f9:042", "k3f9:-1", "k3f9:4 2", "k3f9:42.0", "k3f9:42.", "other:42",
     "k3f9:1" + "0" * 30, "k3f9:４２", ":42", "k3f9:42:1"],
)  # fmt: skip
def test_foreign_or_malformed_states_cannot_be_calculated_from(state: str) -> None:
    with pytest.raises(CannotCalculateChanges):
        CODEC.decode(state)


def page(since: str, changes: list[Change], *, oldest: int = 0, current: int = 100,
         max_changes: int | None = None) -> ChangesPage:  # fmt: skip
    return changes_since(CODEC, since, changes, oldest=oldest, current=current,
                         max_changes=max_changes)  # fmt: skip


def test_folding_follows_rfc_8620_section_5_2() -> None:
    changes = [
        Change(11, "a", C),  # created → created
        Change(12, "b", C), Change(13, "b", U),  # created + updated → created
        Change(12, "c", U), Change(14, "c", U),  # updated twice → updated once
        Change(12, "d", U), Change(15, "d", D),  # updated + destroyed → destroyed
        Change(13, "e", C), Change(16, "e", D),  # created + destroyed → left out
        Change(14, "f", D),  # destroyed → destroyed
        Change(9, "old", C),  # before the since-state: ignored
        Change(101, "new", C),  # after the current position: ignored
    ]  # fmt: skip
    result = page("k3f9:10", changes)
    assert result.to_json("A1") == {
        "accountId": "A1",
        "oldState": "k3f9:10",
        "newState": "k3f9:100",
        "hasMoreChanges": False,
        "created": ["a", "b"],
        "updated": ["c"],
        "destroyed": ["d", "f"],
    }


def test_no_changes() -> None:
    result = page("k3f9:100", [])
    assert (result.new_state, result.has_more_changes, result.created) == ("k3f9:100", False, ())


def test_states_that_cannot_be_calculated_from() -> None:
    with pytest.raises(CannotCalculateChanges, match="older"):
        page("k3f9:4", [], oldest=5)
    with pytest.raises(CannotCalculateChanges, match="older"):
        page("k3f9:5.1", [], oldest=5)  # needs the event at 5, which is gone
    page("k3f9:5", [], oldest=5)
    with pytest.raises(CannotCalculateChanges, match="not one this server reached"):
        page("k3f9:101", [])
    with pytest.raises(CannotCalculateChanges):
        page("other:10", [])
    for bad in (0, -1, True):
        with pytest.raises(InvalidArguments):
            page("k3f9:10", [], max_changes=bad)


def test_max_changes_pages_on_event_boundaries() -> None:
    changes = [Change(11, "a", C), Change(12, "b", C), Change(13, "c", C)]
    first = page("k3f9:10", changes, max_changes=2)
    assert (first.created, first.has_more_changes, first.new_state) == (("a", "b"), True, "k3f9:12")
    second = page(first.new_state, changes, max_changes=2)
    assert (second.created, second.has_more_changes, second.new_state) == (
        ("c",), False, "k3f9:100"
    )  # fmt: skip


def test_max_changes_can_stop_inside_one_event() -> None:
    # One event (an expunge of many messages) larger than maxChanges: §5.2 still allows no
    # more than maxChanges ids, so the state lands inside the event.
    changes = [Change(20, f"m{i}", D) for i in range(5)] + [Change(21, "n", C)]
    seen: list[str] = []
    state, pages = "k3f9:19", 0
    while True:
        result = page(state, changes, max_changes=2)
        assert len(result.created) + len(result.updated) + len(result.destroyed) <= 2
        seen += [*result.destroyed, *result.created]
        state, pages = result.new_state, pages + 1
        if not result.has_more_changes:
            break
    assert seen == ["m0", "m1", "m2", "m3", "m4", "n"]
    assert pages == 3
    assert state == "k3f9:100"
    assert page("k3f9:19", changes, max_changes=2).new_state == "k3f9:20.2"


def test_a_cancelled_out_id_does_not_count() -> None:
    # a is created and destroyed (left out), so b still fits in maxChanges 1.
    changes = [Change(11, "a", C), Change(12, "a", D), Change(13, "b", C)]
    result = page("k3f9:10", changes, max_changes=1)
    assert (result.created, result.destroyed, result.has_more_changes) == (("b",), (), False)


@st.composite
def histories(draw: st.DrawFn) -> list[Change]:
    """Realistic lives: created at most once and first, destroyed at most once and last."""
    changes: list[Change] = []
    for object_id in "abcdef"[: draw(st.integers(0, 6))]:
        positions = sorted(draw(st.sets(st.integers(1, 12), min_size=1, max_size=4)))
        existed, destroyed = draw(st.booleans()), draw(st.booleans())
        kinds = [ChangeKind.UPDATED] * len(positions)
        if not existed:
            kinds[0] = C
        if destroyed and (existed or len(positions) > 1):
            kinds[-1] = D
        changes += [Change(p, object_id, k) for p, k in zip(positions, kinds, strict=True)]
    return changes


def _net(changes: list[Change], since: int) -> dict[str, str]:
    """What a client holding the state at `since` must learn: the truth, folded at once."""
    state: dict[str, ChangeKind] = {}
    first: dict[str, ChangeKind] = {}
    for change in sorted(changes, key=lambda c: (c.position, c.object_id, c.kind)):
        if change.position > since:
            first.setdefault(change.object_id, change.kind)
            state[change.object_id] = change.kind
    result = {}
    for object_id, last in state.items():
        if first[object_id] is C:
            if last is not D:
                result[object_id] = "created"
        elif last is D:
            result[object_id] = "destroyed"
        else:
            result[object_id] = "updated"
    return result


@given(histories(), st.integers(1, 4))
@settings(max_examples=300)
def test_paging_with_any_max_changes_ends_where_one_big_page_ends(
    changes: list[Change], max_changes: int
) -> None:
    whole = page("k3f9:0", changes, current=12)
    assert not whole.has_more_changes
    truth = _net(changes, 0)
    assert {i: "created" for i in whole.created} | {i: "updated" for i in whole.updated} | {
        i: "destroyed" for i in whole.destroyed
    } == truth
    # Paged: every page obeys maxChanges, and a client applying the pages one after the
    # other ends up holding exactly the objects that exist.
    ordered = sorted(changes, key=lambda c: (c.position, c.object_id, c.kind))
    first = {c.object_id: c.kind for c in reversed(ordered)}
    last = {c.object_id: c.kind for c in ordered}
    held = {i for i, kind in first.items() if kind is not C}  # existed before the since-state
    state, rounds = "k3f9:0", 0
    while True:
        result = page(state, changes, current=12, max_changes=max_changes)
        assert len(result.created) + len(result.updated) + len(result.destroyed) <= max_changes
        held = (held | set(result.created) | set(result.updated)) - set(result.destroyed)
        state, rounds = result.new_state, rounds + 1
        assert rounds <= len(changes) + 1
        if not result.has_more_changes:
            break
    assert state == "k3f9:12"
    assert held == {i for i, kind in last.items() if kind is not D}
