"""``switchboard accounts …`` and ``switchboard watch`` as a user runs them, against a real server.

The server runs in the test's event loop; each CLI run is a real subprocess, started without
blocking that loop (``asyncio.to_thread`` / ``create_subprocess_exec``).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import switchboard
from switchboard import aio
from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import message, new_server

SWITCHBOARD = [sys.executable, "-m", "switchboard.cli"]
TOKEN = "admin-cli-token"
STATES = {"connecting", "authenticating", "syncing", "idle", "backoff", "authFailed", "error"}
# Dovecot announces new mail ~0.5 s after it arrives; the CLI process also has to start.
WAIT_S = 20.0


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(extra)
    return env


async def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI without blocking the server's event loop."""
    return await asyncio.to_thread(
        subprocess.run,
        [*SWITCHBOARD, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env if env is not None else cli_env(),
        check=False,
    )


@pytest.fixture
async def server(tmp_path: Path, dovecot: DovecotServer) -> AsyncIterator[SwitchboardServer]:
    async with new_server(tmp_path / "data", dovecot, tokens=(TOKEN,)) as srv:
        yield srv


@pytest.fixture
async def account(server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser) -> str:
    """A worker-connected account watching INBOX; its name."""
    async with aio.connect(f"ws://127.0.0.1:{server.port}/workers", token=TOKEN) as worker:
        auth = {"type": "plain", "username": imap_user.username, "password": imap_user.password}
        await worker.call("connect", {"host": dovecot.host, "port": dovecot.tls_port, "auth": auth})
        await worker.call("watchMailboxes", {"account": imap_user.username, "list": ["INBOX"]})
    return imap_user.username


def base(server: SwitchboardServer) -> str:
    return f"http://127.0.0.1:{server.port}"


async def test_version() -> None:
    result = await run("--version")
    assert (result.returncode, result.stdout.strip()) == (
        0,
        f"switchboard {switchboard.__version__}",
    )


async def test_accounts_list_shows_each_account_with_its_state(
    server: SwitchboardServer, account: str, dovecot: DovecotServer
) -> None:
    result = await run("accounts", "list", "--url", base(server), "--token", TOKEN)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == [
        "ACCOUNT",
        "SERVER",
        "STATE",
        "MAILBOXES",
        "LAST",
        "EVENT",
        "EVENTS",
        "ERROR",
    ]
    assert len(rows) == 1
    cells = rows[0].split()
    assert cells[:2] == [account, f"{dovecot.host}:{dovecot.tls_port}"]
    assert cells[2] in STATES
    assert cells[3] == "INBOX"
    assert "\x1b[" not in result.stdout  # no colour codes into a pipe


async def test_token_from_the_environment_and_json_output(
    server: SwitchboardServer, account: str
) -> None:
    env = cli_env(SWITCHBOARD_TOKEN=TOKEN, SWITCHBOARD_URL=base(server))
    result = await run("accounts", "list", "--json", env=env)
    assert result.returncode == 0, result.stderr
    documents = json.loads(result.stdout)
    assert [d["account"] for d in documents] == [account]
    assert documents[0]["mailboxes"][0]["name"] == "INBOX"


@pytest.mark.parametrize("command", [["accounts", "list"], ["watch"]])
async def test_a_missing_token_says_one_is_required_and_how_to_pass_it(
    server: SwitchboardServer, command: list[str]
) -> None:
    result = await run(*command, "--url", base(server))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"switchboard: error: {base(server)} requires an auth token: pass --token or set "
        "SWITCHBOARD_TOKEN (on the server's machine, `switchboard tokens create --scope worker` "
        "makes one)"
    ]


async def test_a_wrong_token_is_refused_in_one_line(server: SwitchboardServer) -> None:
    result = await run("accounts", "list", "--url", base(server), "--token", "wrong")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"switchboard: error: {base(server)} refused the token (HTTP 401): "
        "check --token or SWITCHBOARD_TOKEN"
    ]


async def test_show_an_account_and_a_missing_one(server: SwitchboardServer, account: str) -> None:
    shown = await run("accounts", "show", account, "--url", base(server), "--token", TOKEN)
    assert shown.returncode == 0, shown.stderr
    lines = dict(
        line.split(None, 1)
        for line in shown.stdout.splitlines()
        if line.startswith(("account", "state"))
    )
    assert lines["account"].strip() == account
    assert "mailbox INBOX" in shown.stdout

    missing = await run("accounts", "show", "nobody", "--url", base(server), "--token", TOKEN)
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == ["switchboard: error: no account 'nobody'"]


