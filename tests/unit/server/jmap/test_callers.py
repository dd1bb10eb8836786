"""Tests for server.jmap.callers: Basic credentials as clients encode them, and who reaches what."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Hashable
from typing import cast

from websockets.datastructures import Headers

from switchboard.engine.engine import WatchResult
from switchboard.engine.errors import AuthenticationFailed
from switchboard.imap.responses import Status
from switchboard.model.accounts import AccountConfig, PasswordAuth
from switchboard.model.store import Store
from switchboard.server.accountconfig import ImapPolicy
from switchboard.server.accounts import ConnectOutcome
from switchboard.server.auth import Authenticator, Refusal
from switchboard.server.jmap.callers import (
    BASIC_BACKOFF_FIRST_S,
    BASIC_BACKOFF_MAX_S,
    JmapAuthenticator,
    JmapCaller,
    basic_credentials,
)


def header(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_basic_is_utf8_then_latin1() -> None:
    assert basic_credentials(header("jörg@example.com:pässword".encode())) == (
        "jörg@example.com", "pässword",
    )
    # Python's requests (jmapc) encodes Latin-1.
    assert basic_credentials(header("jörg:pässword".encode("latin-1"))) == ("jörg", "pässword")
    # Only the first colon separates: a password may hold colons.
    assert basic_credentials(header(b"me:a:b:c")) == ("me", "a:b:c")
    assert basic_credentials("bAsIc " + base64.b64encode(b"me:").decode()) == ("me", "")


def test_malformed_basic_values_are_none() -> None:
    for value in ("Basic", "Basic !!!", header(b"no colon"), header(b":password"),
                  "Bearer abc", "Basic " + "a" * 3):  # fmt: skip
        assert basic_credentials(value) is None, value


def test_who_reaches_which_account() -> None:
    accounts = ["a@x", "b@x"]
    worker = JmapCaller("w", every_account=True)
    client = JmapCaller("c", account="a@x")
    gone = JmapCaller("c", account="z@x")
    loose = JmapCaller("l")
    exists = accounts.__contains__
    assert worker.account_ids(lambda: accounts, exists) == accounts
    assert client.account_ids(lambda: accounts, exists) == ["a@x"]
    assert gone.account_ids(lambda: accounts, exists) == []
    assert loose.account_ids(lambda: accounts, exists) == []
    assert worker.reaches("b@x") and client.reaches("a@x") and not client.reaches("b@x")
    assert not loose.reaches("a@x")


# -- Basic: a wrong password is held back, not tried on IMAP at every request ----------------


class Accounts:
    """The account registry as a Basic login uses it: one account, whose password is ``right``.

    ``connect`` stands for the IMAP login (what the backoff is about is how often it runs).
    """

    def __init__(self, right: str) -> None:
        self.right = right
        self.logins: list[str] = []
        self.gate: asyncio.Event | None = None
        self.stored = AccountConfig("me@x", "imap.x", 993, PasswordAuth("me@x", "old"))

    def config(self, account_id: str) -> AccountConfig | None:
        return self.stored if account_id == "me@x" else None

    def exists(self, account_id: str) -> bool:
        return account_id == "me@x"

    async def connect(
        self, wanted: AccountConfig, *, by_worker: bool, holder: Hashable
    ) -> ConnectOutcome:
        assert isinstance(wanted.auth, PasswordAuth)
        self.logins.append(wanted.auth.password)
        if self.gate is not None:
            await self.gate.wait()
        if wanted.auth.password != self.right:
            raise AuthenticationFailed("LOGIN", Status.NO, None, "refused")
        self.stored = wanted
        return ConnectOutcome(wanted.account_id, created=False)

    async def set_watches(
        self, account_id: str, holder: Hashable, names: tuple[str, ...]
    ) -> WatchResult:
        raise AssertionError("not a new account")


class Head:
    def __init__(self, password: str) -> None:
        self.path = "/jmap/api"
        self.headers = Headers(Authorization=basic("me@x", password))


def basic(username: str, password: str) -> str:
    return header(f"{username}:{password}".encode())


def authenticator(accounts: Accounts, now: list[float], outcomes: list[str]) -> JmapAuthenticator:
    tokens = Authenticator((), cast(Store, None))
    return JmapAuthenticator(
        tokens, accounts, ImapPolicy(), None, clock=lambda: now[0], on_login=outcomes.append
    )


async def test_a_refused_password_waits_longer_each_time_and_the_right_one_never() -> None:
    accounts, now, outcomes = Accounts("right"), [1000.0], []
    auth = authenticator(accounts, now, outcomes)

    async def status(password: str) -> tuple[int, str | None]:
        answer = await auth.authenticate(Head(password))
        if isinstance(answer, JmapCaller):
            return 200, None
        return answer.status, dict(answer.headers).get("Retry-After")

    assert await status("wrong") == (401, None)  # tried on IMAP, refused
    assert await status("wrong") == (401, "10")  # held back: no IMAP login
    now[0] += 9.5
    assert await status("wrong") == (401, "1")
    assert accounts.logins == ["wrong"]
    assert await status("right") == (200, None)  # another password: not held back
    now[0] += 1
    assert await status("wrong") == (401, None)  # the wait is over: tried again, refused
    assert await status("wrong") == (401, "20")  # and the wait doubled
    for _ in range(10):  # ... up to five minutes
        now[0] += BASIC_BACKOFF_MAX_S
        await status("wrong")
    assert await status("wrong") == (401, str(int(BASIC_BACKOFF_MAX_S)))
    # Long after the last refusal, the wait starts small again.
    now[0] += 3 * BASIC_BACKOFF_MAX_S
    assert await status("wrong") == (401, None)
    assert await status("wrong") == (401, str(int(BASIC_BACKOFF_FIRST_S)))
    assert accounts.logins.count("right") == 1 and accounts.logins.count("wrong") == 13
    assert outcomes.count("imap") == 1 and outcomes.count("refused") == 13
    assert outcomes.count("backoff") == 5


async def test_concurrent_requests_with_the_same_password_share_one_login() -> None:
    accounts, now, outcomes = Accounts("right"), [0.0], []
    auth = authenticator(accounts, now, outcomes)
    accounts.gate = asyncio.Event()
    wrong = [asyncio.create_task(auth.authenticate(Head("wrong"))) for _ in range(4)]
    right = [asyncio.create_task(auth.authenticate(Head("right"))) for _ in range(4)]
    await asyncio.sleep(0.01)
    accounts.gate.set()
    answers = await asyncio.gather(*wrong, *right)
    assert all(isinstance(a, Refusal) and a.status == 401 for a in answers[:4])
    assert all(isinstance(a, JmapCaller) for a in answers[4:])
    assert sorted(accounts.logins) == ["right", "wrong"]
    assert sorted(outcomes) == ["backoff"] * 3 + ["cached"] * 3 + ["imap", "refused"]
