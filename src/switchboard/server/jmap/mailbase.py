"""What the JMAP mail methods share: their dependencies, the engine's errors as method errors.

Every mail method runs against the engine's :class:`~switchboard.engine.jmapreader.JmapReader`
for one account (:class:`~switchboard.server.jmap.locate.AccountMail`). The engine's errors
become the RFC 8620 §3.6.2 method errors:

=====================================  ========================================================
engine error                           method error
=====================================  ========================================================
UnknownAccount (removed meanwhile)     ``accountNotFound``
ConnectionFailed, AuthenticationFailed ``serverUnavailable`` (try again later)
ImapFailure                            ``serverFail`` (logged)
=====================================  ========================================================
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from switchboard.engine.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ImapFailure,
    UnknownAccount,
)
from switchboard.engine.jmapreader import JmapReader
from switchboard.jmap.capabilities import CoreCapability
from switchboard.jmap.errors import AccountNotFound, ServerFail, ServerUnavailable
from switchboard.server.jmap.locate import AccountMail
from switchboard.server.jmap.registry import CallContext
from switchboard.server.mailops import AccountConfigs

__all__ = ["MAX_QUERY_LIMIT", "MailServices", "engine_failures", "returned_properties"]

logger = logging.getLogger("switchboard.server")

MAX_QUERY_LIMIT = 1000
"""The most ids a /query returns at once; a larger (or absent) ``limit`` is capped to it."""


def returned_properties(
    asked: Sequence[str] | None, defaults: Sequence[str]
) -> tuple[str, ...]:
    """The properties a /get returns: ``defaults`` for ``null``, and always ``id`` (§5.1)."""
    return tuple(dict.fromkeys(("id", *(defaults if asked is None else asked))))


@contextmanager
def engine_failures() -> Iterator[None]:
    """Turn the engine's errors into the method errors of the module doc."""
    try:
        yield
    except UnknownAccount:
        raise AccountNotFound("the account is gone") from None
    except (ConnectionFailed, AuthenticationFailed) as exc:
        raise ServerUnavailable(f"the IMAP server cannot be used now: {exc}") from None
    except ImapFailure as exc:
        logger.warning("JMAP: the IMAP server failed: %s", exc)
        raise ServerFail("the IMAP server failed to answer") from None


@dataclass(frozen=True, slots=True)
class MailServices:
    """What the mail methods need.

    Attributes:
        reader: the engine's JMAP reader.
        accounts: the accounts' settings (the account registry).
        core: the announced limits (``maxObjectsInGet``, the collations).
    """

    reader: JmapReader
    accounts: AccountConfigs
    core: CoreCapability

    def mail(self, context: CallContext, jmap_account_id: object) -> AccountMail:
        """The call's view of the account ``jmap_account_id`` names.

        Raises:
            AccountNotFound: not one of the caller's accounts, or removed meanwhile.
        """
        account = context.account(jmap_account_id)
        with engine_failures():
            return AccountMail.of(self.reader, self.accounts, account)
