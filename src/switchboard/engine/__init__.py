"""Switchboard's engine: supervisors and watchers that announce new IMAP mail exactly once.

The server uses :class:`Engine`; the vocabulary it shares with the store lives in
:mod:`switchboard.model`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Each name -> the module that defines it, imported on first use (PEP 562).
_HOME = {
    "AccountState": "switchboard.engine.state",
    "AccountStatus": "switchboard.engine.state",
    "ConnectionFailed": "switchboard.engine.errors",
    "Engine": "switchboard.engine.engine",
    "EngineSettings": "switchboard.engine.settings",
    "MailboxStatus": "switchboard.engine.state",
    "UnknownAccount": "switchboard.engine.errors",
    "WatchResult": "switchboard.engine.supervisor",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
