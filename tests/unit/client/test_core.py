import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard import errors_in
from switchboard.client.core import (
    ClientCore,
    CoreState,
    Dropped,
    Push,
    Reply,
    Unmatched,
    Unsolicited,
    error_from_response,
    pushes_in,
)
from switchboard.client.errors import CommandError, ConnectionClosed, TooManyPending


def test_tags_count_from_zero_per_core_and_one_frame_per_group() -> None:
    core: ClientCore[str] = ClientCore()
    group, text = core.send_group([("connect", {"host": "h"}), ("watchAll", {})], "h1")
    assert group.tags == (0, 1)
    assert group.cmds == [["connect", {"host": "h"}, 0], ["watchAll", {}, 1]]
    assert text == '[["connect",{"host":"h"},0],["watchAll",{},1]]'
    group2, text2 = core.send_group([["getMailboxes", []]], "h2")
    assert group2.tags == (2,)
    assert text2 == '[["getMailboxes",[],2]]'
    assert core.pending_count == 2


def test_non_ascii_is_sent_as_raw_utf8() -> None:
    core: ClientCore[None] = ClientCore()
    _, text = core.send_group([("watchMailboxes", {"list": ["Café"]})], None)
    assert text == '[["watchMailboxes",{"list":["Café"]},0]]'


def test_empty_group_sends_nothing_and_uses_no_tag() -> None:
    core: ClientCore[str] = ClientCore()
    group, text = core.send_group([], "h")
    assert text is None and group.tags == () and group.cmds == []
    assert core.pending_count == 0
    assert core.send_group([("watchAll", {})], "h")[0].tags == (0,)


@pytest.mark.parametrize(
    "cmd", [("getMailboxes", {}, 5), ("getMailboxes",), "getMailboxes", 7]
)
def test_a_command_that_is_not_a_pair_raises_value_error(cmd: object) -> None:
    core: ClientCore[None] = ClientCore()
    with pytest.raises(ValueError):
        core.send_group([cmd], None)  # type: ignore[list-item]
    assert core.pending_count == 0


def test_bad_method_and_unencodable_args_change_nothing() -> None:
    core: ClientCore[None] = ClientCore()
    with pytest.raises(TypeError):
        core.send_group([(1, {})], None)
    with pytest.raises(TypeError):
        core.send_group([("x", {"a": object()})], None)
    with pytest.raises(ValueError):
        core.send_group([("x", {"a": float("nan")})], None)
    assert core.pending_count == 0
    assert core.send_group([("x", {})], None)[0].tags == (0,)


def test_reply_matches_its_group_and_the_group_is_forgotten() -> None:
    core: ClientCore[str] = ClientCore()
    core.send_group([("connect", {}), ("watchAll", {})], "first")
    core.send_group([("getMailboxes", {})], "second")
    event = core.receive_frame('[["mailboxes",{"state":1,"list":[]},2]]')
    assert isinstance(event, Reply)
    assert event.group.handle == "second"
    assert event.resps == [["mailboxes", {"state": 1, "list": []}, 2]]
    assert core.pending_count == 1
    # The same reply again matches nothing: the group is gone.
    again = core.receive_frame('[["mailboxes",{},2]]')
    assert isinstance(again, Unmatched)


def test_error_responses_are_replies_too() -> None:
    core: ClientCore[str] = ClientCore()
    core.send_group([("nope", {})], "h")
    event = core.receive_frame(
        '[["error",{"type":"unknownMethod","method":"nope","arguments":{}},0]]'
    )
    assert isinstance(event, Reply)
    assert errors_in(event.resps) == [
        ["error", {"type": "unknownMethod", "method": "nope", "arguments": {}}, 0]
    ]


