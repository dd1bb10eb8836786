"""The probe of a quiet IDLE (DONE and a new IDLE, pipelined): mail it meets is announced once.

Dovecot cannot be made to send ``EXISTS`` at an exact point of the probe, so these tests use a
scripted IMAP peer over a real socket that does: just before IDLE's completion, or after it and
before the new IDLE's ``+`` (the window in which a push falls between two commands). The engine,
the IMAP connection and the checkpoint logic are the real ones. The same probe against Dovecot,
black-holed, is in tests/integration/reliability/test_silent_connection.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from switchboard.engine import Engine, EngineSettings
from switchboard.model.accounts import AccountConfig, PasswordAuth, TlsMode
from tests.support.checkpoints import CollectingSink, MemoryCheckpoints

UIDVALIDITY = 7
WAIT_S = 10.0
# Probe a quiet IDLE after 0.2 s; the refresh (with its STATUS) stays far away.
SETTINGS = EngineSettings(
    probe_quiet_s=0.2,
    liveness_grace_s=2.0,
    idle_refresh_s=600.0,
    connect_timeout_s=5.0,
    command_timeout_s=5.0,
    backoff_initial_s=0.1,
    backoff_cap_s=0.5,
    summaries=False,
    stop_timeout_s=2.0,
)


@dataclass
class ScriptedImap:
    """One INBOX with UIDs 1..``count``; mail arrives at the first DONE, pushed as ``when`` says.

    ``when`` is ``"before_ok"`` (``* 2 EXISTS`` in the same write as IDLE's completion, just
    before it) or ``"before_plus"`` (IDLE's completion alone; ``* 2 EXISTS`` in a write of its
    own once the new IDLE was read, before the ``+``).
    """

    when: str
    count: int = 1
    commands: list[str] = field(default_factory=list)
    dones: int = 0
    exists_due: bool = False
    server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK [CAPABILITY IMAP4rev1 IDLE] scripted\r\n")
        idle_tag = ""
        try:
            while line := await reader.readline():
                text = line.decode().rstrip("\r\n")
                if text == "DONE":
                    self.commands.append("DONE")
                    writer.write(self.done(idle_tag))
                    continue
                tag, _, rest = text.partition(" ")
                verb = rest.split(" ", 1)[0].upper()
                self.commands.append(verb if verb != "UID" else " ".join(rest.split()[:2]))
                if verb == "IDLE":
                    idle_tag = tag
                    if self.exists_due:
                        self.exists_due = False
                        writer.write(f"* {self.count} EXISTS\r\n".encode())
                        await writer.drain()
                        await asyncio.sleep(0.05)  # a separate read on the client's side
                    writer.write(b"+ idling\r\n")
                else:
                    writer.write(self.answer(tag, verb, rest))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def done(self, tag: str) -> bytes:
        self.dones += 1
        ok = f"{tag} OK IDLE terminated\r\n".encode()
        if self.dones != 1:
            return ok
        self.count += 1  # new mail, told during this probe
        if self.when == "before_ok":
            return f"* {self.count} EXISTS\r\n".encode() + ok
        self.exists_due = True
        return ok

    def answer(self, tag: str, verb: str, rest: str) -> bytes:
        if verb == "EXAMINE":
            return (f"* {self.count} EXISTS\r\n* OK [UIDVALIDITY {UIDVALIDITY}] ok\r\n"
                    f"* OK [UIDNEXT {self.count + 1}] ok\r\n{tag} OK [READ-ONLY] done\r\n"
                    ).encode()
        if verb == "UID":  # UID FETCH n:* (UID): "*" is the highest UID even below n (RFC 3501)
            first = int(rest.split()[2].split(":")[0])
            uids = range(min(first, self.count), self.count + 1)
            fetches = "".join(f"* {uid} FETCH (UID {uid})\r\n" for uid in uids)
            return f"{fetches}{tag} OK done\r\n".encode()
        if verb == "STATUS":
            return f"* STATUS INBOX (UIDVALIDITY {UIDVALIDITY})\r\n{tag} OK done\r\n".encode()
        if verb == "LOGOUT":
            return f"* BYE bye\r\n{tag} OK done\r\n".encode()
        return f"{tag} OK done\r\n".encode()  # LOGIN, NOOP, CAPABILITY


@pytest.fixture(params=["before_ok", "before_plus"])
async def scripted(request: pytest.FixtureRequest) -> AsyncIterator[ScriptedImap]:
    peer = ScriptedImap(request.param)
    peer.server = await asyncio.start_server(peer.serve, "127.0.0.1", 0)
    async with peer.server:
        yield peer


async def test_mail_met_by_a_probe_is_announced_once(scripted: ScriptedImap) -> None:
    store, sink = MemoryCheckpoints(), CollectingSink()
    engine = Engine(store, sink, settings=SETTINGS)
    config = AccountConfig("bob", "127.0.0.1", scripted.port, PasswordAuth("bob", "pw"),
                           tls=TlsMode.PLAIN)
    engine.add_account(config)
    try:
        # Without a stored checkpoint the first session starts at the top (UID 1).
        assert engine.resume("bob", ["INBOX"]) == ("INBOX",)
        await sink.wait_for(lambda: sink.uids() == [2], WAIT_S)
        # Let several more probes go by: none may announce UID 2 again.
        async with asyncio.timeout(WAIT_S):
            while scripted.dones < 5:  # noqa: ASYNC110 - the peer's count has no event
                await asyncio.sleep(0.05)
        assert sink.uids() == [2]
        counters = engine.status("bob").counters
        assert counters["probes"] >= 4
        assert counters.get("dead_connections", 0) == 0
        assert counters["connects"] == 1  # one session throughout: probes do not reconnect
        # A probe is DONE + IDLE only: the refresh's STATUS did not run.
        assert "STATUS" not in scripted.commands
        assert set(scripted.commands) >= {"DONE", "IDLE"}
    finally:
        await engine.stop()
