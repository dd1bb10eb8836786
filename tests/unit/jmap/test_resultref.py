import pytest

from switchboard.jmap.errors import InvalidArguments, InvalidResultReference
from switchboard.jmap.request import Invocation
from switchboard.jmap.resultref import (
    PointerError,
    ResultReference,
    evaluate_pointer,
    parse_pointer,
    resolve_arguments,
)

# RFC 8620 §3.7's first example: Foo/changes, then Foo/get of its created and updated ids.
CHANGES = Invocation(
    "Foo/changes",
    {
        "accountId": "A1",
        "oldState": "abcdef",
        "newState": "123456",
        "hasMoreChanges": False,
        "created": ["f1", "f4"],
        "updated": ["f2"],
        "destroyed": ["f3"],
    },
    "t0",
)


def ref(result_of: str, name: str, path: str) -> dict[str, object]:
    return {"resultOf": result_of, "name": name, "path": path}


def test_rfc_changes_example() -> None:
    created = resolve_arguments(
        {"accountId": "A1", "#ids": ref("t0", "Foo/changes", "/created")}, [CHANGES]
    )
    assert created == {"accountId": "A1", "ids": ["f1", "f4"]}
    updated = resolve_arguments({"#ids": ref("t0", "Foo/changes", "/updated")}, [CHANGES])
    assert updated == {"ids": ["f2"]}


# RFC 8620 §3.7's second example: Email/query → Email/get threadId → Thread/get → Email/get.
QUERY = Invocation("Email/query", {"accountId": "A1", "ids": ["id1", "id2", "id3"]}, "t0")
EMAILS = Invocation(
    "Email/get",
    {
        "accountId": "A1",
        "state": "abc",
        "list": [
            {"id": "id1", "threadId": "trd194"},
            {"id": "id2", "threadId": "trd114"},
            {"id": "id3", "threadId": "trd99"},
        ],
        "notFound": [],
    },
    "t1",
)
THREADS = Invocation(
    "Thread/get",
    {
        "accountId": "A1",
        "state": "123",
        "list": [
            {"id": "trd194", "emailIds": ["id754", "id41", "id1"]},
            {"id": "trd114", "emailIds": ["id99", "id2"]},
            {"id": "trd99", "emailIds": ["id3"]},
        ],
        "notFound": [],
    },
    "t2",
)
RESPONSES = [QUERY, EMAILS, THREADS]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (ref("t0", "Email/query", "/ids"), ["id1", "id2", "id3"]),
        (ref("t1", "Email/get", "/list/*/threadId"), ["trd194", "trd114", "trd99"]),
        # The * results are arrays themselves: flattened into one list.
        (
            ref("t2", "Thread/get", "/list/*/emailIds"),
            ["id754", "id41", "id1", "id99", "id2", "id3"],
        ),
        (ref("t2", "Thread/get", "/list/1/emailIds/0"), "id99"),
        (ref("t2", "Thread/get", "/list/*/id"), ["trd194", "trd114", "trd99"]),
        (ref("t1", "Email/get", "/notFound"), []),
    ],
)
def test_rfc_thread_example(reference: dict[str, object], expected: object) -> None:
    assert resolve_arguments({"#ids": reference}, RESPONSES) == {"ids": expected}


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"#ids": ref("t9", "Email/query", "/ids")}, InvalidResultReference),  # no such call
        ({"#ids": ref("t0", "Email/get", "/ids")}, InvalidResultReference),  # wrong name
        ({"#ids": ref("t0", "Email/query", "/nothing")}, InvalidResultReference),
        ({"#ids": ref("t0", "Email/query", "ids")}, InvalidResultReference),  # no leading /
        ({"#ids": ref("t0", "Email/query", "/ids/3")}, InvalidResultReference),  # past the end
        ({"#ids": ref("t0", "Email/query", "/ids/-")}, InvalidResultReference),
        ({"#ids": ref("t0", "Email/query", "/ids/01")}, InvalidResultReference),
        ({"#ids": ref("t0", "Email/query", "/ids/0/x")}, InvalidResultReference),  # into a str
        ({"#ids": ref("t0", "Email/query", "/accountId/*")}, InvalidResultReference),
        ({"#ids": {"resultOf": "t0", "name": "Email/query"}}, InvalidResultReference),
        ({"#ids": "t0"}, InvalidResultReference),
        ({"#ids": ref("t0", "Email/query", "/ids"), "ids": []}, InvalidArguments),
    ],
)
def test_failures(arguments: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        resolve_arguments(arguments, RESPONSES)  # type: ignore[arg-type]


def test_first_response_with_the_call_id_wins() -> None:
    # §3.7 step 1: "Find the first response with a method call id identical to resultOf".
    responses = [
        Invocation("Foo/set", {"a": 1}, "c1"),
        Invocation("Bar/set", {"a": 2}, "c1"),
    ]
    assert resolve_arguments({"#a": ref("c1", "Foo/set", "/a")}, responses) == {"a": 1}
    with pytest.raises(InvalidResultReference):
        resolve_arguments({"#a": ref("c1", "Bar/set", "/a")}, responses)


def test_arguments_without_references_are_returned_as_is() -> None:
    arguments = {"accountId": "A1"}
    assert resolve_arguments(arguments, []) is arguments  # type: ignore[arg-type]


# RFC 6901 §5's example document and pointers.
RFC6901 = {
    "foo": ["bar", "baz"],
    "": 0,
    "a/b": 1,
    "c%d": 2,
    "e^f": 3,
    "g|h": 4,
    "i\\j": 5,
    'k"l': 6,
    " ": 7,
    "m~n": 8,
}


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        ("", RFC6901),
        ("/foo", ["bar", "baz"]),
        ("/foo/0", "bar"),
        ("/", 0),
        ("/a~1b", 1),
        ("/c%d", 2),
        ("/e^f", 3),
        ("/g|h", 4),
        ("/i\\j", 5),
        ('/k"l', 6),
        ("/ ", 7),
        ("/m~0n", 8),
    ],
)
def test_rfc6901_examples(pointer: str, value: object) -> None:
    assert evaluate_pointer(RFC6901, pointer) == value  # type: ignore[arg-type]


def test_pointer_syntax() -> None:
    assert parse_pointer("/~01") == ("~1",)  # ~1 is unescaped first, then ~0
    assert parse_pointer("/a/") == ("a", "")
    for bad in ("a", "/~2", "/~", "/a~", "/~~01"):
        with pytest.raises(PointerError):
            parse_pointer(bad)
    # On an object, "*" is an ordinary member name.
    assert evaluate_pointer({"*": 1}, "/*") == 1
    # Star on an array of scalars, with nothing after it, is the array itself.
    assert evaluate_pointer({"a": [1, 2]}, "/a/*") == [1, 2]
    # Nested stars flatten one level each time.
    doc = {"l": [{"m": [{"n": [1, 2]}, {"n": [3]}]}, {"m": [{"n": [4]}]}]}
    assert evaluate_pointer(doc, "/l/*/m/*/n") == [1, 2, 3, 4]


def test_result_reference_round_trip() -> None:
    reference = ResultReference("t0", "Email/query", "/ids")
    assert ResultReference.from_json(reference.to_json()) == reference  # type: ignore[arg-type]
