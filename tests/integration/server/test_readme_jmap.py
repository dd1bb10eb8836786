"""README's JMAP example runs as written, with jmapc, against the TLS listener and Dovecot.

The example's code block is read from README.md; only the server address and the login are
put in for the placeholders, and its endless event loop is ended by the test after the push
that follows an APPEND. jmapc is GPL, so it runs in its own virtualenv as a subprocess.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest

from switchboard.server.app import SwitchboardServer
from tests.integration.server.test_jmapc import LINE_TIMEOUT_S, jmapc_python
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_clients import ROOT
from tests.support.switchboard import message

pytestmark = pytest.mark.dovecot

__all__ = ["jmapc_python"]  # the fixture, shared with test_jmapc.py


def example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```python\n(from jmapc .*?)```", readme, re.S)
    assert found is not None, "README.md has no jmapc example"
    code = found.group(1)
    for placeholder in ('"127.0.0.1:8080"', '"me@example.com", "…"'):
        assert placeholder in code, placeholder
    return code.replace('"127.0.0.1:8080"', "HOST").replace('"me@example.com", "…"',
                                                              "USER, PASSWORD")  # fmt: skip


async def test_the_readme_example_reads_flags_and_gets_a_push(
    jmapc_python: Path, tls_server: SwitchboardServer, dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    uid = await asyncio.to_thread(dovecot.append, imap_user, message("the newest one"))
    script = (f"HOST = '127.0.0.1:{tls_server.port}'\nUSER = {imap_user.username!r}\n"
              f"PASSWORD = {imap_user.password!r}\n{example()}")  # fmt: skip
    env = {**os.environ, "REQUESTS_CA_BUNDLE": str(dovecot.ca_file), "PYTHONUNBUFFERED": "1"}
    proc = await asyncio.create_subprocess_exec(
        str(jmapc_python), "-c", script, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        lines = [await asyncio.wait_for(proc.stdout.readline(), LINE_TIMEOUT_S)]
        assert lines[0] == b"the newest one\n", lines
        lines.append(await asyncio.wait_for(proc.stdout.readline(), LINE_TIMEOUT_S))
        assert lines[1].startswith(b"{"), lines  # the stream's first event: the current state
        await asyncio.to_thread(dovecot.append, imap_user, message("pushed"))
        lines.append(await asyncio.wait_for(proc.stdout.readline(), LINE_TIMEOUT_S))
        # jmapc prints a TypeState per account: new mail moved its EmailDelivery state.
        before, after = (re.search(rb"email_delivery='([^']+)'", line) for line in lines[1:])
        assert before is not None and after is not None, lines
        assert after.group(1) != before.group(1), lines
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    with dovecot._session(imap_user) as imap:
        imap.select("INBOX", readonly=True)
        _typ, data = imap.uid("FETCH", str(uid), "(FLAGS)")
    assert b"\\Flagged" in (data[0] if isinstance(data[0], bytes) else b"")
