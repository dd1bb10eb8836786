import pytest

from switchboard.jmap.arguments import (
    ChangesArguments,
    GetArguments,
    QueryArguments,
    parse_changes,
    parse_get,
    parse_query,
)
from switchboard.jmap.errors import InvalidArguments, RequestTooLarge

PROPERTIES = {"id", "name", "role"}


def get(arguments: dict[str, object], created: dict[str, str] | None = None) -> GetArguments:
    return parse_get(arguments, max_objects=3, properties=PROPERTIES,  # type: ignore[arg-type]
                     created_ids=created or {})  # fmt: skip


def test_get() -> None:
    assert get({"accountId": "A1"}) == GetArguments("A1", None, None)
    nulls = {"accountId": "A1", "ids": None, "properties": None}
    assert get(nulls) == GetArguments("A1", None, None)
    assert get({"accountId": "A1", "ids": ["m1", "m2"], "properties": ["name"]}) == GetArguments(
        "A1", ("m1", "m2"), ("name",)
    )
    # RFC 8620 §5.3: "#creationId" refers to an object created earlier in the request.
    assert get({"accountId": "A1", "ids": ["#k1"]}, {"k1": "m9"}).ids == ("m9",)
    # A string that is not an Id can name no object: left for notFound.
    assert get({"accountId": "A1", "ids": ["not an id"]}).ids == ("not an id",)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({}, InvalidArguments),
        ({"accountId": 1}, InvalidArguments),
        ({"accountId": "A1", "ids": "m1"}, InvalidArguments),
        ({"accountId": "A1", "ids": [1]}, InvalidArguments),
        ({"accountId": "A1", "ids": ["#nope"]}, InvalidArguments),
        ({"accountId": "A1", "ids": ["a", "b", "c", "d"]}, RequestTooLarge),
        ({"accountId": "A1", "properties": "name"}, InvalidArguments),
        ({"accountId": "A1", "properties": ["name", "colour"]}, InvalidArguments),
    ],
)
def test_bad_get(arguments: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        get(arguments)


def test_changes() -> None:
    assert parse_changes({"accountId": "A1", "sinceState": "k:1"}) == ChangesArguments(
        "A1", "k:1", None
    )
    assert parse_changes({"accountId": "A1", "sinceState": "k:1", "maxChanges": 5}).max_changes == 5
    for bad in ({"accountId": "A1"}, {"accountId": "A1", "sinceState": 1},
                {"accountId": "A1", "sinceState": "s", "maxChanges": 0},
                {"accountId": "A1", "sinceState": "s", "maxChanges": -1},
                {"accountId": "A1", "sinceState": "s", "maxChanges": "5"}):  # fmt: skip
        with pytest.raises(InvalidArguments):
            parse_changes(bad)  # type: ignore[arg-type]


def test_query() -> None:
    assert parse_query({"accountId": "A1"}) == QueryArguments(
        "A1", None, None, 0, None, 0, None, False
    )
    full = parse_query({
        "accountId": "A1", "filter": {"inMailbox": "m1"}, "sort": [{"property": "receivedAt"}],
        "position": -10, "anchor": "e1", "anchorOffset": -1, "limit": 50, "calculateTotal": True,
        "collapseThreads": True,  # Email/query's own: left for the handler
    })  # fmt: skip
    assert full == QueryArguments("A1", {"inMailbox": "m1"}, [{"property": "receivedAt"}], -10,
                                  "e1", -1, 50, True)  # fmt: skip
    for bad in ({"position": "0"}, {"position": 1.5}, {"anchor": 1}, {"anchorOffset": True},
                {"limit": -1}, {"limit": 2**53}, {"calculateTotal": "yes"}):  # fmt: skip
        with pytest.raises(InvalidArguments):
            parse_query({"accountId": "A1", **bad})  # type: ignore[arg-type]
