"""The asyncio client against a real WebSocket peer on 127.0.0.1."""

import asyncio
import json

import pytest

import switchboard
import switchboard.aio
from switchboard.aio import CommandError, ConnectionClosed, Push, ResponseTimeout
from tests.support.ws_peer import WsPeer

WAIT_S = 5.0


def push_frame(n: int) -> list[list[object]]:
    return [["newMessage", {"mailboxId": "INBOX!1", "messageId": f"INBOX!1?{n}",
                            "account": "leo@example.com"}]]


async def test_send_cmds_returns_the_reply_frame_and_token_is_sent(peer: WsPeer) -> None:
    async with switchboard.aio.connect(peer.url(), token="tok", timeout_s=WAIT_S) as sb:
        resps = await sb.send_cmds(("watchAll", {}), ("getMailboxes", {"account": "a"}))
        assert resps[0] == ["watchingAll", {}, 0]
        assert resps[1][0] == "mailboxes" and resps[1][2] == 1
        assert await sb.send_cmds() == []
    assert peer.headers[0]["Authorization"] == "Bearer tok"
    assert [json.loads(f) for f in peer.frames] == [
        [["watchAll", {}, 0], ["getMailboxes", {"account": "a"}, 1]]
    ]


async def test_call_returns_args_or_raises_command_error(peer: WsPeer) -> None:
    async with switchboard.aio.connect(peer.url(), timeout_s=WAIT_S) as sb:
        listing = await sb.call("getMessageList", {"mailboxId": "INBOX!1"})
        assert listing == {"messageIds": ["INBOX!1?1", "INBOX!1?2", "INBOX!1?3"]}
        assert await sb.call("watchAll") == {}
        with pytest.raises(CommandError) as info:
            await sb.call("getMessageList", {"mailboxId": "INBOX!999"})
        assert isinstance(info.value, switchboard.SwitchboardError)
        assert info.value.type == "mailboxDoesNotExist"
        assert info.value.arguments == {"mailboxId": "INBOX!999"}


async def test_events_yield_pushes_in_order(peer: WsPeer) -> None:
    async with switchboard.aio.connect(peer.url(), timeout_s=WAIT_S) as sb:
        await sb.call("_push", {"frames": [push_frame(4), push_frame(5)]})
        seen = []
        async with asyncio.timeout(WAIT_S):
            async for event in sb.events():
                seen.append(event)
                if len(seen) == 2:
                    break
        assert seen == [Push("newMessage", push_frame(n)[0][1]) for n in (4, 5)]


async def test_full_queue_drops_new_pushes(peer: WsPeer) -> None:
    async with switchboard.aio.connect(peer.url(), timeout_s=WAIT_S, max_queue=2) as sb:
        await sb.call("_push", {"frames": [push_frame(n) for n in (1, 2, 3)]})
        # A reply sent after the pushes proves the reader has handled all three.
        await sb.call("watchAll")
        assert sb.dropped_pushes == 1
    got = [p.args["messageId"] async for p in sb.events()]
    assert got == ["INBOX!1?1", "INBOX!1?2"]  # then the iteration ends: connection closed


async def test_timeout_then_late_reply_is_not_a_push(peer: WsPeer) -> None:
    async with switchboard.aio.connect(peer.url(), timeout_s=WAIT_S) as sb:
        with pytest.raises(ResponseTimeout):
            await sb.send_cmds(("_wrongTags", {}), timeout_s=0.2)
        with pytest.raises(ResponseTimeout):
            await sb.call("_silence", timeout_s=0.05)
        # Malformed frames are dropped; the reader keeps going.
        resps = await sb.send_cmds(("_sendText", {"text": "not json"}), ("_binary", {}),
                                   ("_sendText", {"text": '[["x",{},{"o":1}]]'}),
                                   ("_push", {"frames": [push_frame(9)]}))
        assert [r[0] for r in resps] == ["sent", "sent", "sent", "pushed"]
        # The late reply, the foreign tag and the malformed frames were never pushes.
        async with asyncio.timeout(WAIT_S):
            first = await anext(aiter(sb.events()))
        assert first.args["messageId"] == "INBOX!1?9"


async def test_abrupt_close_fails_pending_calls_and_ends_events(peer: WsPeer) -> None:
    async with switchboard.aio.connect(peer.url(), timeout_s=WAIT_S) as sb:
        pending = asyncio.create_task(sb.call("_silence"))
        with pytest.raises(ConnectionClosed) as info:
            await sb.call("_abort")
        assert info.value.code == 1006
        with pytest.raises(ConnectionClosed):
            await pending
        assert [p async for p in sb.events()] == []
        assert sb.close_code == 1006
        with pytest.raises(ConnectionClosed):
            await sb.call("watchAll")


async def test_server_close_code_is_reported(peer: WsPeer) -> None:
    async with switchboard.aio.connect(peer.url(), timeout_s=WAIT_S) as sb:
        with pytest.raises(ConnectionClosed) as info:
            await sb.call("_close", {"code": 4001, "reason": "go away"})
        assert (info.value.code, info.value.reason) == (4001, "go away")


async def test_untagged_invalid_json_error_is_a_push(peer: WsPeer) -> None:
    async with switchboard.aio.connect(peer.url(), timeout_s=WAIT_S) as sb:
        error = '[["error",{"type":"invalidJson","method":null,"arguments":null}]]'
        await sb.call("_sendText", {"text": error})
        async with asyncio.timeout(WAIT_S):
            async for event in sb.events():
                assert event == Push("error", {"type": "invalidJson", "method": None,
                                               "arguments": None})
                break


async def test_not_open_raises() -> None:
    sb = switchboard.aio.connect("ws://127.0.0.1:1/workers")
    with pytest.raises(ConnectionClosed):
        await sb.call("watchAll")
