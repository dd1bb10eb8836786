"""The client session as conversations: frames in, events and frames out; no I/O anywhere.

Each conversation is a table of steps run against one fresh ``ClientSession[str]`` whose handles
are plain strings, so a step can say which group a reply settled or a close rejected. Timeouts
are injected as ``Expire`` steps, connections as ``Made`` and ``Lost``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.client.errors import ConnectionClosed, InvalidState, TooManyPending
from switchboard.client.session import (
    TRANSITIONS,
    ClientSession,
    Dropped,
    HandOut,
    Push,
    Pushes,
    Reply,
    SessionState,
    Unmatched,
    is_gap,
)
from switchboard.protocol.replies import NewMessagePush, PushSummary
from switchboard.protocol.wirejson import JsonValue

CONNECT = {"host": "imap.example.com", "port": 993,
           "auth": {"type": "plain", "username": "leo", "password": "pw"}}
INBOX = {"account": "leo", "list": ["INBOX"]}


def push(event_id: int | None, **extra: JsonValue) -> str:
    args: dict[str, JsonValue] = {"mailboxId": "INBOX!1", "messageId": f"INBOX!1?{event_id}",
                                  "account": "leo"}
    if event_id is not None:
        args["eventId"] = event_id
    return json.dumps([["newMessage", {**args, **extra}]])


# -- steps -----------------------------------------------------------------------------------


@dataclass
class Made:
    """A connection opened; ``resume`` is the frame the session wants sent first (as JSON)."""

    resume: JsonValue = None
    handle: str = "resume"


@dataclass
class Send:
    """``session.send(cmds, handle)`` gives ``frame`` (as JSON; ``None``: nothing to send)."""

    handle: str
    cmds: list[tuple[str, JsonValue]]
    frame: JsonValue


@dataclass
class SendFails:
    cmds: list[object]
    error: type[Exception]


@dataclass
class Receive:
    """A frame arrives; ``kind`` and ``detail`` say what it must mean (see ``check_event``)."""

    frame: str | bytes
    kind: type
    detail: object = None


@dataclass
class HandOutStep:
    """The pushes of ``frame`` are offered to user code."""

    frame: str
    expect: HandOut


@dataclass
class Ack:
    """User code acked ``ids``; ``frame`` is the ack frame to send (as JSON) or ``None``."""

    ids: list[int]
    frame: JsonValue
    handle: str = "ack"


@dataclass
class Reack:
    ids: list[int]
    frame: JsonValue


@dataclass
class Expire:
    """A timeout fired for the group with ``tags``; ``handle`` is what it gives back."""

    tags: tuple[int, ...]
    handle: str | None


@dataclass
class Lost:
    """The connection ended; ``rejected`` are the handles of the pending groups, in order."""

    code: int | None
    final: bool
    rejected: list[str] = field(default_factory=list)


@dataclass
class State:
    state: SessionState
    last_event_id: int | None = None
    group: str | None = None


Step = Made | Send | SendFails | Receive | HandOutStep | Ack | Reack | Expire | Lost | State


def check_event(event: object, kind: type, detail: object) -> None:
    assert isinstance(event, kind), event
    if isinstance(event, Reply):
        handle, responses = detail  # type: ignore[misc]
        assert event.group.handle == handle
        assert event.to_json() == responses
    elif isinstance(event, Pushes):
        assert event.to_json() == detail
    elif isinstance(event, Unmatched | Dropped):
        assert isinstance(detail, str) and detail in event.reason
    if isinstance(event, Unmatched):  # a late reply is told apart from a stray frame
        assert event.late == ("late" in str(detail))


def run(steps: list[Step], **options: int) -> ClientSession[str]:
    session: ClientSession[str] = ClientSession(**options)  # type: ignore[arg-type]
    for number, step in enumerate(steps):
        where = f"step {number}: {step}"
        if isinstance(step, Made):
            out = session.connection_made(lambda handle=step.handle: handle)
            got = None if out is None else json.loads(out.text or "null")
            assert got == step.resume, where
        elif isinstance(step, Send):
            out = session.send(step.cmds, step.handle)
            assert (None if out.text is None else json.loads(out.text)) == step.frame, where
        elif isinstance(step, SendFails):
            with pytest.raises(step.error):
                session.send(step.cmds, "failed")  # type: ignore[arg-type]
        elif isinstance(step, Receive):
            check_event(session.receive(step.frame), step.kind, step.detail)
        elif isinstance(step, HandOutStep):
            event = session.receive(step.frame)
            assert isinstance(event, Pushes), where
            assert session.hand_out(event.pushes) == step.expect, where
        elif isinstance(step, Ack | Reack):
            method = session.ack if isinstance(step, Ack) else session.reack
            out = method(step.ids, lambda: "ack")
            got = None if out is None or out.text is None else json.loads(out.text)
            assert got == step.frame, where
        elif isinstance(step, Expire):
            group = session.expire(step.tags)
            assert (None if group is None else group.handle) == step.handle, where
        elif isinstance(step, Lost):
            groups = session.connection_lost(step.code, "bye", final=step.final)
            assert [g.handle for g in groups] == step.rejected, where
        else:
            assert (session.state, session.last_event_id, session.group) == (
                step.state, step.last_event_id, step.group), where
    return session


CONVERSATIONS: dict[str, list[Step]] = {
    "tags count from 0, one frame per group, replies settle their group": [
        Made(),
        Send("a", [("connect", CONNECT), ("watchAll", {})],
             [["connect", CONNECT, 0], ["watchAll", {}, 1]]),
        Send("b", [("getMailboxes", {"account": "leo"})],
             [["getMailboxes", {"account": "leo"}, 2]]),
        Receive('[["mailboxes",{"state":1,"list":[]},2]]', Reply,
                ("b", [["mailboxes", {"state": 1, "list": []}, 2]])),
        Receive('[["connected",{},0],["watchingAll",{},1]]', Reply,
                ("a", [["connected", {}, 0], ["watchingAll", {}, 1]])),
        Receive('[["mailboxes",{},2]]', Unmatched, "no pending"),  # settled: forgotten
    ],
    "an empty group sends nothing and uses no tag": [
        Made(),
        Send("empty", [], None),
        Send("a", [("watchAll", {})], [["watchAll", {}, 0]]),
    ],
    "non-ASCII is sent as raw UTF-8 and big integers stay exact": [
        Made(),
        Send("a", [("watchMailboxes", {"list": ["Café"]})],
             [["watchMailboxes", {"list": ["Café"]}, 0]]),
        Receive('[["watchingMailboxes",{"state":9994537339654418401471858898878876255421381384},0]]',
                Reply, ("a", [["watchingMailboxes",
                               {"state": 9994537339654418401471858898878876255421381384}, 0]])),
    ],
    "a timeout forgets the group; its late reply matches nothing, and is known as late once": [
        Made(),
        Send("slow", [("getMessages", {"ids": []})], [["getMessages", {"ids": []}, 0]]),
        Expire((0,), "slow"),
        Expire((0,), None),
        Receive('[["messages",{"list":[]},0]]', Unmatched, "a late reply"),
        Receive('[["messages",{"list":[]},0]]', Unmatched, "no pending"),
    ],
    "tags must be echoed whole and in order": [
        Made(),
        Send("a", [("a", {}), ("b", {})], [["a", {}, 0], ["b", {}, 1]]),
        Receive('[["a",{},0]]', Unmatched, "no pending"),
        Receive('[["b",{},1],["a",{},0]]', Unmatched, "no pending"),
        Receive('[["x",{},true],["y",{},1]]', Unmatched, "never sends"),  # True == 1 in Python
        Receive('[["x",{},0.0],["y",{},1.0]]', Unmatched, "never sends"),
        Receive('[["x",{},"0"],["y",{},null]]', Unmatched, "never sends"),
        Receive('[["a",{},0],["b",{}]]', Unmatched, "mixed"),
        Receive('[["a",{},0],["b",{},1]]', Reply, ("a", [["a", {}, 0], ["b", {}, 1]])),
    ],
    "unusable frames are dropped, untagged ones are pushes": [
        Made(),
        Receive("this is not json", Dropped, "not JSON"),
        Receive(b"\x00\x01", Dropped, "binary"),
        Receive('{"a":1}', Dropped, "not a JSON array"),
        Receive("[]", Dropped, "empty"),
        Receive("[1,2]", Dropped, "responses"),
        Receive('[["x"]]', Dropped, "responses"),
        Receive('[[1,{}]]', Dropped, "responses"),
        Receive('[["x",{},1,2]]', Dropped, "responses"),
        Receive("[NaN]", Dropped, "not JSON"),
        Receive('[["error",{"type":"invalidJson","method":null,"arguments":null}]]', Pushes,
                [["error", {"type": "invalidJson", "method": None, "arguments": None}]]),
    ],
    "closing rejects every pending group and later sends": [
        Made(),
        Send("a", [("watchAll", {})], [["watchAll", {}, 0]]),
        Send("b", [("getMailboxes", {})], [["getMailboxes", {}, 1]]),
        Expire((0,), "a"),
        Lost(1006, final=True, rejected=["b"]),
        State(SessionState.CLOSED),
        SendFails([("watchAll", {})], ConnectionClosed),
        Lost(1000, final=True, rejected=[]),
    ],
    "nothing can be sent before the first connection": [
        SendFails([("watchAll", {})], ConnectionClosed),
        State(SessionState.CONNECTING),
        Made(),
        State(SessionState.OPEN),
    ],
    "reconnecting resends what succeeded, watches after the last acked event": [
        Made(),
        Send("setup", [("connect", CONNECT), ("watchMailboxes", INBOX), ("getMailboxes", {})],
             [["connect", CONNECT, 0], ["watchMailboxes", INBOX, 1], ["getMailboxes", {}, 2]]),
        Send("bad", [("watchAll", {})], [["watchAll", {}, 3]]),
        Receive('[["connected",{},0],["watchingMailboxes",{"list":["INBOX"]},1],'
                '["mailboxes",{},2]]', Reply,
                ("setup", [["connected", {}, 0], ["watchingMailboxes", {"list": ["INBOX"]}, 1],
                           ["mailboxes", {}, 2]])),
        Receive('[["error",{"type":"notAuthorized","method":"watchAll","arguments":{}},3]]',
                Reply, ("bad", [["error", {"type": "notAuthorized", "method": "watchAll",
                                           "arguments": {}}, 3]])),
        HandOutStep(push(5), HandOut(deliver=True, event_ids=(5,))),
        HandOutStep(push(6), HandOut(deliver=True, event_ids=(6,))),
        Ack([5], None),  # a plain subscriber tells nobody
        Send("pending", [("getMailboxes", {})], [["getMailboxes", {}, 4]]),
        Lost(1006, final=False, rejected=["pending"]),
        State(SessionState.DISCONNECTED, last_event_id=5),
        SendFails([("getMailboxes", {})], ConnectionClosed),
        Made(resume=[["connect", CONNECT, 5], ["watchMailboxes", {**INBOX, "since": 5}, 6]]),
        Receive('[["mailboxes",{},4]]', Unmatched, "no pending"),  # the lost connection's reply
        HandOutStep(push(5), HandOut(deliver=False)),  # resumed stream: 5 was done
        HandOutStep(push(6), HandOut(deliver=True, event_ids=(6,))),  # 6 never acked: again
        Ack([6], None),
        State(SessionState.OPEN, last_event_id=6),
    ],
    "a watch's own since sets the position; later watches resume from it": [
        Made(),
        Send("a", [("watchAll", {"since": 7})], [["watchAll", {"since": 7}, 0]]),
        State(SessionState.OPEN, last_event_id=7),
        Send("b", [("watchMailboxes", INBOX)], [["watchMailboxes", {**INBOX, "since": 7}, 1]]),
        HandOutStep(push(7), HandOut(deliver=False)),
        HandOutStep(push(8), HandOut(deliver=True, event_ids=(8,))),
        HandOutStep(push(None), HandOut(deliver=True)),  # no event id: handed out, never acked
    ],
    "a failed handler holds the position below its event": [
        Made(),
        Send("w", [("watchAll", {})], [["watchAll", {}, 0]]),
        Receive('[["watchingAll",{},0]]', Reply, ("w", [["watchingAll", {}, 0]])),
        HandOutStep(push(1), HandOut(deliver=True, event_ids=(1,))),
        HandOutStep(push(2), HandOut(deliver=True, event_ids=(2,))),
        HandOutStep(push(3), HandOut(deliver=True, event_ids=(3,))),
        Ack([1, 3, 3], None),  # 2's handler raised
        State(SessionState.OPEN, last_event_id=1),
        Lost(1006, final=False),
        Made(resume=[["watchAll", {"since": 1}, 1]]),
        HandOutStep(push(2), HandOut(deliver=True, event_ids=(2,))),
        HandOutStep(push(3), HandOut(deliver=False)),
        Ack([2], None),
        State(SessionState.OPEN, last_event_id=3),
    ],
    "a group member acks to the server and re-acks redeliveries": [
        Made(),
        Send("join", [("watchAll", {"group": "g", "since": 3})],
             [["watchAll", {"group": "g", "since": 3}, 0]]),
        Receive('[["watchingAll",{},0]]', Reply, ("join", [["watchingAll", {}, 0]])),
        State(SessionState.OPEN, group="g"),
        HandOutStep(push(4, group="g"), HandOut(deliver=True, event_ids=(4,))),
        HandOutStep(push(9, group="g"), HandOut(deliver=True, event_ids=(9,))),
        Ack([9], [["ack", {"eventIds": [9]}, 1]]),
        Ack([9], None),  # acked before: nothing new to say
        HandOutStep(push(9, group="g"), HandOut(deliver=False, redelivered=(9,))),
        Reack([9], [["ack", {"eventIds": [9]}, 2]]),
        Lost(1006, final=False, rejected=["ack", "ack"]),  # the acks' replies never came
        Ack([4], None),  # not open: the server redelivers, the session skips it then
        Made(resume=[["watchAll", {"group": "g"}, 3]]),  # the server keeps the group's place
        HandOutStep(push(4, group="g"), HandOut(deliver=False, redelivered=(4,))),
        HandOutStep(push(5, group="g"), HandOut(deliver=True, event_ids=(5,))),
    ],
    "bad commands are refused and change nothing": [
        Made(),
        SendFails([("getMailboxes", {}, 5)], ValueError),  # the original's 3-tuple mistake
        SendFails([("getMailboxes",)], ValueError),
        SendFails(["getMailboxes"], ValueError),
        SendFails([7], ValueError),
        SendFails([(1, {})], TypeError),
        SendFails([("x", {"a": object()})], TypeError),
        SendFails([("x", {"a": float("nan")})], ValueError),
        Send("ok", [("x", {})], [["x", {}, 0]]),
    ],
}


@pytest.mark.parametrize("steps", CONVERSATIONS.values(), ids=CONVERSATIONS.keys())
def test_conversation(steps: list[Step]) -> None:
    run(steps)


def test_too_many_pending_groups_are_refused_until_a_reply_comes() -> None:
    run([
        Made(),
        Send("a", [("a", {})], [["a", {}, 0]]),
        Send("b", [("a", {})], [["a", {}, 1]]),
        SendFails([("a", {})], TooManyPending),
        Receive('[["a",{},0]]', Reply, ("a", [["a", {}, 0]])),
        Send("c", [("a", {})], [["a", {}, 2]]),
    ], max_pending_groups=2)


def test_error_replies_are_typed_and_a_resume_gap_is_recognised() -> None:
    session: ClientSession[str] = ClientSession()
    session.connection_made(lambda: "x")
    session.send([("watchAll", {"since": 1}), ("getMailboxes", {})], "h")
    event = session.receive(
        '[["error",{"type":"cannotCalculateChanges","method":"watchAll","arguments":{"since":1},'
        '"description":"too old"},0],["error",{"type":"noAccount","method":"getMailboxes",'
        '"arguments":{}},1]]')
    assert isinstance(event, Reply)
    gap, no_account = event.errors
    assert (gap.type, gap.method, gap.arguments, gap.description) == (
        "cannotCalculateChanges", "watchAll", {"since": 1}, "too old")
    assert is_gap(gap) and not is_gap(no_account)
    assert "too old" in str(gap)


def test_pushes_are_typed() -> None:
    session: ClientSession[str] = ClientSession()
    session.connection_made(lambda: "x")
    event = session.receive(push(7, group="g", summary={
        "subject": "Lunch?", "from": "Ann <ann@example.org>", "date": "Tue, 3 Jun 2014",
        "size": 1234}))
    assert isinstance(event, Pushes)
    (got,) = event.pushes
    assert got.event_id == 7
    assert got.new_message == NewMessagePush(
        "INBOX!1?7", "INBOX!1", "leo", 7, "g",
        PushSummary("Lunch?", "Ann <ann@example.org>", "Tue, 3 Jun 2014", 1234))
    # Equality is by name and args, as the pushes were compared before they were typed.
    assert got == Push("newMessage", json.loads(push(7, group="g", summary={
        "subject": "Lunch?", "from": "Ann <ann@example.org>", "date": "Tue, 3 Jun 2014",
        "size": 1234}))[0][1])
    assert Push("newMessage", {"eventId": 3}).new_message is None  # no messageId
    assert Push("error", {"eventId": 3}).event_id is None


def test_the_state_table_is_the_only_way() -> None:
    assert TRANSITIONS[SessionState.CLOSED] == frozenset()
    session: ClientSession[str] = ClientSession()
    session.connection_made(lambda: "x")
    with pytest.raises(InvalidState, match="OPEN to OPEN"):
        session.connection_made(lambda: "again")  # opening an open session is a shell bug
    session.connection_lost(1000, final=True)
    with pytest.raises(InvalidState):
        session.connection_made(lambda: "after the end")
    assert isinstance(InvalidState("x"), AssertionError)
    closed_first: ClientSession[str] = ClientSession()
    closed_first.connection_lost(None, final=True)  # close() before any connection
    assert closed_first.state is SessionState.CLOSED


@given(st.text() | st.binary())
def test_receive_never_raises(data: str | bytes) -> None:
    session: ClientSession[str] = ClientSession()
    session.connection_made(lambda: "x")
    session.send([("a", {})], "h")
    assert isinstance(session.receive(data), Reply | Pushes | Unmatched | Dropped)


@given(st.lists(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=5),
    max_size=4))
def test_any_json_array_is_classified(frame: list[object]) -> None:
    session: ClientSession[str] = ClientSession()
    session.connection_made(lambda: "x")
    session.send([("a", {})], "h")
    event = session.receive(json.dumps(frame))
    assert isinstance(event, Reply | Pushes | Unmatched | Dropped)
    if isinstance(event, Pushes):
        for each in event.pushes:
            assert each.event_id is None or isinstance(each.event_id, int)


def test_the_sans_io_modules_import_no_io() -> None:
    import ast
    from pathlib import Path

    import switchboard.client

    forbidden = {"asyncio", "socket", "ssl", "threading", "time", "websockets", "selectors"}
    root = Path(switchboard.client.__file__).parent
    for name in ("session.py", "resume.py", "pushqueue.py", "errors.py"):
        for node in ast.walk(ast.parse((root / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in forbidden, f"{name} imports {module}"
