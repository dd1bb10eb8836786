"""The engine against a real Dovecot: every new message announced once, in order, through faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest

from switchboard.engine import AccountState, ConnectionFailed, Engine, EngineSettings
from switchboard.imap.errors import AuthenticationFailed
from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth, TlsMode
from switchboard.model.events import MailboxGone, UidValidityChanged
from tests.support.checkpoints import CollectingSink, MemoryCheckpoints
from tests.support.dovecot import DovecotServer, ImapUser

pytestmark = pytest.mark.dovecot

FAST = EngineSettings(
    connect_timeout_s=5.0,
    command_timeout_s=5.0,
    backoff_initial_s=0.2,
    backoff_cap_s=1.0,
    auth_backoff_initial_s=1.0,
    auth_backoff_cap_s=4.0,
    stop_timeout_s=3.0,
)
PER_MESSAGE_S = 5.0  # Dovecot delays IDLE notifications by up to ~0.5 s; leave room


def message(n: int, subject: bytes | None = b"hello") -> bytes:
    head = b"From: Ann <ann@example.com>\r\nTo: bob@example.com\r\n"
    if subject is not None:
        head += b"Subject: " + subject + b" " + str(n).encode() + b"\r\n"
    return (
        head + b"Message-ID: <m" + str(n).encode() + b"@x>\r\n\r\nbody " + str(n).encode() + b"\r\n"
    )


def config_for(
    server: DovecotServer,
    user: ImapUser,
    *,
    port: int | None = None,
    tls: bool = False,
    password: str | None = None,
) -> AccountConfig:
    return AccountConfig(
        account_id=user.username,
        host=server.host,
        port=port if port is not None else (server.tls_port if tls else server.port),
        auth=PasswordAuth(user.username, password if password is not None else user.password),
        tls=TlsMode.IMPLICIT if tls else TlsMode.PLAIN,
        ca_file=str(server.ca_file),
    )


class Harness:
    def __init__(self, settings: EngineSettings = FAST, **kw) -> None:
        self.store = MemoryCheckpoints()
        self.sink = CollectingSink()
        self.engine = Engine(self.store, self.sink, settings=settings, **kw)

    async def until(self, predicate: Callable[[], bool], timeout_s: float) -> None:
        """Wait for a condition on engine state (polled: state has no event to wait on)."""
        async with asyncio.timeout(timeout_s):
            while not predicate():  # noqa: ASYNC110 - engine state has no event to wait on
                await asyncio.sleep(0.02)

    def state(self, account_id: str, mailbox: str = "INBOX") -> AccountState | None:
        for m in self.engine.status(account_id).mailboxes:
            if m.name == mailbox:
                return m.state
        return None

    async def idle(self, account_id: str, *mailboxes: str, timeout_s: float = 10.0) -> None:
        await self.until(
            lambda: all(self.state(account_id, m) is AccountState.IDLE for m in mailboxes),
            timeout_s,
        )


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    await h.engine.start()
    try:
        yield h
    finally:
        await h.engine.stop()


async def append(server: DovecotServer, user: ImapUser, msg: bytes, mailbox: str = "INBOX") -> int:
    return await asyncio.to_thread(server.append, user, msg, mailbox)


async def test_empty_mailbox_then_first_mail_over_tls(harness, dovecot, imap_user):
    harness.engine.add_account(config_for(dovecot, imap_user, tls=True))
    result = await harness.engine.watch(imap_user.username, ["INBOX"])
    assert result.watching == ("INBOX",) and result.failed == ()
    uid = await append(dovecot, imap_user, message(1))
    await harness.sink.wait_for_uids([uid], timeout_s=PER_MESSAGE_S)
    event = harness.sink.new_messages()[0]
    assert (event.account_id, event.mailbox, event.uid) == (imap_user.username, "INBOX", uid)
    assert event.summary is not None and event.summary.subject == "hello 1"
    assert event.summary.from_ == "Ann <ann@example.com>"
    assert harness.engine.status(imap_user.username).counters["events"] == 1


async def test_existing_mail_is_not_announced_and_several_mailboxes_are(
    harness, dovecot, imap_user
):
    await append(dovecot, imap_user, message(0))
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Work")
    await asyncio.to_thread(dovecot.append, imap_user, message(0), "Work")
    harness.engine.add_account(config_for(dovecot, imap_user))
    result = await harness.engine.watch(imap_user.username, ["INBOX", "Work", "Nope"])
    assert result.watching == ("INBOX", "Work") and result.failed == ("Nope",)
    assert harness.engine.watched(imap_user.username) == ("INBOX", "Work")
    inbox_uid = await append(dovecot, imap_user, message(1))
    work_uid = await append(dovecot, imap_user, message(2), "Work")
    await harness.sink.wait_for(
        lambda: harness.sink.uids(mailbox="INBOX") and harness.sink.uids(mailbox="Work"),
        2 * PER_MESSAGE_S,
    )
    assert harness.sink.uids(mailbox="INBOX") == [inbox_uid]
    assert harness.sink.uids(mailbox="Work") == [work_uid]


async def test_burst_of_fifty_each_announced_once_in_order(harness, dovecot, imap_user):
    harness.engine.add_account(config_for(dovecot, imap_user))
    await harness.engine.watch(imap_user.username, ["INBOX"])
    await harness.idle(imap_user.username, "INBOX")
    uids = await asyncio.to_thread(dovecot.append_many, imap_user, [message(i) for i in range(50)])
    await harness.sink.wait_for(lambda: len(harness.sink.uids()) >= 50, 10.0)
    assert harness.sink.uids() == sorted(uids)
    # Batched: far fewer record() calls than messages, each with its checkpoint at its last UID.
    calls = [c for c in harness.store.calls if c.events]
    assert len(calls) < 50
    assert all(c.checkpoint.last_uid == c.events[-1].uid for c in calls)


async def test_odd_messages_are_announced(harness, dovecot, imap_user):
    harness.engine.add_account(config_for(dovecot, imap_user))
    await harness.engine.watch(imap_user.username, ["INBOX"])
    no_subject = await append(dovecot, imap_user, message(1, subject=None))
    eight_bit = await append(
        dovecot,
        imap_user,
        b"From: J\xc3\xb6rg <j@x.de>\r\nSubject: Gr\xc3\xbc\xc3\x9fe \xff\r\nX-Odd:\r\n\r\nhi\r\n",
    )
    await harness.sink.wait_for(lambda: len(harness.sink.uids()) >= 2, 2 * PER_MESSAGE_S)
    assert harness.sink.uids() == [no_subject, eight_bit]
    first, second = harness.sink.new_messages()
    assert first.summary is not None and first.summary.subject is None
    assert second.summary is not None and second.summary.subject.startswith("Grüße")


async def test_killed_imap_process_loses_and_duplicates_nothing(harness, private_dovecot):
    server = private_dovecot
    user = server.new_user()
    harness.engine.add_account(config_for(server, user))
    await harness.engine.watch(user.username, ["INBOX"])
    first = await append(server, user, message(1))
    await harness.sink.wait_for_uids([first], timeout_s=PER_MESSAGE_S)
    assert await asyncio.to_thread(server.kill_imap_processes, user) >= 1
    more = [await append(server, user, message(i)) for i in range(2, 5)]
    await harness.sink.wait_for(lambda: len(harness.sink.uids()) >= 4, 4 * PER_MESSAGE_S)
    assert harness.sink.uids() == [first, *more]
    # The first connection (LIST and STATUS, then the watcher's IDLE) and the reconnect.
    assert harness.engine.status(user.username).counters["connects"] >= 2


async def test_dovecot_restart_while_mail_arrives(harness, private_dovecot):
    server = private_dovecot
    user = server.new_user()
    harness.engine.add_account(config_for(server, user))
    await harness.engine.watch(user.username, ["INBOX"])
    await harness.idle(user.username, "INBOX")
    await asyncio.to_thread(server.stop)
    await harness.until(lambda: harness.state(user.username) is not AccountState.IDLE, 5.0)
    await asyncio.to_thread(server.start)
    uids = [await append(server, user, message(i)) for i in range(3)]
    await harness.sink.wait_for(lambda: len(harness.sink.uids()) >= 3, 3 * PER_MESSAGE_S)
    assert harness.sink.uids() == uids


async def test_blackholed_connection_is_noticed_and_mail_still_arrives(
    dovecot, imap_user, tcp_proxy_factory
):
    settings = EngineSettings(
        connect_timeout_s=2.0,
        command_timeout_s=2.0,
        idle_refresh_s=2.0,
        liveness_grace_s=2.0,
        backoff_initial_s=0.2,
        backoff_cap_s=0.5,
        stop_timeout_s=2.0,
    )
    h = Harness(settings)
    proxy = await tcp_proxy_factory(dovecot.host, dovecot.port)
    h.engine.add_account(config_for(dovecot, imap_user, port=proxy.port))
    try:
        await h.engine.watch(imap_user.username, ["INBOX"])
        await h.idle(imap_user.username, "INBOX")
        proxy.blackhole()
        started = time.monotonic()
        uid = await append(dovecot, imap_user, message(1))
        await h.until(
            lambda: h.engine.status(imap_user.username).counters.get("dead_connections", 0) >= 1,
            8.0,
        )
        assert time.monotonic() - started <= 2.0 + 2.0 + 1.0  # refresh + grace, with slack
        proxy.resume()
        await h.sink.wait_for_uids([uid], timeout_s=10.0)
        assert h.sink.uids() == [uid]
    finally:
        await h.engine.stop()


async def test_wrong_password_is_auth_failed_without_a_hot_loop(harness, dovecot, imap_user):
    config = config_for(dovecot, imap_user)
    harness.engine.add_account(config)
    await harness.engine.watch(imap_user.username, ["INBOX"])
    await harness.idle(imap_user.username, "INBOX")
    wrong = config_for(dovecot, imap_user, password="wrong")
    await harness.engine.update_account(wrong)
    await harness.until(lambda: harness.state(imap_user.username) is AccountState.AUTH_FAILED, 5.0)
    status = harness.engine.status(imap_user.username)
    assert status.state is AccountState.AUTH_FAILED
    assert status.last_error and "wrong" not in status.last_error
    before = status.counters["login_attempts"]
    await asyncio.sleep(3.0)  # a measurement window, not a wait for an event
    attempts = harness.engine.status(imap_user.username).counters["login_attempts"] - before
    assert attempts <= 4  # auth backoff 1 s doubling: a hot loop would make hundreds
    with pytest.raises(AuthenticationFailed):
        await harness.engine.verify(wrong)


async def test_record_failure_advances_nothing_then_recovers(harness, dovecot, imap_user):
    harness.engine.add_account(config_for(dovecot, imap_user))
    await harness.engine.watch(imap_user.username, ["INBOX"])
    await harness.idle(imap_user.username, "INBOX")
    harness.store.fail_records = True
    uid = await append(dovecot, imap_user, message(1))
    await harness.until(lambda: harness.store.failed_records >= 2, 10.0)
    assert harness.sink.uids() == []
    assert harness.state(imap_user.username) in {
        AccountState.ERROR,
        AccountState.CONNECTING,
        AccountState.AUTHENTICATING,
        AccountState.SYNCING,
    }
    harness.store.fail_records = False
    await harness.sink.wait_for_uids([uid], timeout_s=PER_MESSAGE_S)
    assert harness.sink.uids() == [uid]


async def test_uidvalidity_change_is_one_event_without_flood(dovecot, imap_user):
    # A quick delete + recreate may go unnoticed by the server's session: the identity check
    # at each IDLE refresh catches it, so refresh often here.
    harness = Harness(replace(FAST, idle_refresh_s=1.0))
    try:
        await _uidvalidity_change(harness, dovecot, imap_user)
    finally:
        await harness.engine.stop()


async def _uidvalidity_change(harness, dovecot, imap_user):
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Archive")
    harness.engine.add_account(config_for(dovecot, imap_user))
    await harness.engine.watch(imap_user.username, ["Archive"])
    first = await append(dovecot, imap_user, message(1), "Archive")
    await harness.sink.wait_for_uids([first], "Archive", PER_MESSAGE_S)

    def recreate_with_mail() -> None:
        dovecot.delete_mailbox(imap_user, "Archive")
        dovecot.create_mailbox(imap_user, "Archive")
        dovecot.append_many(imap_user, [message(i) for i in range(5)], "Archive")

    await asyncio.to_thread(recreate_with_mail)
    await harness.sink.wait_for(lambda: harness.sink.of_type(UidValidityChanged), 10.0)
    await harness.idle(imap_user.username, "Archive")
    last = await append(dovecot, imap_user, message(9), "Archive")
    await harness.sink.wait_for(lambda: len(harness.sink.uids(mailbox="Archive")) >= 2, 10.0)
    changes = harness.sink.of_type(UidValidityChanged)
    assert len(changes) == 1
    assert harness.sink.uids(mailbox="Archive") == [first, last]
    assert harness.sink.new_messages()[-1].uidvalidity == changes[0].new_uidvalidity


async def test_deleted_mailbox_is_reported_and_account_keeps_running(harness, dovecot, imap_user):
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Old")
    harness.engine.add_account(config_for(dovecot, imap_user))
    await harness.engine.watch(imap_user.username, ["INBOX", "Old"])
    await harness.idle(imap_user.username, "INBOX", "Old")
    await asyncio.to_thread(dovecot.delete_mailbox, imap_user, "Old")
    await harness.sink.wait_for(lambda: harness.sink.of_type(MailboxGone), 10.0)
    assert harness.engine.watched(imap_user.username) == ("INBOX",)
    uid = await append(dovecot, imap_user, message(1))
    await harness.sink.wait_for_uids([uid], timeout_s=PER_MESSAGE_S)
    assert len(harness.sink.of_type(MailboxGone)) == 1


async def test_xoauth2_refreshes_revoked_token_and_hands_back_rotation(dovecot, imap_user):
    stub = dovecot.oauth2
    access, refresh = stub.issue(imap_user.username)
    stub.revoke(access)
    changed: list[AccountConfig] = []

    async def on_changed(config: AccountConfig) -> None:
        changed.append(config)

    h = Harness(on_credentials_changed=on_changed)
    config = AccountConfig(
        account_id=imap_user.username,
        host=dovecot.host,
        port=dovecot.port,
        auth=OAuth2Auth(
            imap_user.username,
            access_token=access,
            refresh_token=refresh,
            token_endpoint=stub.token_url,
            client_id="cid",
            client_secret="c+s&=t",
        ),
        tls=TlsMode.PLAIN,
    )
    h.engine.add_account(config)
    try:
        await h.engine.watch(imap_user.username, ["INBOX"])
        uid = await append(dovecot, imap_user, message(1))
        await h.sink.wait_for_uids([uid], timeout_s=PER_MESSAGE_S)
        assert changed, "the rotated refresh token was not handed back"
        latest = changed[-1].auth
        assert isinstance(latest, OAuth2Auth)
        assert latest.refresh_token not in (None, refresh)
        assert latest.access_token != access
        assert stub.requests[0]["client_secret"] == "c+s&=t"
    finally:
        await h.engine.stop()


async def test_verify_and_command_connection(harness, dovecot, imap_user):
    config = config_for(dovecot, imap_user, tls=True)
    assert await harness.engine.verify(config) == config
    closed = config_for(dovecot, imap_user, port=1)
    with pytest.raises(ConnectionFailed):
        await harness.engine.verify(closed)
    harness.engine.add_account(config)
    async with harness.engine.command_connection(imap_user.username) as conn:
        names = [item.name for item in await conn.list()]
    assert "INBOX" in names
    await harness.engine.remove_account(imap_user.username)
    assert not harness.engine.has_account(imap_user.username)
