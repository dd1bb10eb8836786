"""Self-test of the Dovecot fixture: the guarantees other integration tests rely on."""

from __future__ import annotations

import imaplib
import socket
import ssl

import pytest

from tests.support.dovecot import DovecotServer, ImapUser

pytestmark = pytest.mark.dovecot

MSG = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hello\r\n\r\nbody\r\n"


def _login(server: DovecotServer, user: ImapUser) -> imaplib.IMAP4:
    imap = imaplib.IMAP4(server.host, server.port, timeout=10)
    imap.login(user.username, user.password)
    return imap


def test_append_gives_increasing_uids(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    first = dovecot.append(imap_user, MSG)
    more = dovecot.append_many(imap_user, [MSG, MSG, MSG])
    assert [first, *more] == list(range(first, first + 4))
    imap = _login(dovecot, imap_user)
    try:
        typ, data = imap.select("INBOX", readonly=True)
        assert typ == "OK" and data == [b"4"]
        typ, data = imap.uid("SEARCH", "ALL")
        assert data[0] is not None
        assert [int(x) for x in data[0].split()] == [first, *more]
    finally:
        imap.logout()


def test_users_are_fresh_and_flags_mailboxes_work(dovecot: DovecotServer) -> None:
    a, b = dovecot.new_user(), dovecot.new_user()
    assert a.username != b.username
    dovecot.create_mailbox(a, "Archive")
    uid = dovecot.append(a, MSG, mailbox="Archive", flags="\\Seen")
    assert uid == 1
    uidvalidity = dovecot.uidvalidity(a, "Archive")
    assert uidvalidity > 255
    dovecot.rename_mailbox(a, "Archive", "Old stuff")
    imap = _login(dovecot, a)
    try:
        typ, data = imap.select('"Old stuff"', readonly=True)
        assert typ == "OK" and data == [b"1"]
        typ, data = imap.uid("FETCH", str(uid), "(FLAGS)")
        assert data[0] is not None and b"\\Seen" in data[0]
    finally:
        imap.logout()
    dovecot.delete_mailbox(a, "Old stuff")
    with pytest.raises(RuntimeError):
        dovecot.uidvalidity(a, "Old stuff")
    # the other user never saw any of it
    assert dovecot.append(b, MSG) == 1


def test_wrong_password_is_refused_fast(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    imap = imaplib.IMAP4(dovecot.host, dovecot.port, timeout=2)  # no 2 s auth_failure_delay
    try:
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(imap_user.username, imap_user.password + "x")
    finally:
        imap.shutdown()


def test_implicit_tls_verifies_against_ca_file(dovecot: DovecotServer,
                                               imap_user: ImapUser) -> None:
    ctx = ssl.create_default_context(cafile=str(dovecot.ca_file))
    for host in ("localhost", "127.0.0.1"):
        imap = imaplib.IMAP4_SSL(host, dovecot.tls_port, ssl_context=ctx, timeout=10)
        try:
            assert imap.login(imap_user.username, imap_user.password)[0] == "OK"
        finally:
            imap.logout()


def test_kill_imap_processes_counts_and_drops_sessions(dovecot: DovecotServer) -> None:
    user, other = dovecot.new_user(), dovecot.new_user()
    sessions = [_login(dovecot, user) for _ in range(2)]
    bystander = _login(dovecot, other)
    try:
        assert dovecot.imap_connection_count(user) == 2
        assert dovecot.kill_imap_processes(user) == 2
        assert dovecot.imap_connection_count(user) == 0
        for imap in sessions:
            with pytest.raises((imaplib.IMAP4.abort, OSError)):
                imap.noop()
        assert bystander.noop()[0] == "OK"
        assert dovecot.imap_connection_count(other) == 1
    finally:
        bystander.logout()


def test_restart_keeps_ports_users_and_mail(private_dovecot: DovecotServer) -> None:
    server = private_dovecot
    user = server.new_user()
    uid = server.append(user, MSG)
    uidvalidity = server.uidvalidity(user)
    ports = (server.port, server.tls_port)
    server.restart()
    assert (server.port, server.tls_port) == ports
    assert server.uidvalidity(user) == uidvalidity
    assert server.append(user, MSG) == uid + 1


def test_stop_closes_the_ports(private_dovecot: DovecotServer) -> None:
    private_dovecot.stop()
    with pytest.raises(OSError), socket.create_connection(
            (private_dovecot.host, private_dovecot.port), timeout=2):
        pass


def test_xoauth2_login_with_issued_token(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    access, _refresh = dovecot.oauth2.issue(imap_user.username)

    def xoauth2(token: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(dovecot.host, dovecot.port, timeout=10)
        blob = f"user={imap_user.username}\x01auth=Bearer {token}\x01\x01".encode()
        imap.authenticate("XOAUTH2", lambda _challenge: blob)
        return imap

    imap = xoauth2(access)
    try:
        imap.select("INBOX")
    finally:
        imap.logout()
    dovecot.oauth2.revoke(access)
    with pytest.raises(imaplib.IMAP4.error):
        xoauth2(access)
