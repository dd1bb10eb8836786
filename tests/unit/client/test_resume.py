"""Backoff, the event cursor and the watch log: the sans-I/O half of reconnect and resume."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.client.resume import Backoff, EventCursor, WatchLog, with_since
from switchboard.protocol.messages import Command, Response
from switchboard.protocol.wirejson import JsonValue


def record(log: WatchLog, cmds: list[tuple[str, JsonValue]], names: list[str]) -> None:
    """Record ``cmds`` as answered by responses with ``names`` (``"error"`` for a failure)."""
    log.record([Command(m, a, i) for i, (m, a) in enumerate(cmds)],
               [Response(n, {}, i) for i, n in enumerate(names)])


class TestBackoff:
    def test_grows_exponentially_to_the_cap(self) -> None:
        backoff = Backoff(first_s=0.1, max_s=1.0, factor=2.0, min_s=0.0)
        ceilings = [backoff.delay_s(n, lambda: 1.0) for n in range(6)]
        assert ceilings == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
        assert backoff.delay_s(10_000, lambda: 1.0) == 1.0  # no overflow

    def test_full_jitter_between_floor_and_ceiling(self) -> None:
        backoff = Backoff(first_s=1.0, max_s=8.0, min_s=0.5)
        assert backoff.delay_s(3, lambda: 0.0) == 0.5
        assert backoff.delay_s(3, lambda: 0.5) == pytest.approx(0.5 + 7.5 / 2)

    @pytest.mark.parametrize(
        "kwargs", [{"min_s": 2.0, "first_s": 1.0}, {"factor": 0.5}, {"first_s": 5.0, "max_s": 1.0}]
    )
    def test_inconsistent_settings_are_refused(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(ValueError):
            Backoff(**kwargs)


class TestEventCursor:
    def test_position_moves_with_acks_in_order(self) -> None:
        cursor = EventCursor()
        assert cursor.position is None
        assert cursor.hand_out(1) and cursor.hand_out(2)
        assert cursor.ack(1) and cursor.position == 1
        assert cursor.ack(2) and cursor.position == 2
        assert not cursor.hand_out(2)  # already processed: never handed out twice

    def test_a_failed_handler_holds_the_position_below_it(self) -> None:
        cursor = EventCursor(since=10)
        for event_id in (11, 12, 13):
            cursor.hand_out(event_id)
        cursor.ack(11)
        cursor.ack(13)  # 12's handler raised: no ack
        assert cursor.position == 11
        assert cursor.outstanding == {12}
        # A resumed stream (since=11) sends 12 and 13 again: only 12 is handed out.
        assert cursor.hand_out(12) and not cursor.hand_out(13)
        assert cursor.ack(12) and cursor.position == 13

    def test_since_marks_older_events_done(self) -> None:
        cursor = EventCursor(since=5)
        assert not cursor.hand_out(5) and cursor.hand_out(6)
        assert cursor.is_done(4)

    def test_ack_without_hand_out_and_twice(self) -> None:
        cursor = EventCursor()
        assert cursor.ack(4) and cursor.position == 4
        assert not cursor.ack(4)

    def test_tracking_is_bounded_by_giving_up_the_oldest_stuck_event(self) -> None:
        cursor = EventCursor(since=0, max_tracked_events=3)
        cursor.hand_out(1)  # never acknowledged
        for event_id in range(2, 6):
            cursor.hand_out(event_id)
            cursor.ack(event_id)
        assert cursor.outstanding == frozenset()
        assert cursor.position == 5

    @given(st.permutations(list(range(1, 30))), st.sets(st.integers(1, 29)))
    def test_position_is_the_highest_id_with_everything_below_acked(
        self, order: list[int], failed: set[int]
    ) -> None:
        cursor = EventCursor(since=0)
        for event_id in order:
            cursor.hand_out(event_id)
        for event_id in order:
            if event_id not in failed:
                cursor.ack(event_id)
        expected = min(failed) - 1 if failed else 29
        assert cursor.position == expected


class TestWatchLog:
    def test_replays_set_up_commands_with_since(self) -> None:
        log = WatchLog()
        connect: dict[str, JsonValue] = {"host": "h", "port": 993, "auth": {"type": "plain"}}
        record(log, [
            ("connect", connect),
            ("watchMailboxes", {"account": "a", "list": ["INBOX"], "since": 3}),
            ("getMailboxes", {"account": "a"}),
            ("watchAll", {}),
        ], ["connected", "watchingMailboxes", "mailboxes", "error"])
        assert log.replay(9) == [
            ("connect", connect),
            ("watchMailboxes", {"account": "a", "list": ["INBOX"], "since": 9}),
        ]
        assert log.replay(None)[1] == ("watchMailboxes", {"account": "a", "list": ["INBOX"]})
        assert log.group is None

    def test_the_same_watch_is_kept_once_and_groups_rejoin_without_since(self) -> None:
        log = WatchLog()
        for since in (1, 2):
            record(log, [("watchAll", {"group": "g", "since": since})], ["watchingAll"])
        assert log.commands == [("watchAll", {"group": "g"})]
        assert log.replay(5) == [("watchAll", {"group": "g"})]
        assert log.group == "g"

    def test_many_accounts_are_each_kept_once_whatever_the_key_order(self) -> None:
        log = WatchLog()
        for i in range(2000):
            auth: JsonValue = {"type": "plain", "username": f"u{i}", "password": "p"}
            record(log, [
                ("connect", {"host": "h", "port": 993, "auth": auth}),
                ("watchMailboxes", {"account": f"u{i}", "list": ["INBOX"]}),
            ], ["connected", "watchingMailboxes"])
        record(log, [("connect", {
            "auth": {"password": "p", "username": "u7", "type": "plain"}, "port": 993,
            "host": "h"})], ["connected"])
        record(log, [("watchAll", {"group": "g"}), ("watchAll", {"group": "other"})],
               ["watchingAll", "watchingAll"])
        assert len(log.commands) == 4002
        assert log.commands[14] == ("connect", {
            "host": "h", "port": 993, "auth": {"type": "plain", "username": "u7", "password": "p"}})
        assert log.group == "g"  # the first group a watch joined

    def test_with_since_leaves_non_objects_alone(self) -> None:
        assert with_since([], 3) == []
        assert with_since({"list": []}, None) == {"list": []}
        assert with_since({"group": "g"}, 3) == {"group": "g"}


def test_sparse_cursor_counts_only_its_own_acks() -> None:
    cursor = EventCursor(max_tracked_events=2)
    cursor.sparse = True  # a group member: ids 2 and 3 went to other members
    assert cursor.hand_out(1) and cursor.hand_out(4)
    cursor.ack(1)
    cursor.ack(4)
    assert cursor.position == 4
    assert cursor.hand_out(2)  # redelivered from a member that died: new to us
    assert not cursor.hand_out(4)  # ours, acknowledged: not handed out again
    cursor.ack(2)
    assert cursor.hand_out(1)  # forgotten: only max_tracked_events ids are kept
