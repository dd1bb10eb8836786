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
from typing import Any

from switchboard.engine.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ImapFailure,
    UnknownAccount,
)
from switchboard.engine.jmapreader import JmapReader
from switchboard.jmap.arguments import QueryArguments
from switchboard.jmap.capabilities import CoreCapability
from switchboard.jmap.dispatch import MethodResult
from switchboard.jmap.errors import AccountNotFound, ServerFail, ServerUnavailable
from switchboard.jmap.jsonvalue import JsonValue
from switchboard.jmap.paging import query_window
from switchboard.server.jmap.locate import AccountMail
from switchboard.server.jmap.registry import CallContext
from switchboard.server.mailops import AccountConfigs

__all__ = [
    "MAX_QUERY_LIMIT",
    "MailServices",
    "engine_failures",
    "get_result",
    "query_result",
    "returned_properties",
]

logger = logging.getLogger("switchboard.server")

MAX_QUERY_LIMIT = 1000
"""The most ids a /query returns at once; a larger (or absent) ``limit`` is capped to it."""


def returned_properties(
    asked: Sequence[str] | None, defaults: Sequence[str]
) -> tuple[str, ...]:
    """The properties a /get returns: ``defaults`` for ``null``, and always ``id`` (§5.1)."""
    return tuple(dict.fromkeys(("id", *(defaults if asked is None else asked))))


def get_result(
    method: str,
    account_id: str,
    state: str,
    listed: Sequence[dict[str, Any]],
    not_found: Sequence[str],
) -> MethodResult:
    """A /get response (RFC 8620 §5.1): the objects found and the ids not found."""
    return MethodResult.single(
        method,
        {
            "accountId": account_id,
            "state": state,
            "list": list[JsonValue](listed),
            "notFound": list[JsonValue](not_found),
        },
    )


def query_result(
    method: str, args: QueryArguments, state: str, ids: Sequence[str]
) -> MethodResult:
    """A /query response (RFC 8620 §5.5): the window ``args`` asks of all matching ``ids``,
    with ``limit`` when it was capped to :data:`MAX_QUERY_LIMIT`. Results are not kept, so
    ``canCalculateChanges`` is false."""
    window = query_window(
        ids, position=args.position, anchor=args.anchor, anchor_offset=args.anchor_offset,
        limit=args.limit, max_limit=MAX_QUERY_LIMIT,
    )  # fmt: skip
    response: dict[str, Any] = {
        "accountId": args.account_id,
        "queryState": state,
        "canCalculateChanges": False,
        "position": window.position,
        "ids": list(window.ids),
    }
    if args.calculate_total:
        response["total"] = len(ids)
    if window.capped_limit is not None and args.limit is not None:
        response["limit"] = window.capped_limit
    return MethodResult.single(method, response)


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
