"""Mailbox/get and Mailbox/query (RFC 8621 §2.1, §2.3) from IMAP LIST and STATUS.

How a Mailbox is made from an IMAP mailbox:

* ``id``: :func:`~switchboard.server.jmap.locate.mailbox_jmap_id` (name and UIDVALIDITY).
* ``name``: the last level of the decoded name; ``parentId``: the nearest selectable ancestor
  (a ``\\Noselect`` level has no UIDVALIDITY, hence no id, and is not a JMAP Mailbox).
* ``role``: ``inbox`` for INBOX, else from the RFC 6154 special-use attribute LIST sends
  (``\\Sent`` → ``sent``…); ``null`` without one.
* ``totalEmails``/``unreadEmails``: STATUS MESSAGES/UNSEEN. Each email is its own thread
  (no THREADID), so ``totalThreads``/``unreadThreads`` are the same numbers.
* ``sortOrder`` 0, ``isSubscribed`` true (LSUB is not asked), and ``myRights`` what the JMAP
  face allows: reading, keywords and moves, no mailbox changes.

Mailbox/query filters on ``parentId``, ``name`` (case-insensitive substring), ``role``,
``hasAnyRole`` and ``isSubscribed`` with AND/OR/NOT, sorts by ``name`` and ``sortOrder``,
and honours ``sortAsTree`` and ``filterAsTree``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from switchboard.engine.jmapreader import MailboxCounts
from switchboard.jmap.arguments import parse_get, parse_query
from switchboard.jmap.dispatch import MethodCall, MethodResult
from switchboard.jmap.errors import InvalidArguments, UnsupportedFilter, UnsupportedSort, describe
from switchboard.jmap.jsonvalue import JsonValue
from switchboard.server.jmap.locate import mailbox_jmap_id
from switchboard.server.jmap.mailbase import (
    MailServices,
    engine_failures,
    get_result,
    query_result,
    returned_properties,
)
from switchboard.server.jmap.registry import CallContext

__all__ = ["MAILBOX_PROPERTIES", "MailboxMethods", "role_of"]

MAILBOX_PROPERTIES: Final = (
    "id", "name", "parentId", "role", "sortOrder", "totalEmails", "unreadEmails",
    "totalThreads", "unreadThreads", "myRights", "isSubscribed",
)  # fmt: skip

_ROLES: Final = {
    "\\all": "all", "\\archive": "archive", "\\drafts": "drafts", "\\flagged": "flagged",
    "\\important": "important", "\\junk": "junk", "\\sent": "sent", "\\trash": "trash",
}  # fmt: skip

_RIGHTS: Final = {
    "mayReadItems": True, "mayAddItems": True, "mayRemoveItems": True, "maySetSeen": True,
    "maySetKeywords": True, "mayCreateChild": False, "mayRename": False, "mayDelete": False,
    "maySubmit": False,
}  # fmt: skip


def role_of(name: str, flags: Sequence[str]) -> str | None:
    """The JMAP role of an IMAP mailbox: ``inbox`` for INBOX, else its special-use attribute."""
    if name.upper() == "INBOX":
        return "inbox"
    for flag in flags:
        role = _ROLES.get(flag.lower())
        if role is not None:
            return role
    return None


@dataclass(frozen=True, slots=True)
class _Mailbox:
    id: str
    name: str
    parent_id: str | None
    role: str | None
    counts: MailboxCounts

    def to_json(self, properties: Sequence[str]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "parentId": self.parent_id,
            "role": self.role,
            "sortOrder": 0,
            "totalEmails": self.counts.messages,
            "unreadEmails": self.counts.unseen,
            "totalThreads": self.counts.messages,
            "unreadThreads": self.counts.unseen,
            "myRights": dict(_RIGHTS),
            "isSubscribed": True,
        }
        return {name: values[name] for name in properties}


def _mailboxes(listed: Sequence[MailboxCounts]) -> list[_Mailbox]:
    by_name = {m.info.name: m for m in listed}
    found: list[_Mailbox] = []
    for counts in listed:
        info = counts.info
        jmap_id = mailbox_jmap_id(info)
        if jmap_id is None:
            continue
        name = info.display_name
        parent_id: str | None = None
        delimiter = info.delimiter
        if delimiter and delimiter in info.name:
            name = info.display_name.rsplit(delimiter, 1)[-1]
            ancestor = info.name
            while delimiter in ancestor and parent_id is None:
                ancestor = ancestor.rsplit(delimiter, 1)[0]
                parent = by_name.get(ancestor)
                if parent is not None:
                    parent_id = mailbox_jmap_id(parent.info)
        found.append(_Mailbox(jmap_id, name, parent_id, role_of(info.name, info.flags), counts))
    return found


# -- Mailbox/query filters -----------------------------------------------------------------


_Test = Callable[[_Mailbox], bool]


def _parent_is(value: str | None) -> _Test:
    return lambda m: m.parent_id == value


def _name_has(value: str) -> _Test:
    folded = value.casefold()
    return lambda m: folded in m.name.casefold()


def _role_is(value: str | None) -> _Test:
    return lambda m: m.role == value


def _has_role(value: bool) -> _Test:
    return lambda m: (m.role is not None) == value


def _always(value: bool) -> _Test:
    return lambda m: value


def _condition(condition: Mapping[str, JsonValue]) -> _Test:
    tests: list[_Test] = []
    for key, value in condition.items():
        if key in ("parentId", "role"):
            if value is not None and not isinstance(value, str):
                raise InvalidArguments(f"filter {key} must be a string or null")
            tests.append(_parent_is(value) if key == "parentId" else _role_is(value))
        elif key == "name":
            if not isinstance(value, str):
                raise InvalidArguments("filter name must be a string")
            tests.append(_name_has(value))
        elif key in ("hasAnyRole", "isSubscribed"):
            if not isinstance(value, bool):
                raise InvalidArguments(f"filter {key} must be a boolean")
            # Every mailbox is subscribed (LSUB is not asked).
            tests.append(_has_role(value) if key == "hasAnyRole" else _always(value))
        else:
            raise UnsupportedFilter(f"no Mailbox filter property {describe(key)}")
    return lambda m: all(test(m) for test in tests)


def _filter(value: JsonValue) -> Callable[[_Mailbox], bool]:
    if value is None:
        return lambda m: True
    if not isinstance(value, dict):
        raise InvalidArguments("filter must be an object or null")
    if "operator" not in value:
        return _condition(value)
    operator, conditions = value.get("operator"), value.get("conditions")
    if not isinstance(conditions, list):
        raise InvalidArguments("FilterOperator conditions must be an array")
    tests = [_filter(child) for child in conditions]
    if operator == "AND":
        return lambda m: all(t(m) for t in tests)
    if operator == "OR":
        return lambda m: any(t(m) for t in tests)
    if operator == "NOT":
        return lambda m: not any(t(m) for t in tests)
    raise InvalidArguments(f"FilterOperator operator must be AND, OR or NOT: {describe(operator)}")


def _sorted(mailboxes: list[_Mailbox], sort: JsonValue) -> list[_Mailbox]:
    if sort is None:
        return mailboxes
    if not isinstance(sort, list):
        raise InvalidArguments("sort must be an array of Comparators or null")
    result = list(mailboxes)
    for comparator in reversed(sort):
        if not isinstance(comparator, dict) or not isinstance(comparator.get("property"), str):
            raise InvalidArguments("a Comparator is an object with a property")
        ascending = comparator.get("isAscending", True)
        if not isinstance(ascending, bool):
            raise InvalidArguments("Comparator isAscending must be a boolean")
        prop = comparator["property"]
        if prop == "name":
            result.sort(key=lambda m: m.name.casefold(), reverse=not ascending)
        elif prop == "sortOrder":
            result.sort(key=lambda m: 0, reverse=not ascending)
        else:
            raise UnsupportedSort(f"cannot sort mailboxes by {describe(prop)}; name, sortOrder")
    return result


def _as_tree(mailboxes: list[_Mailbox]) -> list[_Mailbox]:
    """Parents before their children, siblings in the order given (RFC 8621 §2.3)."""
    ids = {m.id for m in mailboxes}
    children: dict[str | None, list[_Mailbox]] = {}
    for m in mailboxes:
        children.setdefault(m.parent_id if m.parent_id in ids else None, []).append(m)
    ordered: list[_Mailbox] = []

    def walk(parent: str | None) -> None:
        for child in children.get(parent, []):
            ordered.append(child)
            walk(child.id)

    walk(None)
    return ordered


class MailboxMethods:
    """Mailbox/get and Mailbox/query for the accounts of :class:`MailServices`."""

    def __init__(self, services: MailServices) -> None:
        self._services = services

    async def get(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Mailbox/get (RFC 8621 §2.1): every mailbox, or those ``ids`` names."""
        args = parse_get(
            call.arguments,
            max_objects=self._services.core.max_objects_in_get,
            properties=MAILBOX_PROPERTIES,
            created_ids=call.created_ids,
        )
        account = context.account(args.account_id)
        mail = self._services.mail(context, args.account_id)
        # Read before IMAP is: a change during the call is then after this state, not lost.
        state = context.states.state(account, "Mailbox")
        with engine_failures():
            mailboxes = _mailboxes(await mail.mailboxes())
        properties = returned_properties(args.properties, MAILBOX_PROPERTIES)
        by_id = {m.id: m for m in mailboxes}
        if args.ids is None:
            listed, not_found = mailboxes, []
        else:
            wanted = list(dict.fromkeys(args.ids))
            listed = [by_id[i] for i in wanted if i in by_id]
            not_found = [i for i in wanted if i not in by_id]
        return get_result(
            "Mailbox/get", args.account_id, state, [m.to_json(properties) for m in listed],
            not_found,
        )  # fmt: skip

    async def query(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Mailbox/query (RFC 8621 §2.3)."""
        args = parse_query(call.arguments)
        account = context.account(args.account_id)
        test = _filter(args.filter)
        sort_as_tree = call.arguments.get("sortAsTree", False)
        filter_as_tree = call.arguments.get("filterAsTree", False)
        if not isinstance(sort_as_tree, bool) or not isinstance(filter_as_tree, bool):
            raise InvalidArguments("sortAsTree and filterAsTree must be booleans")
        mail = self._services.mail(context, args.account_id)
        # Read before IMAP is: a change during the call is then after this state, not lost.
        state = context.states.state(account, "Mailbox")
        with engine_failures():
            mailboxes = _mailboxes(await mail.mailboxes())
        ordered = _sorted(mailboxes, args.sort)
        if sort_as_tree:
            ordered = _as_tree(ordered)
        if filter_as_tree:
            by_id = {m.id: m for m in mailboxes}
            kept: set[str] = set()
            for m in _as_tree(mailboxes):
                parent_ok = m.parent_id is None or m.parent_id in kept or m.parent_id not in by_id
                if parent_ok and test(m):
                    kept.add(m.id)
            ids = [m.id for m in ordered if m.id in kept]
        else:
            ids = [m.id for m in ordered if test(m)]
        return query_result("Mailbox/query", args, state, ids)
