"""``switchboard accounts add`` on new and existing accounts, as a user runs it, on a real Dovecot.

A typo never drops a watch, a TLS flag is never silently ignored, and a TLS mistake says what to
try — in the CLI's line, in the wire error's description, and once in the server's log.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from switchboard import aio
from switchboard.client.errors import CommandError
from switchboard.server.app import SwitchboardServer
from tests.integration.test_admin_cli import TOKEN, account, base, cli_env, run, server
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import new_server

__all__ = ["account", "server"]  # fixtures shared with test_admin_cli

pytestmark = pytest.mark.dovecot


def add(server: SwitchboardServer, dovecot: DovecotServer, user: ImapUser, *extra: str,
        port: int | None = None) -> list[str]:  # fmt: skip
    return [
        "accounts", "add", "--url", base(server), "--host", dovecot.host,
        "--port", str(dovecot.tls_port if port is None else port), "--user", user.username,
        *extra,
    ]  # fmt: skip


def env(user: ImapUser) -> dict[str, str]:
    return cli_env(SWITCHBOARD_TOKEN=TOKEN, SWITCHBOARD_PASSWORD=user.password)


async def test_a_typo_on_an_existing_account_keeps_its_watches(
    server: SwitchboardServer, account: str, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    result = await run(*add(server, dovecot, imap_user, "--watch", "Nope"), env=env(imap_user))
    assert result.returncode == 1
    assert result.stdout.strip() == (
        f"updated {account} ({dovecot.host}:{dovecot.tls_port}), watching INBOX"
    )
    assert result.stderr.splitlines() == [
        "switchboard: error: cannot watch Nope (no such mailbox?); the mailboxes watched before "
        "are still watched"
    ]
    assert server.parts.engine.watched(account) == ("INBOX",)


async def test_watch_adds_and_unwatch_removes(
    server: SwitchboardServer, account: str, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    dovecot.create_mailbox(imap_user, "Sent")
    added = await run(*add(server, dovecot, imap_user, "--watch", "Sent"), env=env(imap_user))
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().endswith("watching INBOX, Sent")
    assert set(server.parts.engine.watched(account)) == {"INBOX", "Sent"}

    removed = await run(*add(server, dovecot, imap_user, "--unwatch", "INBOX"), env=env(imap_user))
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip().endswith("watching Sent")
    assert server.parts.engine.watched(account) == ("Sent",)

    # Re-running add without --watch changes nothing (it used to reset the set to INBOX).
    again = await run(*add(server, dovecot, imap_user), env=env(imap_user))
    assert again.returncode == 0, again.stderr
    assert server.parts.engine.watched(account) == ("Sent",)

    nothing = await run(*add(server, dovecot, imap_user, "--unwatch", "Sent"), env=env(imap_user))
    assert nothing.returncode == 1
    assert nothing.stderr.splitlines() == [
        f"switchboard: error: that would leave {account} watching nothing: "
        f"`switchboard accounts remove {account}` stops and forgets it"
    ]
    assert server.parts.engine.watched(account) == ("Sent",)


async def test_a_tls_flag_an_existing_account_would_not_get_is_refused(
    server: SwitchboardServer, account: str, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    result = await run(*add(server, dovecot, imap_user, "--plain"), env=env(imap_user))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"switchboard: error: {account} already exists with implicit TLS, and --plain is not "
        f"applied to an existing account: `switchboard accounts remove {account}`, then add it "
        "again with --plain"
    ]
    config = server.parts.accounts.config(account)
    assert config is not None and config.tls.value == "ssl"


async def test_a_plain_port_with_implicit_tls_says_what_to_try(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="switchboard.server")
    port = dovecot.port  # plain IMAP (STARTTLS offered), not IMAPS
    result = await run(*add(server, dovecot, imap_user, port=port), env=env(imap_user))
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("switchboard: error: connectionFailed: "), line
    assert "WRONG_VERSION_NUMBER" in line
    assert line.endswith(
        f"Try: port {port} answered in plain text, so it is not an implicit-TLS (IMAPS) port. "
        "Use --starttls (usually port 143), --plain (loopback or allowed hosts only), or the "
        "IMAPS port (usually 993)"
    ), line

    # The wire error says the same in the protocol's terms.
    async with aio.connect(f"ws://127.0.0.1:{server.port}/workers", token=TOKEN) as worker:
        auth = {"type": "plain", "username": imap_user.username, "password": imap_user.password}
        with pytest.raises(CommandError) as refused:
            await worker.call("connect", {"host": dovecot.host, "port": port, "auth": auth})
    assert refused.value.type == "connectionFailed"
    assert '"starttls": true' in (refused.value.description or "")
    assert '"ssl": false' in (refused.value.description or "")

    # The server's log says why, once per attempt, without the password.
    logged = [r.getMessage() for r in caplog.records if "cannot connect" in r.getMessage()]
    assert len(logged) == 2, logged
    assert logged[0].startswith(
        f"account {imap_user.username}: cannot connect to {dovecot.host}:{port}: "
    )
    assert "WRONG_VERSION_NUMBER" in logged[0]
    assert imap_user.password not in caplog.text


async def test_starttls_to_an_imaps_port_says_to_drop_it(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    result = await run(*add(server, dovecot, imap_user, "--starttls"), env=env(imap_user))
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.endswith(
        f"Try: port {dovecot.tls_port} sent no IMAP greeting in clear: if it is an "
        "implicit-TLS (IMAPS) port (usually 993), connect without --starttls"
    ), line


async def test_an_untrusted_certificate_names_imap_ca_file(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="switchboard.server")
    # This server does not trust the fixture's self-signed CA.
    async with new_server(tmp_path / "data", dovecot, tokens=(TOKEN,), imap_ca_file=None) as srv:
        result = await run(*add(srv, dovecot, imap_user), env=env(imap_user))
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "CERTIFICATE_VERIFY_FAILED" in line
    assert line.endswith(
        f"Try: the certificate of {dovecot.host} is not trusted. If it is self-signed or from a "
        "private CA, start the server with --imap-ca-file FILE (SWITCHBOARD_IMAP_CA_FILE) naming "
        "that CA's certificate"
    ), line
    assert any("CERTIFICATE_VERIFY_FAILED" in r.getMessage() for r in caplog.records)


async def test_a_wrong_password_is_logged_with_its_reason_and_not_the_password(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="switchboard.server")
    wrong = cli_env(SWITCHBOARD_TOKEN=TOKEN, SWITCHBOARD_PASSWORD="not-the-Password-42")
    result = await run(*add(server, dovecot, imap_user), env=wrong)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "switchboard: error: authenticationFailed: the IMAP server rejected the credentials"
    ]
    logged = [r.getMessage() for r in caplog.records if "cannot connect" in r.getMessage()]
    assert len(logged) == 1 and "AUTHENTICATIONFAILED" in logged[0], logged
    assert "not-the-Password-42" not in caplog.text
