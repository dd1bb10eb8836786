"""What the engine's integration tests share: quick settings and an account on the test Dovecot.

The ``engine`` fixture built on them is in tests/integration/engine/conftest.py.
"""

from __future__ import annotations

from switchboard.engine import EngineSettings
from switchboard.model.accounts import AccountConfig, PasswordAuth, TlsMode
from tests.support.dovecot import DovecotServer, ImapUser

__all__ = ["SETTINGS", "config_for"]

SETTINGS = EngineSettings(connect_timeout_s=5.0, command_timeout_s=5.0, stop_timeout_s=3.0)
"""Short timeouts: Dovecot is local, and a test that hangs should fail in seconds."""


def config_for(server: DovecotServer, user: ImapUser, *, password: str | None = None,
               port: int | None = None) -> AccountConfig:
    """``user``'s account on ``server`` over plain TCP (another ``password`` or ``port`` to
    make it fail)."""
    return AccountConfig(
        account_id=user.username,
        host=server.host,
        port=port if port is not None else server.port,
        auth=PasswordAuth(user.username, password if password is not None else user.password),
        tls=TlsMode.PLAIN,
    )  # fmt: skip
