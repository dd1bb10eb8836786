"""Switchboard's engine: supervisors and watchers that announce new IMAP mail exactly once.

The server uses :class:`Engine`; the vocabulary it shares with the store lives in
:mod:`switchboard.engine.model`.
"""

from switchboard.engine.engine import Engine
from switchboard.engine.errors import ConnectionFailed, UnknownAccount
from switchboard.engine.settings import EngineSettings
from switchboard.engine.state import AccountState, AccountStatus, MailboxStatus
from switchboard.engine.supervisor import WatchResult

__all__ = [
    "AccountState",
    "AccountStatus",
    "ConnectionFailed",
    "Engine",
    "EngineSettings",
    "MailboxStatus",
    "UnknownAccount",
    "WatchResult",
]
