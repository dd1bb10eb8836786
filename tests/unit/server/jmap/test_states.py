"""Tests for server.jmap.states: positions from stored events, the floor, listeners, the epoch."""

from __future__ import annotations

from collections.abc import Mapping

from switchboard.jmap.state import StateCodec
from switchboard.model.events import NewMessage, StoredEvent
from switchboard.server.jmap.states import LogStates, epoch_for_key


def stored(event_id: int, account: str) -> StoredEvent:
    return StoredEvent(event_id, NewMessage(account, "INBOX", 7, event_id), 1.0)


def test_positions_start_at_the_floor_and_follow_each_accounts_events() -> None:
    states = LogStates(StateCodec("ep"), floor=10)
    assert states.state("a", "Email") == "ep:10"
    seen: list[Mapping[str, int]] = []
    stop = states.listen(seen.append)
    states.on_events([stored(11, "a"), stored(12, "b"), stored(13, "a")])
    assert seen == [{"a": 13, "b": 12}]
    assert states.state("a", "Mailbox") == states.state("a", "Email") == "ep:13"
    assert states.position("c") == 10
    assert states.push_state(["a", "b", "c"]) == "ep:13"
    assert states.push_state([]) == "ep:10"
    stop()
    states.on_events([stored(14, "b")])
    assert len(seen) == 1 and states.position("b") == 14


def test_events_at_or_below_the_floor_announce_nothing() -> None:
    states = LogStates(StateCodec("ep"), floor=10)
    seen: list[Mapping[str, int]] = []
    states.listen(seen.append)
    states.on_events([stored(9, "a")])
    assert seen == [] and states.position("a") == 10


def test_the_epoch_is_a_function_of_the_key() -> None:
    one, two = epoch_for_key(b"k" * 32), epoch_for_key(b"j" * 32)
    assert one == epoch_for_key(b"k" * 32) and one != two
    assert len(one) == 8 and one.isalnum() and one.islower()
    StateCodec(one)  # a valid epoch
