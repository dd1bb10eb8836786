"""ImapConnection against a real Dovecot (and a few scripted peers for misbehaviour)."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from switchboard.imap.connection import ConnectionState, ImapConnection, TlsMode
from switchboard.imap.errors import (
    AuthenticationFailed,
    CommandFailed,
    ConnectionLost,
    ImapTimeout,
    InsecureConnection,
    MailboxNotFound,
)
from switchboard.imap.responses import Exists
from switchboard.imap.tls import default_ssl_context
from tests.support.dovecot import DovecotServer, ImapUser

pytestmark = pytest.mark.dovecot

# Dovecot pushes EXISTS ~500 ms after a change; allow for a slow CI machine.
PUSH_TIMEOUT_S = 5.0
# A password with everything that must not break a command line: spaces, quotes, backslash,
# non-ASCII (forces a literal).
ODD_USERNAME = "odd-password-user"
ODD_PASSWORD = 'p a"s\\s wörd'

MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: Bob <bob@example.com>\r\n"
    b"Subject: hello there\r\n"
    b"Message-ID: <m1@example.com>\r\n"
    b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
    b"\r\n"
    b"body line\r\n"
)

Connect = Callable[..., Awaitable[ImapConnection]]


@pytest.fixture
async def connect(dovecot: DovecotServer) -> AsyncIterator[Connect]:
    """Open connections to the session Dovecot (implicit TLS by default); close them after."""
    opened: list[ImapConnection] = []

    async def open_(**kwargs: object) -> ImapConnection:
        kwargs.setdefault("ssl_context", default_ssl_context(dovecot.ca_file))
        tls = kwargs.setdefault("tls", TlsMode.IMPLICIT)
        port = dovecot.tls_port if tls is TlsMode.IMPLICIT else dovecot.port
        conn = await ImapConnection.open(dovecot.host, port, **kwargs)  # type: ignore[arg-type]
        opened.append(conn)
        return conn

    yield open_
    for conn in opened:
        await conn.close()


async def logged_in(connect: Connect, user: ImapUser) -> ImapConnection:
    conn = await connect()
    await conn.login(user.username, user.password)
    return conn


# ---------------------------------------------------------------------- transport security


async def test_implicit_tls_with_ca_file(connect: Connect, imap_user: ImapUser) -> None:
    conn = await connect()
    assert conn.state is ConnectionState.NOT_AUTHENTICATED
    assert "IMAP4REV1" in conn.capabilities
    await conn.login(imap_user.username, imap_user.password)
    assert conn.state is ConnectionState.AUTHENTICATED
    assert "IDLE" in conn.capabilities  # refreshed after login


async def test_verification_fails_without_ca_file(dovecot: DovecotServer) -> None:
    with pytest.raises(ConnectionLost) as info:
        await ImapConnection.open(dovecot.host, dovecot.tls_port, connect_timeout_s=5)
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)


async def test_starttls(connect: Connect, imap_user: ImapUser) -> None:
    conn = await connect(tls=TlsMode.STARTTLS)
    # Capabilities were re-read over TLS: the server no longer offers STARTTLS.
    assert "STARTTLS" not in conn.capabilities
    await conn.login(imap_user.username, imap_user.password)
    assert conn.state is ConnectionState.AUTHENTICATED


async def test_starttls_verification_fails_without_ca_file(dovecot: DovecotServer) -> None:
    with pytest.raises(ConnectionLost):
        await ImapConnection.open(dovecot.host, dovecot.port, tls=TlsMode.STARTTLS)


async def test_plain_to_loopback(connect: Connect, imap_user: ImapUser) -> None:
    conn = await connect(tls=TlsMode.PLAIN)
    await conn.login(imap_user.username, imap_user.password)
    assert conn.state is ConnectionState.AUTHENTICATED


async def test_plain_to_other_host_refused_before_connecting() -> None:
    started = time.monotonic()
    # 192.0.2.1 (TEST-NET-1) never answers: a connection attempt would time out, not refuse.
    with pytest.raises(InsecureConnection):
        await ImapConnection.open("192.0.2.1", 143, tls=TlsMode.PLAIN, connect_timeout_s=30)
    assert time.monotonic() - started < 1.0


# -------------------------------------------------------------------------- authentication


@pytest.fixture(scope="module")
def odd_user(dovecot: DovecotServer) -> ImapUser:
    """A user whose password needs quoting and a literal.

    The fixture cannot make such a user, so we add a line to its passwd-file; Dovecot
    re-reads the file within a second (the test logs in in a bounded retry loop).
    """
    users = Path(dovecot.dir) / "users"
    line = f"{ODD_USERNAME}:{{PLAIN}}{ODD_PASSWORD}\n"
    if line not in users.read_text(encoding="utf-8"):
        with users.open("a", encoding="utf-8") as f:
            f.write(line)
    return ImapUser(ODD_USERNAME, ODD_PASSWORD)


async def test_login_with_spaces_quotes_and_non_ascii(connect: Connect, odd_user: ImapUser) -> None:
    deadline = time.monotonic() + 5.0
    while True:  # waits for Dovecot's once-a-second passwd-file re-read, bounded
        conn = await connect(tls=TlsMode.PLAIN)
        try:
            await conn.login(odd_user.username, odd_user.password)
            break
        except AuthenticationFailed:
            if time.monotonic() > deadline:
                raise
            await conn.close()
            await asyncio.sleep(0.2)
    assert conn.state is ConnectionState.AUTHENTICATED


async def test_crlf_in_password_cannot_inject(
    connect: Connect, imap_user: ImapUser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="switchboard.imap")
    conn = await connect()
    evil = "x\r\nA99 LOGOUT\r\nA100 NOOP"
    with pytest.raises(AuthenticationFailed):
        await conn.login(imap_user.username, evil)
    # Nothing was executed: the connection is still there and a real login works.
    await conn.login(imap_user.username, imap_user.password)
    assert conn.state is ConnectionState.AUTHENTICATED
    assert "A99" not in caplog.text
    assert imap_user.password not in caplog.text


async def test_wrong_password(connect: Connect, imap_user: ImapUser) -> None:
    conn = await connect()
    with pytest.raises(AuthenticationFailed):
        await conn.login(imap_user.username, imap_user.password + "-wrong")
    assert conn.state is ConnectionState.NOT_AUTHENTICATED


async def test_authenticate_plain(
    connect: Connect, imap_user: ImapUser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="switchboard.imap")
    conn = await connect()
    await conn.authenticate_plain(imap_user.username, imap_user.password)
    assert conn.state is ConnectionState.AUTHENTICATED
    assert imap_user.password not in caplog.text


async def test_authenticate_plain_wrong_password(connect: Connect, imap_user: ImapUser) -> None:
    conn = await connect()
    with pytest.raises(AuthenticationFailed):
        await conn.authenticate_plain(imap_user.username, "nope")


async def test_xoauth2(
    connect: Connect,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="switchboard.imap")
    access, _refresh = dovecot.oauth2.issue(imap_user.username)
    conn = await connect()
    await conn.authenticate_xoauth2(imap_user.username, access)
    assert conn.state is ConnectionState.AUTHENTICATED
    assert access not in caplog.text


async def test_xoauth2_rejected_token_fails_without_hanging(
    connect: Connect, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    access, _refresh = dovecot.oauth2.issue(imap_user.username)
    dovecot.oauth2.revoke(access)
    conn = await connect(command_timeout_s=10)
    started = time.monotonic()
    with pytest.raises(AuthenticationFailed) as info:
        await conn.authenticate_xoauth2(imap_user.username, access)
    assert time.monotonic() - started < 5.0
    assert access not in str(info.value)
    assert conn.state is ConnectionState.NOT_AUTHENTICATED


# -------------------------------------------------------------------------------- mailboxes


async def test_select_and_examine(
    connect: Connect, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    dovecot.append_many(imap_user, [MESSAGE, MESSAGE])
    conn = await logged_in(connect, imap_user)
    info = await conn.select("INBOX")
    assert conn.state is ConnectionState.SELECTED
    assert (info.mailbox, info.exists, info.uidnext, info.readonly) == ("INBOX", 2, 3, False)
    assert info.uidvalidity == dovecot.uidvalidity(imap_user)
    assert "\\Seen" in info.flags
    examined = await conn.select("INBOX", readonly=True)
    assert examined.readonly is True
    assert examined.exists == 2


async def test_select_missing_mailbox(connect: Connect, imap_user: ImapUser) -> None:
    conn = await logged_in(connect, imap_user)
    await conn.select("INBOX")
    with pytest.raises(MailboxNotFound):
        await conn.select("No Such Box")
    # RFC 3501 §6.3.1: a failed SELECT leaves no mailbox selected.
    assert conn.state is ConnectionState.AUTHENTICATED


async def test_list_includes_inbox_as_atom(
    connect: Connect, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    dovecot.create_mailbox(imap_user, "Archive")
    conn = await logged_in(connect, imap_user)
    names = {item.name for item in await conn.list()}
    assert {"INBOX", "Archive"} <= names


async def test_status(connect: Connect, dovecot: DovecotServer, imap_user: ImapUser) -> None:
    uid = dovecot.append(imap_user, MESSAGE)
    conn = await logged_in(connect, imap_user)
    status = await conn.status("INBOX")
    assert status == {
        "MESSAGES": 1,
        "UIDNEXT": uid + 1,
        "UIDVALIDITY": dovecot.uidvalidity(imap_user),
    }
    with pytest.raises(MailboxNotFound):
        await conn.status("Nope")


async def test_uid_search(connect: Connect, dovecot: DovecotServer, imap_user: ImapUser) -> None:
    uids = dovecot.append_many(imap_user, [MESSAGE] * 3)
    conn = await logged_in(connect, imap_user)
    await conn.select("INBOX")
    assert await conn.uid_search() == uids
    assert await conn.uid_search(f"UID {uids[1]}:*") == uids[1:]


async def test_uid_fetch_envelope_bodystructure_body(
    connect: Connect, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    uids = dovecot.append_many(imap_user, [MESSAGE, MESSAGE.replace(b"hello", b"second")])
    conn = await logged_in(connect, imap_user)
    await conn.select("INBOX")
    fetches = await conn.uid_fetch("1:*", "(UID ENVELOPE BODYSTRUCTURE BODY.PEEK[])")
    assert [f.uid for f in fetches] == uids
    first = fetches[0]
    assert first.envelope is not None
    assert first.envelope.subject == b"hello there"
    assert first.envelope.message_id == b"<m1@example.com>"
    assert first.bodystructure is not None
    assert (first.bodystructure.maintype, first.bodystructure.subtype) == ("text", "plain")
    assert first.sections["BODY[]"] == MESSAGE
    assert fetches[1].envelope is not None
    assert fetches[1].envelope.subject == b"second there"
    # BODY.PEEK did not set \Seen.
    flags = await conn.uid_fetch("1:*", "(FLAGS)")
    assert all("\\Seen" not in (f.flags or ()) for f in flags)


# ------------------------------------------------------------------------------------ IDLE


async def test_idle_sees_exists_after_append(
    connect: Connect, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    conn = await logged_in(connect, imap_user)
    await conn.select("INBOX")
    await conn.idle_start()
    assert conn.state is ConnectionState.IDLING
    uid = await asyncio.to_thread(dovecot.append, imap_user, MESSAGE)
    seen: list[object] = []
    deadline = time.monotonic() + PUSH_TIMEOUT_S
    while not any(isinstance(r, Exists) for r in seen):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no EXISTS within {PUSH_TIMEOUT_S} s; got {seen!r}"
        seen += await conn.idle_wait(remaining)
    assert Exists(1) in seen
    await conn.idle_done()
    assert conn.state is ConnectionState.SELECTED
    assert await conn.uid_search() == [uid]


async def test_idle_wait_times_out_empty_and_done(connect: Connect, imap_user: ImapUser) -> None:
    conn = await logged_in(connect, imap_user)
    await conn.select("INBOX")
    await conn.idle_start()
    assert await conn.idle_wait(0.05) == []
    assert await conn.idle_done() == []
    assert conn.state is ConnectionState.SELECTED
    await conn.noop()


async def test_idle_renew_pipelines_done_and_idle_and_keeps_every_push(
    connect: Connect, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    conn = await logged_in(connect, imap_user)
    await conn.select("INBOX")
    await conn.idle_start()
    for _ in range(3):  # Dovecot takes IDLE right behind DONE, again and again
        assert await conn.idle_renew(timeout_s=5.0) == []
        assert conn.state is ConnectionState.IDLING
    uid = await asyncio.to_thread(dovecot.append, imap_user, MESSAGE)
    seen: list[object] = []
    deadline = time.monotonic() + PUSH_TIMEOUT_S
    while not any(isinstance(r, Exists) for r in seen):
        # Renewing while the push is on its way: it arrives through one call or the other.
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no EXISTS within {PUSH_TIMEOUT_S} s; got {seen!r}"
        seen += await conn.idle_renew(timeout_s=5.0)
        seen += await conn.idle_wait(min(0.2, remaining))
    assert Exists(1) in seen
    assert await conn.idle_done() == []
    assert conn.state is ConnectionState.SELECTED
    assert await conn.uid_search() == [uid]


async def test_idle_fetch_leaves_fetches_and_idles_in_one_write(
    connect: Connect, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    conn = await logged_in(connect, imap_user)
    await conn.select("INBOX", readonly=True)
    await conn.idle_start()
    uid = await asyncio.to_thread(dovecot.append, imap_user, MESSAGE)
    pushed = await conn.idle_wait(PUSH_TIMEOUT_S)
    assert Exists(1) in pushed
    fetches = await conn.idle_fetch(f"{uid}:*", "(UID RFC822.SIZE)", timeout_s=5.0)
    assert [(f.uid, f.size) for f in fetches] == [(uid, len(MESSAGE))]
    assert conn.state is ConnectionState.IDLING
    # Idling again: the next mail is pushed, and the same wake path works again.
    second = await asyncio.to_thread(dovecot.append, imap_user, MESSAGE)
    seen: list[object] = []
    deadline = time.monotonic() + PUSH_TIMEOUT_S
    while Exists(2) not in seen:
        assert time.monotonic() < deadline, f"no second EXISTS; got {seen!r}"
        seen += await conn.idle_wait(0.2)
    assert [f.uid for f in await conn.idle_fetch(f"{second}:*", "(UID)")] == [second]
    assert await conn.idle_done() == []
    assert conn.state is ConnectionState.SELECTED
    assert await conn.uid_search() == [uid, second]


async def test_idle_fetch_refused_fetch_raises_and_the_next_call_is_clean(
    connect: Connect, imap_user: ImapUser
) -> None:
    conn = await logged_in(connect, imap_user)
    await conn.select("INBOX")
    await conn.idle_start()
    with pytest.raises(CommandFailed):
        await conn.idle_fetch("1:*", "(NOT-AN-ITEM)", timeout_s=5.0)
    # The IDLE written behind the refused FETCH still started: leaving it works as usual.
    assert await conn.idle_done() == []
    assert conn.state is ConnectionState.SELECTED
    await conn.noop()

async def idling_behind_blackhole(
    tcp_proxy_factory: Callable[..., Awaitable[object]], dovecot: DovecotServer, user: ImapUser
) -> ImapConnection:
    """A connection through a TCP proxy, idling on INBOX, whose proxy then black-holes."""
    proxy = await tcp_proxy_factory(dovecot.host, dovecot.port)
    conn = await ImapConnection.open(
        "127.0.0.1", proxy.port, tls=TlsMode.PLAIN  # type: ignore[attr-defined]
    )
    await conn.login(user.username, user.password)
    await conn.select("INBOX")
    await conn.idle_start()
    proxy.blackhole()  # type: ignore[attr-defined]
    return conn


async def test_blackholed_idle_fetch_times_out_and_closes(
    dovecot: DovecotServer, imap_user: ImapUser, tcp_proxy_factory: Callable[..., Awaitable[object]]
) -> None:
    conn = await idling_behind_blackhole(tcp_proxy_factory, dovecot, imap_user)
    started = time.monotonic()
    with pytest.raises(ImapTimeout):
        await conn.idle_fetch("1:*", "(UID)", timeout_s=0.5)
    assert time.monotonic() - started < 2.0
    assert conn.state is ConnectionState.CLOSED


# ----------------------------------------------------------------- pipelining and failures


async def test_pipelined_commands_complete_on_their_own_tags(
    connect: Connect, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    uids = dovecot.append_many(imap_user, [MESSAGE] * 2)
    conn = await logged_in(connect, imap_user)
    await conn.select("INBOX")
    search, status, listing, fetches = await asyncio.gather(
        conn.uid_search(),
        conn.status("INBOX"),
        conn.list(),
        conn.uid_fetch("1:*", "(UID FLAGS)"),
    )
    assert search == uids
    assert status["MESSAGES"] == 2
    assert [item.name for item in listing] == ["INBOX"]
    assert [f.uid for f in fetches] == uids


async def test_last_received_at_moves(connect: Connect, imap_user: ImapUser) -> None:
    conn = await logged_in(connect, imap_user)
    before = conn.last_received_at
    await conn.noop()
    assert conn.last_received_at > before


async def test_blackholed_command_times_out(
    dovecot: DovecotServer, imap_user: ImapUser, tcp_proxy_factory: Callable[..., Awaitable[object]]
) -> None:
    proxy = await tcp_proxy_factory(dovecot.host, dovecot.port)
    conn = await ImapConnection.open(
        "127.0.0.1", proxy.port, tls=TlsMode.PLAIN, command_timeout_s=0.5  # type: ignore[attr-defined]
    )
    await conn.login(imap_user.username, imap_user.password)
    proxy.blackhole()  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(ImapTimeout):
        await conn.noop()
    assert time.monotonic() - started < 2.0
    assert conn.state is ConnectionState.CLOSED
    with pytest.raises(ImapTimeout):  # the connection stays failed with the same reason
        await conn.noop()


async def test_blackholed_idle_renew_times_out_and_closes(
    dovecot: DovecotServer, imap_user: ImapUser, tcp_proxy_factory: Callable[..., Awaitable[object]]
) -> None:
    conn = await idling_behind_blackhole(tcp_proxy_factory, dovecot, imap_user)
    started = time.monotonic()
    with pytest.raises(ImapTimeout):
        await conn.idle_renew(timeout_s=0.5)  # the bound given, not command_timeout_s (30 s)
    assert time.monotonic() - started < 2.0
    assert conn.state is ConnectionState.CLOSED


async def test_logout(connect: Connect, imap_user: ImapUser) -> None:
    conn = await logged_in(connect, imap_user)
    await conn.logout()
    assert conn.state is ConnectionState.CLOSED
    with pytest.raises(ConnectionLost):
        await conn.noop()


async def test_context_manager_logs_out(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    async with await ImapConnection.open(
        dovecot.host, dovecot.tls_port, ssl_context=default_ssl_context(dovecot.ca_file)
    ) as conn:
        await conn.login(imap_user.username, imap_user.password)
    assert conn.state is ConnectionState.CLOSED


# ------------------------------------------------------------------- scripted misbehaviour


async def scripted_server(
    greeting: bytes, reply: bytes = b""
) -> tuple[asyncio.Server, int]:
    """A plain TCP peer: sends ``greeting``, answers the first line with ``reply``, hangs up."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        if reply:
            await reader.readline()
            writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_eof_mid_command_is_connection_lost() -> None:
    server, port = await scripted_server(
        b"* OK [CAPABILITY IMAP4rev1] hi\r\n", b"* 1 FETCH (UID 1 BODY[] {100}\r\nonly part"
    )
    async with server:
        conn = await ImapConnection.open("127.0.0.1", port, tls=TlsMode.PLAIN)
        with pytest.raises(ConnectionLost):
            await conn.noop()
        assert conn.state is ConnectionState.CLOSED


