"""Email/query and Email/get (RFC 8621 §4.4, §4.2) on IMAP SEARCH and FETCH.

Email/query:

* The filter becomes a neutral search tree (:mod:`switchboard.jmap.emailquery`). Top-level
  ``inMailbox`` picks the one mailbox to search, top-level ``inMailboxOtherThan`` removes
  mailboxes; without either every selectable mailbox is searched. The rest is sent as
  ``UID SEARCH`` (:mod:`switchboard.engine.searchkeys`); what IMAP cannot be asked is
  ``unsupportedFilter`` (non-ASCII text, a date or mailbox condition under OR/NOT).
* The matches are sorted here, not by IMAP SORT: ``receivedAt`` by INTERNALDATE, ``size`` by
  RFC822.SIZE, ``sentAt`` by the Date header, ``subject`` by the subject without its
  ``Re:``/``Fwd:`` prefixes, ``from``/``to`` by the first address's name or else its address,
  case-insensitively; ties by mailbox and UID. Without a sort: newest ``receivedAt`` first.
* ``position``/``anchor``/``anchorOffset``/``limit`` per RFC 8620 §5.5 (at most
  :data:`~switchboard.server.jmap.mailbase.MAX_QUERY_LIMIT` ids a call), ``total`` with
  ``calculateTotal``. ``collapseThreads`` changes nothing: every email is its own thread.

Email/get fetches each mailbox's messages in one ``UID FETCH`` (plus a second stage for body
values, previews and part headers) and renders them with :mod:`switchboard.mail.jmapemail`.
An id whose mailbox, UIDVALIDITY or UID no longer exists is in ``notFound``. ``ids: null``
returns every email of the account when there are at most ``maxObjectsInGet`` of them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from switchboard.engine.errors import MailboxNotFound, StaleMailbox
from switchboard.engine.searchkeys import UnsupportedSearchError, imap_search
from switchboard.jmap.arguments import parse_get, parse_query
from switchboard.jmap.datatypes import is_unsigned_int
from switchboard.jmap.dispatch import MethodCall, MethodResult
from switchboard.jmap.emailquery import parse_filter, parse_sort
from switchboard.jmap.errors import InvalidArguments, RequestTooLarge, UnsupportedFilter
from switchboard.jmap.ids import blob_id, mailbox_id, part_blob_id, thread_id
from switchboard.jmap.jsonvalue import JsonObject
from switchboard.jmap.keywords import keywords_from_flags
from switchboard.jmap.search import (
    All,
    And,
    InMailbox,
    InMailboxOtherThan,
    SearchTerm,
    SortCriterion,
    SortKey,
    conjunction,
)
from switchboard.mail.addresses import email_of, first_address
from switchboard.mail.dates import parse_header_date, parse_internal_date
from switchboard.mail.headers import decoded_text, field_values
from switchboard.mail.jmapemail import (
    BODY_PROPERTIES,
    DEFAULT_BODY_PROPERTIES,
    DEFAULT_PROPERTIES,
    EMAIL_PROPERTIES,
    BodyValueOptions,
    EmailPlan,
    PropertyNames,
)
from switchboard.model.mail import FetchedMessage, FetchPlan, MailboxInfo
from switchboard.server.jmap.locate import AccountMail, EmailRef, mailbox_jmap_id
from switchboard.server.jmap.mailbase import (
    MailServices,
    engine_failures,
    get_result,
    query_result,
    returned_properties,
)
from switchboard.server.jmap.registry import CallContext

__all__ = ["EmailMethods", "all_emails", "existing"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_REPLY_PREFIX: Final = re.compile(r"^(?:\s*(?:re|fwd?|aw|sv|wg)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
_SORT_HEADERS: Final = {
    SortKey.DATE: "DATE",
    SortKey.SUBJECT: "SUBJECT",
    SortKey.DISPLAYFROM: "FROM",
    SortKey.DISPLAYTO: "TO",
}
_EMAIL_NAMES: Final = PropertyNames(EMAIL_PROPERTIES)
_BODY_NAMES: Final = PropertyNames(BODY_PROPERTIES)


@dataclass(frozen=True, slots=True)
class _Hit:
    mailbox: MailboxInfo
    message: FetchedMessage

    @property
    def ref(self) -> EmailRef:
        assert self.mailbox.uidvalidity is not None
        return EmailRef(self.mailbox.name, self.mailbox.uidvalidity, self.message.uid)


def _scope(term: SearchTerm) -> tuple[str | None, frozenset[str], SearchTerm, bool]:
    """``(inMailbox, excluded mailboxes, the rest, whether nothing can match)``."""
    parts = list(term.terms) if isinstance(term, And) else [term]
    inside = {p.mailbox_id for p in parts if isinstance(p, InMailbox)}
    excluded = frozenset(
        mailbox for p in parts if isinstance(p, InMailboxOtherThan) for mailbox in p.mailbox_ids
    )
    rest = conjunction(p for p in parts if not isinstance(p, InMailbox | InMailboxOtherThan))
    if len(inside) > 1:
        return None, excluded, rest, True  # an IMAP message is in one mailbox only
    return next(iter(inside), None), excluded, rest, False


def _address_key(headers: dict[bytes, list[bytes]], name: bytes) -> str:
    values = headers.get(name)
    if not values:
        return ""
    address = first_address(values[-1])
    if address is None:
        return ""
    if address.name:
        return decoded_text(address.name).casefold()
    return email_of(address).casefold()


def _sort_key(hit: _Hit, key: SortKey) -> Any:
    message = hit.message
    if key is SortKey.ARRIVAL:
        # INTERNALDATE has whole seconds; within a mailbox the UID orders arrivals in one.
        return parse_internal_date(message.internal_date) or _EPOCH, message.uid
    if key is SortKey.SIZE:
        return message.size or 0
    headers = field_values(message.headers or b"")
    if key is SortKey.DATE:
        values = headers.get(b"date")
        return (parse_header_date(values[-1]) if values else None) or _EPOCH
    if key is SortKey.SUBJECT:
        values = headers.get(b"subject")
        subject = decoded_text(values[-1]) if values else ""
        return _REPLY_PREFIX.sub("", subject).casefold()
    return _address_key(headers, b"from" if key is SortKey.DISPLAYFROM else b"to")


def _sort(hits: list[_Hit], criteria: Sequence[SortCriterion]) -> list[_Hit]:
    ordered = sorted(hits, key=lambda h: (h.mailbox.name, h.message.uid))
    if not criteria:
        criteria = (SortCriterion(SortKey.ARRIVAL, reverse=True),)
    for criterion in reversed(criteria):
        keys = {id(hit): _sort_key(hit, criterion.key) for hit in ordered}
        ordered.sort(key=lambda hit: keys[id(hit)], reverse=criterion.reverse)
    return ordered


async def _search(
    mail: AccountMail, term: SearchTerm, criteria: Sequence[SortCriterion]
) -> list[_Hit]:
    """Every email of the account matching ``term``, sorted by ``criteria``."""
    inside, excluded, rest, empty = _scope(term)
    try:
        search = imap_search(rest)
    except UnsupportedSearchError as exc:
        raise UnsupportedFilter(str(exc)) from None
    if empty:
        return []
    header_fields = tuple(
        dict.fromkeys(_SORT_HEADERS[c.key] for c in criteria if c.key in _SORT_HEADERS)
    )
    with engine_failures():
        if inside is not None:
            # One EXAMINE finds out whether it still exists: no LIST and STATUS of them all.
            place = await mail.mailbox_place(inside)
            scope = [place] if place is not None else []
        else:
            scope = [
                info for info in await mail.selectable() if mailbox_jmap_id(info) not in excluded
            ]
        hits: list[_Hit] = []
        for info in scope:
            assert info.uidvalidity is not None
            try:
                found = await mail.reader.search(
                    mail.config, info.name, info.uidvalidity, search, header_fields
                )
            except (MailboxNotFound, StaleMailbox):
                continue  # gone or renumbered since LIST: nothing of it matches
            hits.extend(_Hit(info, message) for message in found)
    return _sort(hits, criteria)


async def all_emails(mail: AccountMail, max_objects: int) -> list[EmailRef]:
    """Every email of the account (for ``ids: null``).

    Raises:
        RequestTooLarge: there are more than ``max_objects``.
    """
    with engine_failures():
        counted = sum(m.messages for m in await mail.mailboxes())
    if counted > max_objects:  # STATUS says so already: no need to search them all
        raise RequestTooLarge(f"the account has over {max_objects} emails; use Email/query")
    hits = await _search(mail, All(), ())
    if len(hits) > max_objects:
        raise RequestTooLarge(f"the account has over {max_objects} emails; use Email/query")
    return [hit.ref for hit in hits]


async def existing(
    mail: AccountMail, refs: Sequence[EmailRef], plan: FetchPlan
) -> dict[EmailRef, FetchedMessage]:
    """What ``plan`` fetches of those of ``refs`` that still exist, by ref."""
    by_mailbox: dict[tuple[str, int], list[int]] = defaultdict(list)
    for ref in refs:
        by_mailbox[ref.mailbox, ref.uidvalidity].append(ref.uid)
    found: dict[EmailRef, FetchedMessage] = {}
    with engine_failures():
        for (mailbox, uidvalidity), uids in by_mailbox.items():
            try:
                messages = await mail.reader.fetch(mail.config, mailbox, uidvalidity, uids, plan)
            except (MailboxNotFound, StaleMailbox):
                continue
            for message in messages:
                found[EmailRef(mailbox, uidvalidity, message.uid)] = message
    return found


async def existing_of(
    mail: AccountMail, wanted: Sequence[tuple[str, EmailRef | None]], plan: FetchPlan
) -> tuple[list[tuple[str, EmailRef, FetchedMessage]], list[str]]:
    """Of the ids ``wanted`` (each with where it points, ``None`` for nowhere): those whose
    email exists, with it fetched by ``plan``, and the ids not found, each in asked order."""
    refs = [ref for _, ref in wanted if ref is not None]
    fetched = await existing(mail, refs, plan) if refs else {}
    found: list[tuple[str, EmailRef, FetchedMessage]] = []
    not_found: list[str] = []
    for jmap_id, ref in wanted:
        message = fetched.get(ref) if ref is not None else None
        if ref is None or message is None:
            not_found.append(jmap_id)
        else:
            found.append((jmap_id, ref, message))
    return found, not_found


def _bool(arguments: JsonObject, name: str) -> bool:
    value = arguments.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidArguments(f"{name} must be a boolean")
    return value


def _body_properties(arguments: JsonObject) -> tuple[str, ...]:
    value = arguments.get("bodyProperties")
    if value is None:
        return DEFAULT_BODY_PROPERTIES
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise InvalidArguments("bodyProperties must be an array of strings or null")
    unknown = [str(p) for p in value if p not in _BODY_NAMES]
    if unknown:
        raise InvalidArguments(f"unknown body properties: {', '.join(unknown)[:200]}")
    return tuple(str(p) for p in value)


def _value_options(arguments: JsonObject) -> BodyValueOptions:
    limit = arguments.get("maxBodyValueBytes", 0)
    if limit is None:
        limit = 0
    if not is_unsigned_int(limit) or not isinstance(limit, int):
        raise InvalidArguments("maxBodyValueBytes must be an UnsignedInt")
    return BodyValueOptions(
        text=_bool(arguments, "fetchTextBodyValues"),
        html=_bool(arguments, "fetchHTMLBodyValues"),
        all=_bool(arguments, "fetchAllBodyValues"),
        max_bytes=limit,
    )


def _part_blob(email: str, section: str) -> str | None:
    try:
        return part_blob_id(email, section)
    except ValueError:
        return None  # a section too long for an id: the part has no blob


class EmailMethods:
    """Email/query and Email/get for the accounts of :class:`MailServices`."""

    def __init__(self, services: MailServices) -> None:
        self._services = services

    async def query(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Email/query (RFC 8621 §4.4)."""
        args = parse_query(call.arguments)
        account = context.account(args.account_id)
        term = parse_filter(args.filter)
        criteria = parse_sort(args.sort, collations=self._services.core.collation_algorithms)
        _bool(call.arguments, "collapseThreads")
        mail = self._services.mail(context, args.account_id)
        # Read before IMAP is: a change during the call is then after this state, not lost.
        state = context.states.state(account, "Email")
        hits = await _search(mail, term, criteria)
        return query_result("Email/query", args, state, [hit.ref.id for hit in hits])

    async def get(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Email/get (RFC 8621 §4.2)."""
        max_objects = self._services.core.max_objects_in_get
        args = parse_get(
            call.arguments, max_objects=max_objects, properties=_EMAIL_NAMES,
            created_ids=call.created_ids,
        )  # fmt: skip
        account = context.account(args.account_id)
        properties = returned_properties(args.properties, DEFAULT_PROPERTIES)
        plan = EmailPlan(properties, _body_properties(call.arguments),
                         _value_options(call.arguments))  # fmt: skip
        mail = self._services.mail(context, args.account_id)
        # Read before IMAP is: a change during the call is then after this state, not lost.
        state = context.states.state(account, "Email")
        wanted: list[tuple[str, EmailRef | None]] = []
        if args.ids is None:
            with engine_failures():
                wanted = [(ref.id, ref) for ref in await all_emails(mail, max_objects)]
        else:
            for jmap_id in dict.fromkeys(args.ids):
                with engine_failures():
                    wanted.append((jmap_id, await mail.email(jmap_id)))
        found, not_found = await existing_of(mail, wanted, plan.fetch)
        listed = [self._render(plan, ref, message) for _, ref, message in found]
        return get_result("Email/get", args.account_id, state, listed, not_found)

    @staticmethod
    def _render(plan: EmailPlan, ref: EmailRef, message: FetchedMessage) -> dict[str, Any]:
        email = ref.id
        rendered = plan.render(message, lambda section: _part_blob(email, section))
        out: dict[str, Any] = {}
        for prop in plan.properties:
            if prop == "id":
                out[prop] = email
            elif prop == "blobId":
                out[prop] = blob_id(email)
            elif prop == "threadId":
                out[prop] = thread_id(email)
            elif prop == "mailboxIds":
                out[prop] = {mailbox_id(ref.mailbox, ref.uidvalidity): True}
            elif prop == "keywords":
                out[prop] = keywords_from_flags(message.flags or ())
            else:
                out[prop] = rendered.get(prop)
        return out
