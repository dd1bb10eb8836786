"""Bad input is answered, never punished (issue 12 §4): property-based, against the real server.

Hypothesis draws commands for every method of both interfaces — each argument either a usable
value (the real account, a real mailboxId, a logged eventId) or junk: huge and negative
integers, floats up to 1e308, NUL, control characters, snowmen, empty strings, very long
strings, wrong types, nested arrays and objects. They travel as real frames over real WebSockets
to a real ``switchboard`` server watching a real Dovecot account. For every frame:

* the reply is one well-formed response per command, its tag echoed unchanged;
* no error is ``serverError`` — that type is for our faults, and bad input is the client's;
* every integer in it is at most 2**53 - 1 (a browser's exact range), the client's own values
  echoed back (tags, ``arguments`` of an error) excepted;
* the socket stays open and answers a follow-up command.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from switchboard.protocol.errors import ERROR_TYPES
from switchboard.protocol.methods import SUPPORTED_PROPERTIES
from switchboard.server.app import SwitchboardServer
from switchboard.server.config import OAuthProvider, ServerSettings
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import Peer, message, new_server, plain, url

pytestmark = pytest.mark.dovecot

MAX_SAFE_INTEGER = 2**53 - 1

# Bounded so both interfaces run in well under a minute on a loaded 2-core machine.
EXAMPLES = 400

REPLIES = {
    "connect": {"connected"},
    "watchAll": {"watchingAll"},
    "watchMailboxes": {"watchingMailboxes"},
    "idle": {"watchingMailboxes"},
    "getMailboxes": {"mailboxes"},
    "getMessageList": {"messageList"},
    "getMessages": {"messages"},
    "ack": {"acked"},
}
METHODS = sorted(REPLIES)

# -- junk ------------------------------------------------------------------------------------

EDGE_INTS = [
    0, 1, -1, 2**31, 2**32 - 1, 2**32, MAX_SAFE_INTEGER, 2**53, 2**63 - 1, 2**63,
    -(2**63) - 1, 2**64, 10**30, -(10**30), 10**308, int("9" * 4000), -int("9" * 4000),
]  # fmt: skip
EDGE_FLOATS = [1e308, -1e308, 5e-324, -0.0, 0.5, 1.0, 2.0**53, 2.0**63, 1e30, -1.5]
EDGE_TEXTS = [
    "", " ", "\u0000", "\u0000!1", "☃", "☃!1", "a\r\nb", "\t", "\u007f", "\u0085", "\ufeff",
    "&", "&Jjo-", "&-", "%", "*", "INBOX", "inbox", "INBOX.", ".INBOX", "INBOX..x", "/", "!",
    "!!", "?", "!1?1", "x" * 5000, "y" * 70_000, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u202e", "null", "0", "-1", "1e308",
    "\u0001", "a\u0001b",
]  # fmt: skip

ints = st.one_of(st.integers(), st.sampled_from(EDGE_INTS))
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(EDGE_FLOATS)
)
texts = st.one_of(st.text(max_size=40), st.sampled_from(EDGE_TEXTS))
scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)
    ),
    max_leaves=8,
)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Draw from one of the strategies, picked in proportion to its weight.

    (``st.one_of(a, a, a, b)`` would not do: it drops the repeated ``a``.)
    """
    return st.sampled_from([s for weight, s in choices for _ in range(weight)]).flatmap(lambda s: s)


def either(*usable: Any) -> st.SearchStrategy[Any]:
    """A usable value (from ``usable``: values or strategies), or junk one time in four.

    Mostly usable, so that a command often gets past its other checks to the one junk value.
    """
    choices = st.one_of(*(u if isinstance(u, st.SearchStrategy) else st.just(u) for u in usable))
    return weighted((3, choices), (1, junk))


def number(*usable: Any) -> st.SearchStrategy[Any]:
    """For a numeric argument: usable, or an edge number (huge, negative, fractional), or junk."""
    edges = weighted(
        (2, st.sampled_from(EDGE_INTS)), (1, st.sampled_from(EDGE_FLOATS)), (1, st.integers())
    )
    return weighted((3, either(*usable)), (3, edges))


def text(*usable: Any) -> st.SearchStrategy[Any]:
    """For a string argument: usable, or an odd string (NUL, snowman, empty, 5,000 chars), or
    junk."""
    return weighted((3, either(*usable)), (2, texts))


