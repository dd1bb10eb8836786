"""An engine without IMAP, for unit tests of what drives one (the account registry, handlers).

It implements the slice of :class:`~switchboard.engine.engine.Engine` the server's account
registry uses (``server.accounts.AccountEngine``) with dictionaries: which accounts it holds,
what each watches. Its IMAP server is a rule: one password logs in, some hosts cannot be
reached, some mailboxes exist; its reader (the read commands') reaches no server at all. It
stands in for the engine only; tests that claim to test IMAP use Dovecot.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection, Sequence
from dataclasses import dataclass, field, replace

from switchboard.engine.engine import WatchResult
from switchboard.engine.errors import AuthenticationFailed, ConnectionFailed, UnknownAccount
from switchboard.imap.responses import Status
from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth
from switchboard.model.mail import FetchedMessage, FetchPlan, MailboxInfo

__all__ = ["PASSWORD", "FakeEngine", "UnreachableReader"]

PASSWORD = "right horse battery"


class UnreachableReader:
    """The engine's reader (``server.mailops.Reader``) without an IMAP server to read from."""

    async def list_mailboxes(self, account: AccountConfig) -> list[MailboxInfo]:
        raise ConnectionFailed("the fake engine has no IMAP server")

    async def message_uids(
        self, account: AccountConfig, mailbox: str, uidvalidity: int
    ) -> list[int]:
        raise ConnectionFailed("the fake engine has no IMAP server")

    async def fetch(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        uids: Sequence[int],
        plan: FetchPlan,
    ) -> list[FetchedMessage]:
        raise ConnectionFailed("the fake engine has no IMAP server")

    async def fetch_chunks(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        uids: Sequence[int],
        plan: FetchPlan,
    ) -> AsyncGenerator[list[FetchedMessage], None]:
        raise ConnectionFailed("the fake engine has no IMAP server")
        yield []  # an async generator, like the engine's


@dataclass
class FakeEngine:
    """Accounts and watch sets in memory; see the module docstring.

    Attributes:
        mailboxes: the mailboxes every account has (names that can be watched).
        unreachable: hosts whose connection fails.
        refreshed_token: what ``verify`` turns an OAuth2 refresh token into (an access token).
        accounts: what the engine holds, by account id.
        watched: each held account's watched mailboxes.
        logins: how many logins ``verify`` tried.
        watch_calls: how many times ``watch`` ran (each would LIST on a real server).
    """

    mailboxes: set[str] = field(default_factory=lambda: {"INBOX", "Sent"})
    unreachable: set[str] = field(default_factory=set)
    refreshed_token: str = "fresh-access-token"
    accounts: dict[str, AccountConfig] = field(default_factory=dict)
    watched: dict[str, tuple[str, ...]] = field(default_factory=dict)
    logins: int = 0
    watch_calls: int = 0
    reader: UnreachableReader = field(default_factory=UnreachableReader)

    async def verify(self, config: AccountConfig) -> AccountConfig:
        self.logins += 1
        if config.host in self.unreachable:
            raise ConnectionFailed(
                f"cannot connect to {config.host}:{config.port}: [SSL: CERTIFICATE_VERIFY_FAILED]"
            )
        auth = config.auth
        if isinstance(auth, PasswordAuth) and auth.password != PASSWORD:
            raise AuthenticationFailed("LOGIN", Status.NO, None, "Authentication failed.")
        if isinstance(auth, OAuth2Auth) and auth.refresh_token and not auth.access_token:
            return replace(config, auth=replace(auth, access_token=self.refreshed_token))
        return config

    def add_account(self, config: AccountConfig) -> None:
        if config.account_id in self.accounts:
            raise ValueError(f"account {config.account_id!r} already exists")
        self.accounts[config.account_id] = config
        self.watched[config.account_id] = ()

    def _held(self, account_id: str) -> None:
        if account_id not in self.accounts:
            raise UnknownAccount(f"no account {account_id!r}")

    async def update_account(self, config: AccountConfig) -> None:
        self._held(config.account_id)
        self.accounts[config.account_id] = config

    async def remove_account(self, account_id: str) -> None:
        self._held(account_id)
        del self.accounts[account_id]
        del self.watched[account_id]

    def has_account(self, account_id: str) -> bool:
        return account_id in self.accounts

    async def watch(self, account_id: str, mailboxes: Collection[str]) -> WatchResult:
        self._held(account_id)
        self.watch_calls += 1
        wanted = list(dict.fromkeys(mailboxes))
        ok = tuple(name for name in wanted if name in self.mailboxes)
        self.watched[account_id] = ok
        return WatchResult(ok, tuple(name for name in wanted if name not in self.mailboxes))

    def resume(self, account_id: str, mailboxes: Collection[str]) -> tuple[str, ...]:
        self._held(account_id)
        self.watched[account_id] = tuple(mailboxes)
        return self.watched[account_id]
