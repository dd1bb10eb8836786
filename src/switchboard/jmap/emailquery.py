"""Email/query filters and sorts (RFC 8621 §4.4) parsed, validated and translated to search terms.

How it works: :func:`parse_filter` walks a FilterOperator/FilterCondition tree (RFC 8620
§5.5) and returns a :mod:`~switchboard.jmap.search` term tree; :func:`parse_sort` turns a
Comparator list into IMAP SORT criteria. The tables below are the whole contract:

- a condition property IMAP SEARCH can answer becomes a term (``_CONDITIONS``);
- an RFC property IMAP cannot answer is ``unsupportedFilter`` with the reason
  (``UNSUPPORTED_CONDITIONS``), and so is a property the RFC does not define;
- a value of the wrong type (a size that is not an UnsignedInt, a date that is not a UTCDate,
  a keyword outside the grammar) is ``invalidArguments``;
- a sort property outside ``SORT_PROPERTIES``, or a collation the server did not announce,
  is ``unsupportedSort``.

A condition with several properties matches when all of them do. A ``null`` property value
counts as absent. Comparator members other than ``property``, ``isAscending``, ``collation``
and ``keyword`` are ignored: jmapc 0.4 sends ``anchor``, ``anchorOffset``, ``limit``,
``calculateTotal`` and ``position`` inside every Comparator.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType
from typing import Final

from switchboard.jmap.datatypes import is_unsigned_int, is_valid_id, parse_utc_date
from switchboard.jmap.errors import InvalidArguments, UnsupportedFilter, UnsupportedSort, describe
from switchboard.jmap.jsonvalue import JsonValue
from switchboard.jmap.keywords import InvalidKeywordError, keyword_to_flag
from switchboard.jmap.search import (
    All,
    Contains,
    HasFlag,
    Header,
    InMailbox,
    InMailboxOtherThan,
    Larger,
    Not,
    ReceivedBefore,
    ReceivedSince,
    SearchTerm,
    Smaller,
    SortCriterion,
    SortKey,
    TextField,
    conjunction,
    disjunction,
)

__all__ = [
    "FILTER_PROPERTIES",
    "SORT_PROPERTIES",
    "UNSUPPORTED_CONDITIONS",
    "parse_filter",
    "parse_sort",
]

_SORT_KEYS: Final[Mapping[str, SortKey]] = MappingProxyType(
    {
        "receivedAt": SortKey.ARRIVAL,
        "sentAt": SortKey.DATE,
        "size": SortKey.SIZE,
        "from": SortKey.DISPLAYFROM,
        "to": SortKey.DISPLAYTO,
        "subject": SortKey.SUBJECT,
    }
)

SORT_PROPERTIES: Final = tuple(_SORT_KEYS)
"""The Email/query sort properties we support, announced as ``emailQuerySortOptions``.
RFC 8621's keyword sorts (``hasKeyword``, ``allInThreadHaveKeyword``,
``someInThreadHaveKeyword``) have no IMAP SORT key."""

UNSUPPORTED_CONDITIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "allInThreadHaveKeyword": "IMAP SEARCH cannot match on the keywords of a whole thread",
        "someInThreadHaveKeyword": "IMAP SEARCH cannot match on the keywords of a whole thread",
        "noneInThreadHaveKeyword": "IMAP SEARCH cannot match on the keywords of a whole thread",
        "hasAttachment": "IMAP SEARCH has no key for attachments",
    }
)
"""RFC 8621 §4.4.1 conditions IMAP SEARCH cannot answer, with the reason given to the client."""

_TEXT_FIELDS: Final = {
    "text": TextField.TEXT,
    "from": TextField.FROM,
    "to": TextField.TO,
    "cc": TextField.CC,
    "bcc": TextField.BCC,
    "subject": TextField.SUBJECT,
    "body": TextField.BODY,
}


def _id(name: str, value: JsonValue) -> str:
    if not is_valid_id(value):
        raise InvalidArguments(f"filter {name} must be an Id, not {describe(value)}")
    return str(value)


def _in_mailbox(value: JsonValue) -> SearchTerm:
    return InMailbox(_id("inMailbox", value))


def _in_mailbox_other_than(value: JsonValue) -> SearchTerm:
    if not isinstance(value, list):
        raise InvalidArguments("filter inMailboxOtherThan must be an array of Ids")
    return InMailboxOtherThan(tuple(_id("inMailboxOtherThan", item) for item in value))


def _date(name: str, value: JsonValue) -> SearchTerm:
    try:
        moment = parse_utc_date(value)
    except ValueError as exc:
        raise InvalidArguments(f"filter {name}: {exc}") from None
    return ReceivedBefore(moment) if name == "before" else ReceivedSince(moment)


def _size(name: str, value: JsonValue) -> SearchTerm:
    if not is_unsigned_int(value) or not isinstance(value, int):
        raise InvalidArguments(f"filter {name} must be an UnsignedInt, not {describe(value)}")
    if name == "maxSize":
        return Smaller(value)  # size < maxSize
    # size >= minSize is size > minSize - 1; minSize 0 holds for every message.
    return Larger(value - 1) if value > 0 else All()


def _keyword(name: str, value: JsonValue) -> SearchTerm:
    if not isinstance(value, str):
        raise InvalidArguments(f"filter {name} must be a keyword string")
    try:
        flag = keyword_to_flag(value)
    except InvalidKeywordError as exc:
        raise InvalidArguments(f"filter {name}: {exc}") from None
    return HasFlag(flag) if name == "hasKeyword" else Not(HasFlag(flag))


def _text(name: str, value: JsonValue) -> SearchTerm:
    if not isinstance(value, str):
        raise InvalidArguments(f"filter {name} must be a string, not {describe(value)}")
    return Contains(_TEXT_FIELDS[name], value)


def _header(value: JsonValue) -> SearchTerm:
    # RFC 8621 §4.4.1: [name] or [name, value]; one element matches any Email with the field.
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= 2
        or not all(isinstance(item, str) for item in value)
    ):
        raise InvalidArguments("filter header must be [name] or [name, value] strings")
    try:
        return Header(str(value[0]), str(value[1]) if len(value) == 2 else "")
    except ValueError as exc:
        raise InvalidArguments(f"filter header: {exc}") from None


_CONDITIONS: Final[Mapping[str, Callable[[str, JsonValue], SearchTerm]]] = MappingProxyType(
    {
        "inMailbox": lambda _, value: _in_mailbox(value),
        "inMailboxOtherThan": lambda _, value: _in_mailbox_other_than(value),
        "before": _date,
        "after": _date,
        "minSize": _size,
        "maxSize": _size,
        "hasKeyword": _keyword,
        "notKeyword": _keyword,
        **{name: _text for name in _TEXT_FIELDS},
        "header": lambda _, value: _header(value),
    }
)

FILTER_PROPERTIES: Final = tuple(_CONDITIONS)
"""The FilterCondition properties Email/query supports."""


def _condition(condition: dict[str, JsonValue]) -> SearchTerm:
    terms: list[SearchTerm] = []
    for name, value in condition.items():
        if value is None:
            continue
        translate = _CONDITIONS.get(name)
        if translate is None:
            reason = UNSUPPORTED_CONDITIONS.get(name, "no such Email filter property")
            raise UnsupportedFilter(f"{describe(name)}: {reason}")
        terms.append(translate(name, value))
    return conjunction(terms)


def _operator(node: dict[str, JsonValue]) -> SearchTerm:
    operator, conditions = node.get("operator"), node.get("conditions")
    if set(node) != {"operator", "conditions"}:
        raise InvalidArguments("a FilterOperator has exactly operator and conditions")
    if not isinstance(conditions, list):
        raise InvalidArguments("FilterOperator conditions must be an array")
    terms = [parse_filter(child) for child in conditions]
    if operator == "AND":
        return conjunction(terms)
    if operator == "OR":
        return disjunction(terms)
    if operator == "NOT":
        # RFC 8620 §5.5: NOT matches when none of the conditions match.
        return Not(disjunction(terms))
    raise InvalidArguments(f"FilterOperator operator must be AND, OR or NOT: {describe(operator)}")


def parse_filter(value: JsonValue) -> SearchTerm:
    """Translate an Email/query ``filter`` into a search term tree.

    Args:
        value: the ``filter`` argument: ``null``, a FilterCondition or a FilterOperator.

    Returns:
        The term tree; ``All()`` for ``null`` or ``{}``.

    Raises:
        InvalidArguments: the filter is not an object, an operator is malformed, or a
            property has a value of the wrong type.
        UnsupportedFilter: a property is not one IMAP SEARCH can answer.
    """
    if value is None:
        return All()
    if not isinstance(value, dict):
        raise InvalidArguments(f"filter must be an object or null, not {describe(value)}")
    if "operator" in value:
        return _operator(value)
    return _condition(value)


def _criterion(value: JsonValue, collations: Collection[str]) -> SortCriterion:
    if not isinstance(value, dict) or not isinstance(value.get("property"), str):
        raise InvalidArguments(f"a Comparator is an object with a property: {describe(value)}")
    ascending = value.get("isAscending", True)
    collation = value.get("collation")
    if not isinstance(ascending, bool):
        raise InvalidArguments("Comparator isAscending must be a boolean")
    if collation is not None and not isinstance(collation, str):
        raise InvalidArguments("Comparator collation must be a string")
    key = _SORT_KEYS.get(str(value["property"]))
    if key is None:
        raise UnsupportedSort(
            f"cannot sort by {describe(value['property'])}; "
            f"supported: {', '.join(SORT_PROPERTIES)}"
        )
    if collation is not None and collation not in collations:
        raise UnsupportedSort(f"unsupported collation {describe(collation)}")
    return SortCriterion(key, reverse=not ascending)


def parse_sort(value: JsonValue, *, collations: Collection[str]) -> tuple[SortCriterion, ...]:
    """Translate an Email/query ``sort`` into IMAP SORT criteria, most significant first.

    Args:
        value: the ``sort`` argument: ``null`` or an array of Comparators.
        collations: the collations announced in the core capability.

    Returns:
        The criteria; empty for ``null`` or ``[]`` (the server's default order applies).

    Raises:
        InvalidArguments: ``sort`` is not an array of Comparator objects, or a member has the
            wrong type.
        UnsupportedSort: a property or collation we cannot sort by.
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidArguments("sort must be an array of Comparators or null")
    return tuple(_criterion(item, collations) for item in value)
