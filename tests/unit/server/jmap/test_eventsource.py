"""Tests for server.jmap.eventsource: the first event, changes, types, closeafter and ping."""

from __future__ import annotations

import asyncio
import json

import pytest

from switchboard.jmap.ids import account_id, email_id, mailbox_id
from switchboard.jmap.journal import Edit
from switchboard.jmap.push import EventSourceParams
from switchboard.jmap.state import ChangeKind, StateCodec
from switchboard.model.events import NewMessage, StoredEvent
from switchboard.server.jmap.callers import JmapCaller
from switchboard.server.jmap.eventsource import EventStream
from switchboard.server.jmap.states import LogStates
from switchboard.server.jmap.streams import OpenStreams

ME, OTHER = "me@example.com", "other@example.com"


def fields(frame: bytes) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in frame.decode("ascii").strip().split("\n"))


def stream(params: EventSourceParams, states: LogStates, last: str | None = None) -> EventStream:
    caller = JmapCaller(ME, account=ME)
    return EventStream(params, caller, lambda: {account_id(ME): ME}, states, last)


def publish(states: LogStates, event_id: int, account: str) -> None:
    states.on_events([StoredEvent(event_id, NewMessage(account, "INBOX", 1, event_id), 1.0)])


async def test_the_current_state_first_then_only_the_callers_changes() -> None:
    states = LogStates(StateCodec("ep"))
    events = stream(EventSourceParams(frozenset({"Email"}), False, 0), states)
    first = fields(await anext(events))
    assert first["event"] == "state" and first["id"] == "ep:0"
    assert json.loads(first["data"]) == {
        "@type": "StateChange", "changed": {account_id(ME): {"Email": "ep:0"}},
    }
    publish(states, 6, OTHER)  # not the caller's: nothing
    publish(states, 7, ME)
    second = fields(await asyncio.wait_for(anext(events), 1))
    assert second["id"] == "ep:2"
    assert json.loads(second["data"])["changed"] == {account_id(ME): {"Email": "ep:2"}}
    await events.aclose()
    publish(states, 8, ME)  # no listener left


async def test_closeafter_state_ends_after_one_event_and_long_polls_from_its_id() -> None:
    states = LogStates(StateCodec("ep"))
    params = EventSourceParams(None, True, 0)
    events = stream(params, states)
    assert fields(await anext(events))["id"] == "ep:0"
    assert [frame async for frame in events] == []
    waiting = stream(params, states, last="ep:0")
    pending = asyncio.ensure_future(anext(waiting))
    await asyncio.sleep(0)  # the stream is now waiting for a change
    assert not pending.done()
    publish(states, 9, ME)
    assert fields(await asyncio.wait_for(pending, 1))["id"] == "ep:1"


async def test_ping_after_the_interval() -> None:
    states = LogStates(StateCodec("ep"))
    # A fraction of a second, which the query parser never gives, keeps the test short.
    events = stream(EventSourceParams(None, False, 0.05), states)  # type: ignore[arg-type]
    await anext(events)
    ping = fields(await asyncio.wait_for(anext(events), 2))
    assert ping["event"] == "ping" and "id" not in ping


async def test_only_the_types_that_changed_are_sent() -> None:
    states = LogStates(StateCodec("ep"))
    events = stream(EventSourceParams(None, False, 0), states)
    first = json.loads(fields(await anext(events))["data"])["changed"][account_id(ME)]
    assert set(first) == {"Mailbox", "Email", "Thread", "EmailDelivery"}
    publish(states, 1, ME)  # new mail: every type, EmailDelivery included
    mail = json.loads(fields(await asyncio.wait_for(anext(events), 1))["data"])
    assert set(mail["changed"][account_id(ME)]) == {"Mailbox", "Email", "Thread", "EmailDelivery"}
    email = email_id("INBOX", 1, 1)
    states.record(ME, [Edit("Email", email, ChangeKind.UPDATED),
                       Edit("Mailbox", mailbox_id("INBOX", 1), ChangeKind.UPDATED)])  # fmt: skip
    flag = json.loads(fields(await asyncio.wait_for(anext(events), 1))["data"])
    assert flag["changed"] == {account_id(ME): {"Email": "ep:2", "Mailbox": "ep:2"}}
    await events.aclose()


async def test_close_ends_a_waiting_stream_and_leaves_the_open_streams() -> None:
    states, streams = LogStates(StateCodec("ep")), OpenStreams()
    caller = JmapCaller(ME, account=ME, token_id="t1")
    events = EventStream(EventSourceParams(None, False, 0), caller,
                         lambda: {account_id(ME): ME}, states, None, streams)  # fmt: skip
    assert list(streams) == [events] and streams.counts() == {"websocket": 0, "eventsource": 1}
    assert events.principal.token_id == "t1" and events.is_open
    await anext(events)
    waiting = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0)
    assert not waiting.done()
    events.close(1008, "token revoked")  # the revocation watch
    assert not events.is_open
    with pytest.raises(StopAsyncIteration):  # the response body ends
        await asyncio.wait_for(waiting, 1)
    assert list(streams) == []
    publish(states, 5, ME)  # no listener left