def test_untagged_frame_is_unsolicited() -> None:
    core: ClientCore[str] = ClientCore()
    frame = '[["newMessage",{"mailboxId":"INBOX!1","messageId":"INBOX!1?4"}]]'
    event = core.receive_frame(frame)
    push = ["newMessage", {"mailboxId": "INBOX!1", "messageId": "INBOX!1?4"}]
    assert event == Unsolicited([push])
    assert pushes_in(event.resps) == [
        Push("newMessage", {"mailboxId": "INBOX!1", "messageId": "INBOX!1?4"})
    ]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ('[["x",{},{"o":1}],["y",{},null],["z",{},[1,2]]]', "never sends"),
        ('[["x",{},"0"]]', "never sends"),
        ('[["x",{},true]]', "never sends"),  # True == 1 in Python, but it is not our tag 1
        ('[["x",{},0.0]]', "never sends"),
        ('[["x",{},99]]', "no pending"),
        ('[["x",{},0],["y",{}]]', "mixed"),
    ],
)
def test_foreign_tags_are_unmatched_not_errors(frame: str, reason: str) -> None:
    core: ClientCore[str] = ClientCore()
    core.send_group([("a", {}), ("b", {})], "h")
    event = core.receive_frame(frame)
    assert isinstance(event, Unmatched)
    assert reason in event.reason
    assert core.pending_count == 1


def test_partial_tag_tuple_does_not_match() -> None:
    core: ClientCore[str] = ClientCore()
    core.send_group([("a", {}), ("b", {})], "h")
    assert isinstance(core.receive_frame('[["a",{},0]]'), Unmatched)
    assert isinstance(core.receive_frame('[["b",{},1],["a",{},0]]'), Unmatched)
    assert isinstance(core.receive_frame('[["a",{},0],["b",{},1]]'), Reply)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("this is not json", "not JSON"),
        (b"\x00\x01", "binary"),
        ('{"a":1}', "not a JSON array"),
        ("[]", "empty"),
        ("[1,2]", "responses"),
        ('[["x"]]', "responses"),
        ('[[1,{}]]', "responses"),
        ('[["x",{},1,2]]', "responses"),
        ("[NaN]", "not JSON"),
    ],
)
def test_unusable_frames_are_dropped(data: str | bytes, reason: str) -> None:
    core: ClientCore[str] = ClientCore()
    event = core.receive_frame(data)
    assert isinstance(event, Dropped)
    assert reason in event.reason


@given(st.text() | st.binary())
def test_receive_frame_never_raises(data: str | bytes) -> None:
    core: ClientCore[str] = ClientCore()
    core.send_group([("a", {})], "h")
    assert isinstance(core.receive_frame(data), Reply | Unsolicited | Unmatched | Dropped)


@given(
    st.lists(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(),
            lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
            max_leaves=5,
        ),
        max_size=4,
    )
)
def test_any_json_array_is_classified(frame: list[object]) -> None:
    core: ClientCore[str] = ClientCore()
    core.send_group([("a", {})], "h")
    assert isinstance(
        core.receive_frame(json.dumps(frame)), Reply | Unsolicited | Unmatched | Dropped
    )


def test_forget_and_close() -> None:
    core: ClientCore[str] = ClientCore()
    g0, _ = core.send_group([("a", {})], "h0")
    core.send_group([("b", {})], "h1")
    assert core.forget(g0.tags) is g0
    assert core.forget(g0.tags) is None
    groups = core.close(1006, "gone")
    assert [g.handle for g in groups] == ["h1"]
    assert core.state is CoreState.CLOSED and core.pending_count == 0
    assert core.close(1000) == [] and core.close_code == 1006
    with pytest.raises(ConnectionClosed) as info:
        core.send_group([("c", {})], "h2")
    assert info.value.code == 1006 and info.value.reason == "gone"


def test_max_pending_groups_is_enforced() -> None:
    core: ClientCore[int] = ClientCore(max_pending_groups=2)
    core.send_group([("a", {})], 0)
    core.send_group([("a", {})], 1)
    with pytest.raises(TooManyPending):
        core.send_group([("a", {})], 2)
    assert isinstance(core.receive_frame('[["a",{},0]]'), Reply)
    assert core.send_group([("a", {})], 3)[0].tags == (2,)


def test_error_from_response() -> None:
    err = error_from_response(
        ["error", {"type": "noAccount", "method": "getMailboxes", "arguments": {},
                   "description": "say which"}, 3]
    )
    assert isinstance(err, CommandError)
    assert err.type == "noAccount" and err.method == "getMailboxes" and err.arguments == {}
    assert "say which" in str(err)
    assert error_from_response(["mailboxes", {}, 3]) is None
    odd = error_from_response(["error", "not a dict"])
    assert isinstance(odd, CommandError) and odd.type is None
    assert errors_in([["x", {}], "junk", ["error", {}]]) == [["error", {}]]
