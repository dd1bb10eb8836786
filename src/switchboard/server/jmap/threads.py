"""Thread/get (RFC 8621 §3.1): every email is its own thread.

The IMAP parser keeps no RFC 8474 THREADID, so threads are not known: each email's
``threadId`` is :func:`switchboard.jmap.ids.thread_id` of it (``s…``), and Thread/get of that
id gives ``emailIds`` with that one email, if it still exists. ``ids: null`` gives every
thread when the account has at most ``maxObjectsInGet`` emails.
"""

from __future__ import annotations

from typing import Any, Final

from switchboard.jmap.arguments import parse_get
from switchboard.jmap.dispatch import MethodCall, MethodResult
from switchboard.jmap.ids import SingleEmailThread, UnknownIdError, parse_thread_id, thread_id
from switchboard.jmap.jsonvalue import JsonValue
from switchboard.model.mail import FetchPlan
from switchboard.server.jmap.emails import all_emails, existing_of
from switchboard.server.jmap.locate import EmailRef
from switchboard.server.jmap.mailbase import (
    MailServices,
    engine_failures,
    get_result,
    returned_properties,
)
from switchboard.server.jmap.registry import CallContext

__all__ = ["THREAD_PROPERTIES", "ThreadMethods"]

THREAD_PROPERTIES: Final = ("id", "emailIds")


class ThreadMethods:
    """Thread/get for the accounts of :class:`MailServices`."""

    def __init__(self, services: MailServices) -> None:
        self._services = services

    async def get(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Thread/get: each thread holds one email."""
        max_objects = self._services.core.max_objects_in_get
        args = parse_get(
            call.arguments, max_objects=max_objects, properties=THREAD_PROPERTIES,
            created_ids=call.created_ids,
        )  # fmt: skip
        account = context.account(args.account_id)
        mail = self._services.mail(context, args.account_id)
        # Read before IMAP is: a change during the call is then after this state, not lost.
        state = context.states.state(account, "Thread")
        wanted: list[tuple[str, EmailRef | None]] = []
        with engine_failures():
            if args.ids is None:
                wanted = [(thread_id(ref.id), ref) for ref in await all_emails(mail, max_objects)]
            else:
                for jmap_id in dict.fromkeys(args.ids):
                    try:
                        parsed = parse_thread_id(jmap_id)
                    except UnknownIdError:
                        wanted.append((jmap_id, None))
                        continue
                    if isinstance(parsed, SingleEmailThread):
                        wanted.append((jmap_id, await mail.email(parsed.email_id)))
                    else:
                        wanted.append((jmap_id, None))
        found, not_found = await existing_of(mail, wanted, FetchPlan())
        properties = returned_properties(args.properties, THREAD_PROPERTIES)
        listed: list[dict[str, Any]] = []
        for jmap_id, ref, _ in found:
            values: dict[str, JsonValue] = {"id": jmap_id, "emailIds": [ref.id]}
            listed.append({name: values[name] for name in properties})
        return get_result("Thread/get", args.account_id, state, listed, not_found)
