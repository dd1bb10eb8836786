import json

import pytest

from switchboard.jmap.push import (
    EVENT_STREAM_CONTENT_TYPE,
    EventSourceParams,
    EventSourceQueryError,
    StateChange,
    parse_event_source_query,
    parse_last_event_id,
    ping_event,
    state_event,
)

# RFC 8620 §7.1's example.
RFC_CHANGE = {
    "@type": "StateChange",
    "changed": {
        "a3123": {"Email": "d35ecb040aab", "EmailDelivery": "428d565f2440",
                  "CalendarEvent": "87accfac587a"},
        "a43461d": {"Mailbox": "0af7a512ce70", "CalendarEvent": "7a4297cecd76"},
    },
}  # fmt: skip


def test_state_change_round_trip() -> None:
    change = StateChange.from_json(RFC_CHANGE)  # type: ignore[arg-type]
    assert change.to_json() == RFC_CHANGE
    with_push = StateChange(change.changed, push_state="bbb").to_json()
    assert with_push["pushState"] == "bbb"
    for bad in ({}, {"@type": "Request"}, {"@type": "StateChange"},
                {"@type": "StateChange", "changed": {"a": {"Email": 1}}},
                {"@type": "StateChange", "changed": {"a": []}},
                {"@type": "StateChange", "changed": {}, "pushState": 1}):  # fmt: skip
        with pytest.raises(ValueError):
            StateChange.from_json(bad)  # type: ignore[arg-type]


def test_filtering_by_type() -> None:
    change = StateChange.from_json(RFC_CHANGE)  # type: ignore[arg-type]
    assert change.only(None) is change
    mail = change.only(frozenset({"Email", "Mailbox"}))
    assert mail is not None
    assert mail.changed == {
        "a3123": {"Email": "d35ecb040aab"},
        "a43461d": {"Mailbox": "0af7a512ce70"},
    }
    assert change.only(frozenset({"Thread"})) is None
    assert StateChange({}).only(None) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("types=*&closeafter=no&ping=0", EventSourceParams(None, False, 0)),
        # What jmapc sends by default and what jmap-jam sends for a list of types.
        ("types=Email,Mailbox&closeafter=state&ping=60",
         EventSourceParams(frozenset({"Email", "Mailbox"}), True, 60)),
        ("", EventSourceParams(None, False, 0)),
        ("ping=1", EventSourceParams(None, False, 10)),  # clamped up
        ("ping=100000", EventSourceParams(None, False, 300)),  # clamped down
        ("types=Email&other=1", EventSourceParams(frozenset({"Email"}), False, 0)),
        ("types=%2A", EventSourceParams(None, False, 0)),  # percent-encoded *
    ],
)  # fmt: skip
def test_event_source_query(query: str, expected: EventSourceParams) -> None:
    assert parse_event_source_query(query) == expected


@pytest.mark.parametrize(
    "query",
    ["types=", "types=Email,,Mailbox", "types=E mail", "types=1Email", "closeafter=yes",
     "closeafter=", "ping=-1", "ping=abc", "ping=01", "ping=1.5", "ping=9999999999",
     "ping=1&ping=2", "&".join(f"x{i}=1" for i in range(17))],
)  # fmt: skip
def test_bad_event_source_queries(query: str) -> None:
    with pytest.raises(EventSourceQueryError) as info:
        parse_event_source_query(query)
    problem = info.value.problem()
    assert problem["status"] == 400 and problem["type"] == "about:blank"


def test_ping_clamping_bounds_are_configurable() -> None:
    assert parse_event_source_query("ping=5", min_ping_s=1, max_ping_s=30).ping_s == 5
    assert parse_event_source_query("ping=0", min_ping_s=1).ping_s == 0


def parse_sse(stream: bytes) -> list[dict[str, str]]:
    """A minimal reader following the WHATWG event-stream rules, for checking frames."""
    events = []
    for block in stream.decode("latin-1").split("\n\n")[:-1]:
        event: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            event[name] = event[name] + "\n" + value if name in event else value
        events.append(event)
    return events


def test_state_event_framing() -> None:
    change = StateChange({"a1": {"Email": "k:42"}}, push_state="ignored on EventSource")
    frame = state_event(change, "k:42")
    assert frame == (
        b'event: state\nid: k:42\ndata: {"@type":"StateChange","changed":{"a1":{"Email":"k:42"}}}'
        b"\n\n"
    )
    [event] = parse_sse(frame)
    assert event["event"] == "state" and event["id"] == "k:42"
    data = json.loads(event["data"])
    assert data == {"@type": "StateChange", "changed": {"a1": {"Email": "k:42"}}}
    # Non-ASCII is escaped: the stream is readable even when decoded as Latin-1.
    frame = state_event(StateChange({"é": {"Email": "1"}}))
    assert frame.isascii() and b"id:" not in frame
    with pytest.raises(ValueError):
        state_event(change, "bad\nid")


def test_ping_event_has_interval_and_no_id() -> None:
    # RFC 8620 §7.3: the data is {"interval": n}; a ping MUST NOT set a new event id.
    [event] = parse_sse(ping_event(300))
    assert event == {"event": "ping", "data": '{"interval":300}'}


def test_last_event_id_and_content_type() -> None:
    assert parse_last_event_id(None) is None
    assert parse_last_event_id("  ") is None
    assert parse_last_event_id(" k:42 ") == "k:42"
    assert "charset=utf-8" in EVENT_STREAM_CONTENT_TYPE
