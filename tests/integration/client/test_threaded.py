"""The threaded Client and Fetcher against a real WebSocket peer on 127.0.0.1."""

import email.message
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import switchboard
from switchboard import Client, ConnectionClosed, Fetcher, Promise, ResponseTimeout, errors_in
from tests.support.ws_peer import WsPeer

WAIT_S = 5.0

CS = {"host": "imap.example.com", "port": 993,
      "auth": {"type": "plain", "username": "leo@example.com", "password": "secret"}}


class Recorder(Client):
    """Records hooks; sets events so tests wait without sleeping."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_open = threading.Event()
        self.is_closed = threading.Event()
        self.closed_with: tuple[int | None, str | None] | None = None
        self.unsolicited: queue.Queue[list[list[Any]]] = queue.Queue()
        self.hook_threads: set[str] = set()

    def opened(self) -> None:
        self.hook_threads.add(threading.current_thread().name)
        self.is_open.set()

    def closed(self, code: int | None, reason: str | None = None) -> None:
        self.closed_with = (code, reason)
        self.is_closed.set()

    def received_unsolicited(self, resps: list[list[Any]]) -> None:
        self.hook_threads.add(threading.current_thread().name)
        self.unsolicited.put(resps)


@pytest.fixture
def client(peer: WsPeer) -> Iterator[Recorder]:
    c = Recorder(peer.url(), token="s3cret")
    c.connect()
    assert c.is_open.wait(WAIT_S)
    yield c
    c.close()
    assert c.is_closed.wait(WAIT_S)


def sent_frames(peer: WsPeer) -> list[Any]:
    return [json.loads(f) for f in peer.frames]


def test_batched_reply_fulfils_with_tagged_cmds_and_resps(peer: WsPeer, client: Recorder) -> None:
    promise = client.send_cmds(
        ("connect", CS),
        ("watchMailboxes", {"account": "leo@example.com", "list": ["INBOX"]}),
        ("watchAll", {}),
    )
    assert isinstance(promise, Promise)
    cmds, resps = promise.get(WAIT_S)
    assert cmds == [
        ["connect", CS, 0],
        ["watchMailboxes", {"account": "leo@example.com", "list": ["INBOX"]}, 1],
        ["watchAll", {}, 2],
    ]
    assert resps == [["connected", {}, 0], ["watchingMailboxes", {"list": ["INBOX"]}, 1],
                     ["watchingAll", {}, 2]]
    assert sent_frames(peer) == [cmds]  # one frame per call
    cmds2, resps2 = client.send_cmds(("getMailboxes", {"account": "leo@example.com"})).get(WAIT_S)
    assert cmds2[0][2] == 3 and resps2[0][0] == "mailboxes"
    assert resps2[0][1]["state"] == 9994537339654418401471858898878876255421381384


def test_bearer_token_in_the_upgrade_request(peer: WsPeer, client: Recorder) -> None:
    assert peer.headers[0]["Authorization"] == "Bearer s3cret"
    assert client.hook_threads == {"switchboard-reader"}


def test_token_in_url_and_extra_headers_are_sent(peer: WsPeer) -> None:
    c = Recorder(peer.url("/workers?token=abc"), headers=[("X-Worker", "w1")])
    c.connect()
    assert c.is_open.wait(WAIT_S)
    c.close()
    assert c.is_closed.wait(WAIT_S)
    assert peer.paths == ["/workers?token=abc"]
    assert peer.headers[0]["X-Worker"] == "w1"
    assert "Authorization" not in peer.headers[0]


def test_error_responses_fulfil_and_errors_in_finds_them(client: Recorder) -> None:
    _, resps = client.send_cmds(
        ("getMessageList", {"mailboxId": "INBOX!999"}), ("getMessageList", {"mailboxId": "INBOX!1"})
    ).get(WAIT_S)
    errors = errors_in(resps)
    assert len(errors) == 1 and errors[0][1]["type"] == "mailboxDoesNotExist"
    assert resps[1][0] == "messageList"


def test_no_commands_settle_at_once_without_a_frame(peer: WsPeer, client: Recorder) -> None:
    promise = client.send_cmds()
    assert promise.isFulfilled() and promise.value == ([], [])
    client.send_cmds(("watchAll", {})).get(WAIT_S)
    assert sent_frames(peer) == [[["watchAll", {}, 0]]]


def test_three_tuple_command_raises_value_error(client: Recorder) -> None:
    with pytest.raises(ValueError):
        client.send_cmds(("watchAll", {}, 5))


def test_unsolicited_push_gets_the_whole_frame(client: Recorder) -> None:
    push = [["newMessage", {"mailboxId": "INBOX!1", "messageId": "INBOX!1?4",
                            "account": "leo@example.com"}]]
    client.send_cmds(("_push", {"frames": [push]})).get(WAIT_S)
    assert client.unsolicited.get(timeout=WAIT_S) == push


def test_unknown_tags_go_to_unsolicited_and_the_call_times_out(client: Recorder) -> None:
    promise = client.send_cmds(("_wrongTags", {}), timeout_s=0.2)
    assert client.unsolicited.get(timeout=WAIT_S) == [["wrong", {}, 1000]]
    assert promise.wait(WAIT_S)
    assert isinstance(promise.reason, ResponseTimeout)
    with pytest.raises(ValueError):
        promise.get()
    # The reader is alive and the group was forgotten: the next call still works.
    assert client.send_cmds(("watchAll", {})).get(WAIT_S)[1] == [["watchingAll", {}, 1]]


def test_foreign_tag_types_non_json_and_binary_never_kill_the_reader(client: Recorder) -> None:
    every_type = '[["x",{},{"o":1}],["y",{},null],["z",{},[1,2]],["w",{},"0"]]'
    promise = client.send_cmds(
        ("_sendText", {"text": "this is not json"}),
        ("_binary", {}),
        ("_sendText", {"text": every_type}),
        ("getMailboxes", {}),
    )
    _, resps = promise.get(WAIT_S)
    assert [r[0] for r in resps] == ["sent", "sent", "sent", "mailboxes"]
    assert client.unsolicited.get(timeout=WAIT_S) == json.loads(every_type)
    assert client.unsolicited.empty()  # the non-JSON and binary frames were dropped


def test_server_invalid_json_error_is_unsolicited(client: Recorder) -> None:
    client.send("not json")
    resps = client.unsolicited.get(timeout=WAIT_S)
    assert resps == [["error", {"type": "invalidJson", "method": None, "arguments": None}]]


def test_a_failing_hook_does_not_stop_the_reader(peer: WsPeer) -> None:
    class Fragile(Recorder):
        def received_unsolicited(self, resps: list[list[Any]]) -> None:
            super().received_unsolicited(resps)
            raise RuntimeError("bug in user code")

    c = Fragile(peer.url())
    c.connect()
    push = [["newMessage", {"mailboxId": "INBOX!1", "messageId": "INBOX!1?4"}]]
    c.send_cmds(("_push", {"frames": [push, push]})).get(WAIT_S)
    assert c.unsolicited.get(timeout=WAIT_S) == push
    assert c.unsolicited.get(timeout=WAIT_S) == push
    assert c.send_cmds(("watchAll", {})).get(WAIT_S)[1][0][0] == "watchingAll"
    c.close()
    assert c.is_closed.wait(WAIT_S)


def test_abrupt_close_rejects_pending_and_calls_closed_with_1006(peer: WsPeer) -> None:
    c = Recorder(peer.url())
    c.connect()
    waiting = c.send_cmds(("_silence", {}))
    dying = c.send_cmds(("_abort", {}))
    assert c.is_closed.wait(WAIT_S)
    assert c.closed_with is not None and c.closed_with[0] == 1006
    for promise in (waiting, dying):
        assert promise.isRejected()
        assert isinstance(promise.reason, ConnectionClosed) and promise.reason.code == 1006
    with pytest.raises(ConnectionClosed):
        c.send_cmds(("watchAll", {}))
    c.run_forever()  # returns at once: the connection has ended
    assert c.terminated


def test_server_close_code_and_reason_reach_closed(peer: WsPeer) -> None:
    c = Recorder(peer.url())
    c.connect()
    pending = c.send_cmds(("_close", {"code": 4000, "reason": "bye"}))
    assert c.is_closed.wait(WAIT_S)
    assert c.closed_with == (4000, "bye")
    assert isinstance(pending.reason, ConnectionClosed) and pending.reason.code == 4000


def test_close_ends_run_forever(peer: WsPeer) -> None:
    c = Recorder(peer.url())
    c.connect()
    assert c.is_open.wait(WAIT_S)
    runner = threading.Thread(target=c.run_forever)
    runner.start()
    c.close()
    runner.join(WAIT_S)
    assert not runner.is_alive()
    assert c.closed_with == (1000, "")


def test_send_before_connect_raises(peer: WsPeer) -> None:
    with pytest.raises(ConnectionClosed):
        Client(peer.url()).send_cmds(("watchAll", {}))


def test_code_written_for_0_1_3_keeps_working(peer: WsPeer) -> None:
    """The original listener shape, with only Python 2 syntax fixed."""
    done = threading.Event()
    seen: list[Any] = []

    class Worker(switchboard.Client):
        def opened(self) -> None:
            def post_setup(cmds_resps: Any) -> None:
                _cmds, resps = cmds_resps
                seen.append(("setup", resps))
                self.send_cmds(("_push", {"frames": [[["newMessage", {"messageId": "m"}]]]}))

            self.send_cmds(("watchAll", {})).then(post_setup)

        def received_unsolicited(self, resps: Any) -> None:
            seen.append(("push", resps))
            done.set()

    worker = Worker(peer.url())
    worker.connect()
    assert done.wait(WAIT_S)
    worker.close()
    worker.run_forever()
    assert seen == [("setup", [["watchingAll", {}, 0]]),
                    ("push", [["newMessage", {"messageId": "m"}]])]


class Collector(Fetcher):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: queue.Queue[email.message.Message] = queue.Queue()

    def received_new(self, msg: email.message.Message) -> None:
        self.messages.put(msg)


def new_message(account: str | None) -> list[list[Any]]:
    args: dict[str, Any] = {"mailboxId": "INBOX!1", "messageId": "INBOX!1?5"}
    if account is not None:
        args["account"] = account
    return [["newMessage", args]]


def test_fetcher_turns_a_push_into_received_new(peer: WsPeer) -> None:
    f = Collector(peer.url())
    f.connect()
    f.send_cmds(("_push", {"frames": [new_message("leo@example.com")]})).get(WAIT_S)
    msg = f.messages.get(timeout=WAIT_S)
    assert isinstance(msg, email.message.EmailMessage)
    assert msg["Subject"] == "appended 0"
    assert msg["From"].addresses[0].addr_spec == "probe@example.com"
    assert msg.get_content().rstrip() == "body of appended 0"
    assert sent_frames(peer)[1] == [["getMessages", {"account": "leo@example.com",
                                                     "ids": ["INBOX!1?5"],
                                                     "properties": ["raw"]}, 1]]
    f.close()
    f.run_forever()


def test_fetcher_on_clients_sends_no_account_and_skips_errors(peer: WsPeer) -> None:
    f = Collector(peer.url("/clients"))
    f.connect()
    f.send_cmds(("_push", {"frames": [new_message("nobody@example.com"), new_message(None)]}))
    msg = f.messages.get(timeout=WAIT_S)  # only the second push yields a message
    assert msg["Subject"] == "appended 0"
    frames = sent_frames(peer)
    assert frames[1][0][1]["account"] == "nobody@example.com"
    assert frames[2] == [["getMessages", {"ids": ["INBOX!1?5"], "properties": ["raw"]}, 2]]
    assert f.messages.empty()
    f.close()
    f.run_forever()


def test_fetcher_received_new_must_be_overridden(peer: WsPeer,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    f = Fetcher(peer.url())
    with pytest.raises(NotImplementedError):
        f.received_new(email.message.Message())
    f.connect()
    f.send_cmds(("_push", {"frames": [new_message("leo@example.com")]})).get(WAIT_S)
    # The NotImplementedError is logged and the reader goes on answering.
    assert f.send_cmds(("getMessages", {"ids": []})).get(WAIT_S)[1][0][0] == "messages"
    f.close()
    f.run_forever()