async def test_a_peer_that_hangs_up_after_starttls_ok_is_connection_lost() -> None:
    server, port = await scripted_server(
        b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n", b"A1 OK begin TLS now\r\n"
    )
    async with server:
        with pytest.raises(ConnectionLost):
            await ImapConnection.open("127.0.0.1", port, tls=TlsMode.STARTTLS)


async def test_bye_greeting_is_connection_lost() -> None:
    server, port = await scripted_server(b"* BYE too many connections\r\n")
    async with server:
        with pytest.raises(ConnectionLost, match="too many connections"):
            await ImapConnection.open("127.0.0.1", port, tls=TlsMode.PLAIN)


async def test_preauth_greeting_is_authenticated() -> None:
    server, port = await scripted_server(b"* PREAUTH [CAPABILITY IMAP4rev1 IDLE] welcome\r\n")
    async with server:
        conn = await ImapConnection.open("127.0.0.1", port, tls=TlsMode.PLAIN)
        assert conn.state is ConnectionState.AUTHENTICATED
        assert conn.capabilities == frozenset({"IMAP4REV1", "IDLE"})
        await conn.close()


async def test_refused_port_is_connection_lost() -> None:
    server, port = await scripted_server(b"")
    server.close()
    await server.wait_closed()
    with pytest.raises(ConnectionLost):
        await ImapConnection.open("127.0.0.1", port, tls=TlsMode.PLAIN)


def test_tls_login_idle_on_uvloop(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    import uvloop  # the test extra installs it; a missing one must fail, not skip

    async def session() -> list[object]:
        conn = await ImapConnection.open(
            dovecot.host, dovecot.tls_port, ssl_context=default_ssl_context(dovecot.ca_file)
        )
        await conn.login(imap_user.username, imap_user.password)
        await conn.select("INBOX")
        await conn.idle_start()
        await asyncio.to_thread(dovecot.append, imap_user, MESSAGE)
        seen: list[object] = []
        deadline = time.monotonic() + PUSH_TIMEOUT_S
        while Exists(1) not in seen and time.monotonic() < deadline:
            seen += await conn.idle_wait(deadline - time.monotonic())
        await conn.idle_done()
        await conn.logout()
        return seen

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert Exists(1) in runner.run(session())