def an_object(
    required: dict[str, st.SearchStrategy[Any]] | None = None,
    optional: dict[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """An object with the ``required`` keys (one of them left out one time in eight), any
    subset of the ``optional`` ones, and now and then a key nobody asked for."""
    required = required or {}
    left_out = st.sampled_from([None] * 7 + sorted(required))
    return st.builds(
        lambda present, drop, chosen, extra: {
            **{k: v for k, v in present.items() if k != drop},
            **chosen,
            **extra,
        },
        st.fixed_dictionaries(required),
        left_out,
        st.fixed_dictionaries({}, optional=optional or {}),
        st.dictionaries(st.sampled_from(["x", "", "\u0000", "list ", "Since"]), junk, max_size=1),
    )


@dataclass(frozen=True)
class World:
    """What exists on the server and in Dovecot, for drawing usable values."""

    dovecot: DovecotServer
    user: ImapUser
    mailbox_id: str
    message_ids: tuple[str, ...]
    event_ids: tuple[int, ...]

    def args(self, method: str, *, worker: bool) -> st.SearchStrategy[Any]:
        """Arguments for ``method``: mostly objects of usable-or-junk keys, sometimes junk."""
        objects = self._objects(method)
        if worker and method not in {"connect", "watchAll", "ack"}:
            account = either(st.sampled_from([self.user.username] * 5 + ["nobody@example.com"]))
            objects = st.builds(
                lambda obj, acct, present: (
                    {**obj, "account": acct} if present and isinstance(obj, dict) else obj
                ),
                objects,
                account,
                st.sampled_from([True, True, True, True, True, False]),  # mostly: past noAccount
            )
        return weighted((6, objects), (1, junk), (1, st.just([])))

    def _objects(self, method: str) -> st.SearchStrategy[Any]:
        event_id = number(*self.event_ids, 0, MAX_SAFE_INTEGER)
        group = text("g1", "g2", "x" * 201)
        if method == "connect":
            return self._connect()
        if method == "watchAll":
            return an_object(optional={
                "since": event_id, "group": group, "visibilityTimeout": number(0.5, 30, 86_400),
                "summary": either(True, False),
            })  # fmt: skip
        if method in {"watchMailboxes", "idle"}:
            name = text("INBOX", "Work", "inbox", "Nope")
            return an_object({"list": either(st.lists(name, min_size=1, max_size=4))}, {
                "since": event_id, "group": group, "visibilityTimeout": number(0.5, 30),
                "summary": either(True, False),
            })  # fmt: skip
        if method == "getMailboxes":
            return an_object(optional={"state": number(0, 1, 2.5)})
        if method == "getMessageList":
            mailbox_id = text(self.mailbox_id, "INBOX!1", "Nope!1", texts.map(lambda t: f"{t}!1"))
            return an_object({"mailboxId": mailbox_id})
        if method == "getMessages":
            # Junk items come with the junk lists of either(); here, strings of every kind.
            ids = st.lists(
                weighted(
                    (6, st.sampled_from([*self.message_ids, f"{self.mailbox_id}?999"])),
                    (1, texts.map(lambda t: f"{t}!1?1")),
                    (1, texts),
                ),
                max_size=4,
            )
            props = st.lists(
                st.sampled_from([*sorted(SUPPORTED_PROPERTIES), "body"]), min_size=1, max_size=4
            )
            return an_object({"ids": either(ids), "properties": either(props)})
        if method == "ack":
            return an_object({"eventIds": either(st.lists(event_id, max_size=4))})
        return junk  # an unknown method

    def _connect(self) -> st.SearchStrategy[Any]:
        d, u = self.dovecot, self.user
        # (port, ssl, starttls) that answer at once; plain text to the TLS port would only time
        # out (a client mistake too, but a slow one to wait for in every example).
        endpoints = st.sampled_from(
            [(d.tls_port, True, False), (d.port, False, False), (d.port, False, True),
             (d.port, True, False), (1, True, False)]
        )  # fmt: skip
        oauth = st.fixed_dictionaries(
            {"type": either("access", "refresh"), "token": either("not-a-token")},
            optional={"provider": either("stub", "nope", "")},
        )
        auth = weighted(
            (4, st.fixed_dictionaries(
                {"type": either("plain"), "username": text(u.username, "nobody"),
                 "password": text(u.password, "wrong", "")}
            )),
            (2, st.fixed_dictionaries(
                {"type": either("xoauth2"), "username": either(u.username), "token": either(oauth)}
            )),
            (1, junk),
        )  # fmt: skip
        return st.builds(
            lambda endpoint, host, port_junk, flags_junk, auth_value, drop: _connect_args(
                endpoint, host, port_junk, flags_junk, auth_value, drop
            ),
            endpoints,
            weighted(
                (5, st.just(d.host)),
                (1, st.sampled_from(["localhost", "", "\u0000", "☃", "a" * 300, "[::1]", "a b"])),
                (1, junk),
            ),
            weighted((3, st.none()), (1, number())),
            weighted((3, st.none()), (1, junk)),
            auth,
            weighted((6, st.none()), (1, st.sampled_from(["host", "port", "auth"]))),
        )


def _connect_args(
    endpoint: tuple[int, bool, bool],
    host: Any,
    port_junk: Any,
    flags_junk: Any,
    auth: Any,
    drop: str | None,
) -> dict[str, Any]:
    port, ssl, starttls = endpoint
    args: dict[str, Any] = {
        "host": host,
        "port": port if port_junk is None else port_junk,
        "auth": auth,
        "ssl": ssl if flags_junk is None else flags_junk,
        "starttls": starttls,
    }
    if drop is not None:
        del args[drop]
    return args


tags = st.one_of(st.integers(), st.sampled_from(EDGE_INTS), texts, junk)


@functools.cache
def commands(world: World, *, worker: bool) -> st.SearchStrategy[list[Any]]:
    """One command: a method (or an unknown name), its arguments, and maybe a tag."""
    names = METHODS * 4 + ["", "watchall", "idling", "☃"]
    # Built once per method: building strategies inside every draw would cost more than the I/O.
    by_name = {
        name: st.one_of(
            st.tuples(st.just(name), world.args(name, worker=worker)).map(list),
            st.tuples(st.just(name), world.args(name, worker=worker), tags).map(list),
        )
        for name in set(names)
    }
    return st.sampled_from(names).flatmap(by_name.__getitem__)


# -- checks ----------------------------------------------------------------------------------


def ints_in(value: Any) -> Iterator[int]:
    """Every integer in a JSON value (booleans are not numbers)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from ints_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from ints_in(item)


def check_reply(command: list[Any], reply: Any) -> None:
    """One response to one command: shape, tag, error type, JavaScript-safe integers."""
    assert isinstance(reply, list) and len(reply) in (2, 3), reply
    name, args = reply[0], reply[1]
    if len(command) == 3:
        assert len(reply) == 3, (command, reply)
        assert reply[2] == command[2] and type(reply[2]) is type(command[2]), (command, reply)
    else:
        assert len(reply) == 2, (command, reply)
    assert isinstance(args, dict), reply
    if name == "error":
        assert args["type"] in ERROR_TYPES, reply
        assert args["type"] != "serverError", (command, reply)
        assert args["method"] == command[0]
        checked = {k: v for k, v in args.items() if k != "arguments"}  # the client's own values
    else:
        assert name in REPLIES.get(command[0], ()), (command, reply)
        checked = args
    assert all(abs(n) <= MAX_SAFE_INTEGER for n in ints_in(checked)), reply


def is_push(frame: Any) -> bool:
    return (
        isinstance(frame, list)
        and len(frame) == 1
        and isinstance(frame[0], list)
        and len(frame[0]) == 2
        and frame[0][0] == "newMessage"
    )


async def exchange(peer: Peer, frame: list[Any]) -> list[Any]:
    """Send one request frame; return its reply frame, checking the pushes that came first."""
    await peer.send(frame)
    while True:
        reply = await peer.recv()
        if not is_push(reply):
            return reply  # type: ignore[no-any-return]
        assert all(0 <= n <= MAX_SAFE_INTEGER for n in ints_in(reply)), reply


async def check_frame(peer: Peer, batch: list[list[Any]]) -> None:
    replies = await exchange(peer, batch)
    assert isinstance(replies, list) and len(replies) == len(batch), (batch, replies)
    for command, reply in zip(batch, replies, strict=True):
        check_reply(command, reply)
    # The socket is still open and still answering.
    assert await exchange(peer, [["ack", {"eventIds": []}, "ping"]]) == [
        ["acked", {"eventIds": []}, "ping"]
    ]


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
async def fast_server(tmp_path: Path, dovecot: DovecotServer) -> AsyncIterator[SwitchboardServer]:
    """A server whose rate limits never answer for the junk (they are tested elsewhere), with
    the OAuth2 stub as provider ``stub`` (refresh tokens are exchanged over a real socket)."""
    stub = OAuthProvider("stub", dovecot.oauth2.token_url, "client", "secret")
    async with new_server(
        tmp_path / "data",
        dovecot,
        oauth_providers={"stub": stub},
        rate_limit_per_s=1e6,
        rate_limit_burst=1_000_000,
        imap_connect_rate_per_s=1e6,
        imap_connect_rate_per_host_per_s=1e6,
    ) as srv:
        yield srv


@pytest.fixture
async def world(
    fast_server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> AsyncIterator[World]:
    """A worker-connected account watching INBOX, with two messages announced and logged."""
    dovecot.create_mailbox(imap_user, "Work")
    async with connect(url(fast_server, "/workers"), open_timeout=10) as ws:
        peer = Peer(ws)
        login = plain(dovecot, imap_user.username, imap_user.password)
        acct = {"account": imap_user.username, "list": ["INBOX"]}
        assert await peer.call([["connect", login, 1], ["watchMailboxes", acct, 2]]) == [
            ["connected", {}, 1],
            ["watchingMailboxes", {"list": ["INBOX"]}, 2],
        ]
        await asyncio.to_thread(dovecot.append_many, imap_user, [message("a"), message("b")])
        pushes = [await peer.push(), await peer.push()]
    uidvalidity = dovecot.uidvalidity(imap_user)
    yield World(
        dovecot,
        imap_user,
        f"INBOX!{uidvalidity}",
        tuple(p["messageId"] for p in pushes),
        tuple(p["eventId"] for p in pushes),
    )


# -- the properties --------------------------------------------------------------------------

# The server, the account and the sockets deliberately live across examples, as they would for
# a real client sending one bad command after another.
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Peers:
    """One socket per interface, opened at the first example and kept for the next ones."""

    def __init__(self, server: SwitchboardServer, world: World) -> None:
        self.server = server
        self._world = world
        self._open: dict[str, Peer] = {}
        self._stack = contextlib.AsyncExitStack()

    async def new(self, path: str) -> Peer:
        ws = await self._stack.enter_async_context(connect(url(self.server, path), open_timeout=10))
        return Peer(ws)

    async def get(self, path: str) -> Peer:
        if path not in self._open:
            peer = await self.new(path)
            if path == "/clients":
                world = self._world
                login = plain(world.dovecot, world.user.username, world.user.password)
                assert await peer.call([["connect", login, 0]]) == [["connected", {}, 0]]
            self._open[path] = peer
        return self._open[path]

    async def aclose(self) -> None:
        await self._stack.aclose()


@pytest.fixture
async def peers(fast_server: SwitchboardServer, world: World) -> AsyncIterator[Peers]:
    opened = Peers(fast_server, world)
    yield opened
    await opened.aclose()


@pytest.mark.parametrize("path", ["/workers", "/clients"])
@PROPERTY_SETTINGS
@given(data=st.data())
async def test_every_argument_of_every_command(
    peers: Peers, world: World, path: str, data: st.DataObject
) -> None:
    worker = path == "/workers"
    batch = data.draw(st.lists(commands(world, worker=worker), min_size=1, max_size=3))
    if not worker and data.draw(st.sampled_from([False] * 3 + [True]), label="before connect"):
        # /clients before its connect: a socket of its own, closed right after.
        async with connect(url(peers.server, path), open_timeout=10) as ws:
            await check_frame(Peer(ws), batch)
    else:
        await check_frame(await peers.get(path), batch)


HUGE = [2**63, -(2**63) - 1, 10**30, 1e308, int("9" * 4000)]  # as measured in issue 12


async def test_the_measured_cases(fast_server: SwitchboardServer, world: World) -> None:
    """Issue 12's measurements: each was a 1011 close or a serverError."""
    user = world.user.username
    cases: list[tuple[list[Any], str]] = []
    for huge in HUGE:
        cases += [
            (["watchAll", {"since": huge}], "badArgs"),
            (["watchMailboxes", {"account": user, "list": ["INBOX"], "since": huge}],
             "invalidArguments"),
            (["watchAll", {"group": "g", "visibilityTimeout": huge}], "badArgs"),
            (["ack", {"eventIds": [huge]}], "invalidArguments"),
        ]  # fmt: skip
    for name in ["☃", "\u0000", "a\r\nb", "&", "INBOX..x"]:
        cases += [
            (["getMessageList", {"account": user, "mailboxId": f"{name}!1"}],
             "mailboxDoesNotExist"),
            (["getMessages", {"account": user, "ids": [f"{name}!1?1"], "properties": ["size"]}],
             "mailboxDoesNotExist"),
        ]  # fmt: skip
    cases += [
        (["getMessageList", {"account": user, "mailboxId": "!1"}], "mailboxDoesNotExist"),
        # Over Dovecot's 64 KiB line: it answers BAD, which reads as a malformed command of ours.
        (["getMessageList", {"account": user, "mailboxId": "x" * 70_000 + "!1"}],
         "mailboxDoesNotExist"),
        (["watchMailboxes", {"account": user, "list": ["INBOX"], "group": "a\u0000b"}],
         "invalidArguments"),
        (["connect", {**plain(world.dovecot, user, "x"), "host": "a" * 300}], "invalidArguments"),
        (["connect", plain(world.dovecot, user, "pass\u0000word")], "invalidArguments"),
        (["connect", {**plain(world.dovecot, user, "x"), "auth": {
            "type": "xoauth2", "username": "a\u0001b", "token": {"type": "access", "token": "t"}}}],
         "invalidArguments"),
    ]  # fmt: skip
    async with connect(url(fast_server, "/workers"), open_timeout=10) as ws:
        peer = Peer(ws)
        for command, expected in cases:
            [[name, args, tag]] = await exchange(peer, [[*command, "t"]])
            assert (name, args["type"], tag) == ("error", expected, "t"), (command, args)
        # Still open, and every case was answered in turn.
        assert await exchange(peer, [["ack", {"eventIds": []}, "ping"]]) == [
            ["acked", {"eventIds": []}, "ping"]
        ]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.one_of(st.text(max_size=60), st.sampled_from(["[", "[[", "[1e999]", "[[]]", "{}"])))
async def test_any_text_frame_is_answered(fast_server: SwitchboardServer, text: str) -> None:
    async with connect(url(fast_server, "/workers"), open_timeout=10) as ws:
        peer = Peer(ws)
        reply = await exchange(peer, text)  # type: ignore[arg-type]
        assert isinstance(reply, list)
        for response in reply:
            assert response[0] != "error" or response[1]["type"] != "serverError", (text, reply)
        assert await exchange(peer, [["ack", {"eventIds": []}, "ping"]]) == [
            ["acked", {"eventIds": []}, "ping"]
        ]


# -- the log ---------------------------------------------------------------------------------


class _PeerFaultSeen(logging.Handler):
    """Sets ``event`` when websockets logs a peer's failed handshake (``"! …"``)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("! "):
            self.event.set()


@pytest.mark.parametrize(
    "sent",
    [b"", b"G", b"GET /workers HTTP/1.1\r\n", b"GET / HTTP/1.1\r\nHost: x", b"NOT HTTP\r\n\r\n"],
)
async def test_a_half_open_connection_is_one_log_line_not_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, sent: bytes
) -> None:
    """A TCP connection that closes before finishing its request (a health probe, a scanner)."""
    caplog.set_level(logging.DEBUG, logger="switchboard")
    seen = _PeerFaultSeen()
    logging.getLogger("switchboard").addHandler(seen)
    settings = ServerSettings(host="127.0.0.1", port=0, data_dir=tmp_path / "data")
    try:
        async with SwitchboardServer(settings) as srv:
            _, writer = await asyncio.open_connection("127.0.0.1", srv.port)
            writer.write(sent)
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            await asyncio.wait_for(seen.event.wait(), 10)
            await _still_serving(srv)
    finally:
        logging.getLogger("switchboard").removeHandler(seen)
    faults = [r for r in caplog.records if r.getMessage().startswith("! ")]
    assert len(faults) == 1, [r.getMessage() for r in faults]
    assert "no valid HTTP request" in faults[0].getMessage()
    assert "\n" not in faults[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert "Traceback" not in caplog.text


async def _still_serving(srv: SwitchboardServer) -> None:
    async with connect(url(srv, "/workers"), open_timeout=10) as ws:
        assert await Peer(ws).call([["ack", {"eventIds": []}, 1]]) == [
            ["acked", {"eventIds": []}, 1]
        ]


# -- integers a browser reads exactly --------------------------------------------------------

WITH_ATTACHMENT = (
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: with attachment\r\n"
    b"Date: Tue, 03 Jun 2014 10:00:00 -0700\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
    b"--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    b"--b1\r\nContent-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="a.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n"
)


async def test_every_integer_sent_fits_a_javascript_number(
    fast_server: SwitchboardServer, world: World
) -> None:
    """Replies of every command, pushes (live, replayed, grouped, with summaries) and the HTTP
    documents: every integer in them is at most 2**53 - 1 (issue 12 §4)."""
    seen: list[Any] = []
    user, inbox = world.user.username, world.mailbox_id
    every_property = sorted(SUPPORTED_PROPERTIES)
    login = plain(world.dovecot, user, world.user.password)
    async with (
        connect(url(fast_server, "/workers"), open_timeout=10) as w1,
        connect(url(fast_server, "/workers"), open_timeout=10) as w2,
        connect(url(fast_server, "/clients"), open_timeout=10) as c1,
    ):
        worker, grouped, client = Peer(w1), Peer(w2), Peer(c1)

        async def call(peer: Peer, frame: list[Any]) -> list[Any]:
            reply = await exchange(peer, frame)
            seen.append(reply)
            assert all(r[0] != "error" for r in reply), reply
            return reply

        await call(worker, [
            ["connect", login, 1],
            ["watchMailboxes", {"account": user, "list": ["INBOX", "Work"], "summary": True}, 2],
            ["watchAll", {"since": 0, "summary": True}, 3],
            ["getMailboxes", {"account": user}, 4],
            ["getMessageList", {"account": user, "mailboxId": inbox}, 5],
            ["getMessages", {"account": user, "ids": list(world.message_ids),
                             "properties": every_property}, 6],
            ["ack", {"eventIds": list(world.event_ids)}, 7],
        ])  # fmt: skip
        seen.extend([await worker.push(), await worker.push()])  # the replay after `since`
        [_, _, [_, mailboxes, _]] = await call(client, [
            ["connect", login, 1],
            ["watchMailboxes", {"list": ["INBOX"], "since": 0, "summary": True}, 2],
            ["getMailboxes", {}, 3],
        ])  # fmt: skip
        seen.extend([await client.push(), await client.push()])
        await call(client, [["getMailboxes", {"state": mailboxes["state"]}, 4]])
        await call(grouped, [["watchAll", {"group": "g", "visibilityTimeout": 30,
                                           "summary": True}, 1]])  # fmt: skip
        uid = await asyncio.to_thread(world.dovecot.append, world.user, WITH_ATTACHMENT)
        for peer in (worker, client, grouped):
            seen.append(await peer.push())
        group_push = seen[-1]
        await call(grouped, [["ack", {"eventIds": [group_push["eventId"]]}, 2]])
        await call(client, [
            ["getMessages", {"ids": [f"{inbox}?{uid}"], "properties": every_property}, 5],
        ])  # fmt: skip
    for path in ["/health", "/api/accounts", f"/api/accounts/{user}", "/api/latency"]:
        status, body = await asyncio.to_thread(_get, fast_server.port, path)
        assert status == 200, (path, body)
        seen.append(body)
    numbers = list(ints_in(seen))
    too_big = [n for n in numbers if abs(n) > MAX_SAFE_INTEGER]
    assert not too_big, too_big
    # The walk saw what matters: the mailbox-list state, event ids, sizes.
    assert isinstance(mailboxes["state"], int)
    assert mailboxes["state"] in numbers and group_push["eventId"] in numbers
    assert group_push["summary"]["size"] == len(WITH_ATTACHMENT)


def _get(port: int, path: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()