async def test_add_then_remove_an_account(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser, tmp_path: Path
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(imap_user.password + "\n")
    common = ["--url", base(server), "--token", TOKEN]
    added = await run(
        "accounts", "add", "--host", dovecot.host, "--port", str(dovecot.tls_port),
        "--user", imap_user.username, "--password-file", str(password_file), *common,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == (
        f"added {imap_user.username} ({dovecot.host}:{dovecot.tls_port}), watching INBOX"
    )
    assert server.parts.engine.watched(imap_user.username) == ("INBOX",)

    removed = await run("accounts", "remove", imap_user.username, *common)
    assert (removed.returncode, removed.stdout.strip()) == (0, f"removed {imap_user.username}")
    assert not server.parts.engine.has_account(imap_user.username)
    listed = await run("accounts", "list", *common)
    assert imap_user.username not in listed.stdout

    again = await run("accounts", "remove", imap_user.username, *common)
    assert again.returncode == 1
    assert again.stderr.splitlines() == [f"switchboard: error: no account '{imap_user.username}'"]


async def test_add_with_a_wrong_password_fails_in_one_line(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    env = cli_env(SWITCHBOARD_PASSWORD="wrong", SWITCHBOARD_TOKEN=TOKEN)
    result = await run(
        "accounts", "add", "--host", dovecot.host, "--port", str(dovecot.tls_port),
        "--user", imap_user.username, "--url", base(server), env=env,
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("switchboard: error: "), result.stderr
    assert "wrong" not in lines[0]  # the password is never echoed
    assert not server.parts.engine.has_account(imap_user.username)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("command", [["accounts", "list"], ["watch"], ["accounts", "remove", "x"]])
async def test_an_unreachable_server_is_one_clear_line(command: list[str]) -> None:
    port = free_port()  # bound then released: nothing listens there now
    result = await run(*command, "--url", f"http://127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"switchboard: error: cannot reach http://127.0.0.1:{port}: connection refused"
    ]
    assert result.stdout == ""


@pytest.mark.parametrize("command", [["accounts", "list"], ["watch"], ["accounts", "show", "x"]])
@pytest.mark.parametrize("port", ["port", "tls_port"])
async def test_a_port_that_is_not_switchboard_is_one_clear_line(
    dovecot: DovecotServer, command: list[str], port: str
) -> None:
    url = f"http://127.0.0.1:{getattr(dovecot, port)}"  # IMAP, and IMAPS: not HTTP
    result = await run(*command, "--url", url)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    assert lines[0].startswith(f"switchboard: error: cannot reach {url}: "), lines
    assert lines[0].endswith("(is this the Switchboard server's address?)"), lines


async def test_https_to_a_plain_http_server_is_one_clear_line(server: SwitchboardServer) -> None:
    url = f"https://127.0.0.1:{server.port}"
    result = await run("accounts", "list", "--url", url, "--token", TOKEN)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"switchboard: error: cannot reach {url}: TLS failed ("), line
    assert line.endswith("): is it an https:// server?"), line


async def test_an_unknown_host_is_one_clear_line() -> None:
    result = await run("accounts", "list", "--url", "http://no-such-host.invalid:8080")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # the resolver's reason varies; one line, no traceback
    assert lines[0].startswith("switchboard: error: cannot reach http://no-such-host.invalid:8080:")


async def test_watch_prints_each_new_message_with_its_summary(
    server: SwitchboardServer, account: str, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    proc = await asyncio.create_subprocess_exec(
        *SWITCHBOARD, "watch", "--summary", "--count", "1", "--url", base(server),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=cli_env(SWITCHBOARD_TOKEN=TOKEN),
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        ready = await asyncio.wait_for(proc.stderr.readline(), WAIT_S)
        assert ready.decode().startswith(f"watching {base(server)}")
        uid = await asyncio.to_thread(
            dovecot.append, imap_user, message("Invoice 42", from_="Bob <bob@example.com>")
        )
        line = (await asyncio.wait_for(proc.stdout.readline(), WAIT_S)).decode()
        assert await asyncio.wait_for(proc.wait(), WAIT_S) == 0  # --count 1: done
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    _clock, name, message_id, *rest = line.split("  ")
    assert name == account
    assert message_id.endswith(f"?{uid}")
    assert " ".join(rest).strip() == "from Bob <bob@example.com>: Invoice 42"  # name kept
