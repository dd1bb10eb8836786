"""The standard arguments of /get, /changes and /query (RFC 8620 §5.1, §5.2, §5.5), checked.

Each ``parse_*`` reads the arguments every method of that kind shares and raises the error
the RFC names for each fault, so the server's handlers start from typed values. Arguments a
parser does not name are left for the handler (``collapseThreads``, ``fetchTextBodyValues``…)
and unknown ones are ignored: jmapc sends ``sortAsTree``/``filterAsTree`` on every
Mailbox/query, for instance.

Ids in /get may be creation ids (``#k1``) of objects created earlier in the same request
(RFC 8620 §5.3, "the client may use the creation id prefixed with #"); they are replaced by
the server ids from the request's created-ids map.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from switchboard.jmap.datatypes import is_int, is_unsigned_int, is_valid_id
from switchboard.jmap.errors import InvalidArguments, RequestTooLarge, describe
from switchboard.jmap.jsonvalue import JsonObject, JsonValue

__all__ = [
    "ChangesArguments",
    "GetArguments",
    "QueryArguments",
    "parse_account_id",
    "parse_changes",
    "parse_get",
    "parse_query",
]


def parse_account_id(arguments: JsonObject) -> str:
    """The required ``accountId``.

    Raises:
        InvalidArguments: it is missing or not an Id.
    """
    value = arguments.get("accountId")
    if not is_valid_id(value):
        raise InvalidArguments(f"accountId must be an Id, not {describe(value)}")
    return str(value)


def _optional_bool(arguments: JsonObject, name: str, default: bool) -> bool:
    value = arguments.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidArguments(f"{name} must be a boolean")
    return value


def _int(arguments: JsonObject, name: str, default: int, *, unsigned: bool) -> int:
    value = arguments.get(name)
    if value is None:
        return default
    if not (is_unsigned_int(value) if unsigned else is_int(value)) or not isinstance(value, int):
        kind = "an UnsignedInt" if unsigned else "an Int"
        raise InvalidArguments(f"{name} must be {kind}, not {describe(value)}")
    return value


@dataclass(frozen=True, slots=True)
class GetArguments:
    """Standard /get arguments.

    Attributes:
        account_id: the account.
        ids: the ids to return, or ``None`` for all objects (``ids: null``).
        properties: the properties to return, or ``None`` for the type's defaults.
    """

    account_id: str
    ids: tuple[str, ...] | None
    properties: tuple[str, ...] | None


def _resolve_id(value: JsonValue, created_ids: Mapping[str, str]) -> str:
    if isinstance(value, str) and value.startswith("#"):
        server_id = created_ids.get(value[1:])
        if server_id is None:
            raise InvalidArguments(f"no object was created as {describe(value)}")
        return server_id
    if not isinstance(value, str):
        raise InvalidArguments(f"ids must hold strings, not {describe(value)}")
    # A string that is not a valid Id can name no object: it is reported in notFound.
    return value


def parse_get(
    arguments: JsonObject,
    *,
    max_objects: int,
    properties: Collection[str],
    created_ids: Mapping[str, str],
) -> GetArguments:
    """Read /get arguments.

    Args:
        arguments: the call's arguments.
        max_objects: ``maxObjectsInGet``.
        properties: every property of the type (others are refused).
        created_ids: the request's creation id map, for ``#`` ids.

    Raises:
        InvalidArguments: a malformed ``accountId``, ``ids`` or ``properties``, an unknown
            property (§5.1: "the server MUST reject the call"), or an unknown creation id.
        RequestTooLarge: more ids than ``max_objects``.
    """
    account = parse_account_id(arguments)
    raw_ids = arguments.get("ids")
    ids: tuple[str, ...] | None = None
    if raw_ids is not None:
        if not isinstance(raw_ids, list):
            raise InvalidArguments("ids must be an array of Ids or null")
        if len(raw_ids) > max_objects:
            raise RequestTooLarge(f"{len(raw_ids)} ids; maxObjectsInGet is {max_objects}")
        ids = tuple(_resolve_id(value, created_ids) for value in raw_ids)
    raw_properties = arguments.get("properties")
    wanted: tuple[str, ...] | None = None
    if raw_properties is not None:
        if not isinstance(raw_properties, list) or not all(
            isinstance(p, str) for p in raw_properties
        ):
            raise InvalidArguments("properties must be an array of strings or null")
        unknown = [str(p) for p in raw_properties if p not in properties]
        if unknown:
            raise InvalidArguments(f"unknown properties: {', '.join(unknown)[:200]}")
        wanted = tuple(str(p) for p in raw_properties)
    return GetArguments(account, ids, wanted)


@dataclass(frozen=True, slots=True)
class ChangesArguments:
    """Standard /changes arguments."""

    account_id: str
    since_state: str
    max_changes: int | None


def parse_changes(arguments: JsonObject) -> ChangesArguments:
    """Read /changes arguments.

    Raises:
        InvalidArguments: a malformed ``accountId``, a missing or non-string ``sinceState``,
            or a ``maxChanges`` that is not a positive integer (§5.2).
    """
    account = parse_account_id(arguments)
    since = arguments.get("sinceState")
    if not isinstance(since, str):
        raise InvalidArguments("sinceState must be a string")
    max_changes = arguments.get("maxChanges")
    if max_changes is not None and (not is_unsigned_int(max_changes) or max_changes == 0):
        raise InvalidArguments("maxChanges must be a positive integer or null")
    return ChangesArguments(account, since, max_changes if isinstance(max_changes, int) else None)


@dataclass(frozen=True, slots=True)
class QueryArguments:
    """Standard /query arguments; ``filter`` and ``sort`` stay raw for the type's parser."""

    account_id: str
    filter: JsonValue
    sort: JsonValue
    position: int
    anchor: str | None
    anchor_offset: int
    limit: int | None
    calculate_total: bool


def parse_query(arguments: JsonObject) -> QueryArguments:
    """Read /query arguments (§5.5).

    Raises:
        InvalidArguments: a malformed ``accountId``, ``position``, ``anchor``,
            ``anchorOffset``, ``limit`` (negative included, §5.5) or ``calculateTotal``.
    """
    account = parse_account_id(arguments)
    anchor = arguments.get("anchor")
    if anchor is not None and not isinstance(anchor, str):
        raise InvalidArguments("anchor must be an Id or null")
    limit = arguments.get("limit")
    if limit is not None and (not is_unsigned_int(limit) or not isinstance(limit, int)):
        raise InvalidArguments(f"limit must be an UnsignedInt or null, not {describe(limit)}")
    return QueryArguments(
        account_id=account,
        filter=arguments.get("filter"),
        sort=arguments.get("sort"),
        position=_int(arguments, "position", 0, unsigned=False),
        anchor=anchor,
        anchor_offset=_int(arguments, "anchorOffset", 0, unsigned=False),
        limit=limit,
        calculate_total=_optional_bool(arguments, "calculateTotal", False),
    )
