import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.jmap.jsonvalue import InvalidJsonError, dumps, loads

VALID = [
    ("{}", {}),
    ('{"a":[1,2.5,"x",true,null]}', {"a": [1, 2.5, "x", True, None]}),
    ('"\\ud83d\\ude00"', "\U0001f600"),  # a surrogate pair is one character
    ("[1e308]", [1e308]),
    ('{"a":{"a":1}}', {"a": {"a": 1}}),  # the same name at two levels is fine
]


@pytest.mark.parametrize(("text", "value"), VALID)
def test_valid_i_json(text: str, value: object) -> None:
    assert loads(text) == value
    assert loads(text.encode()) == value


INVALID = [
    (b"\xff{}", "not UTF-8"),
    (b"\xef\xbb\xbf{}", "BOM"),  # RFC 8259 §8.1: no byte order mark
    (b'{"a":1,"a":2}', "duplicate"),  # RFC 7493 §2.3
    (b'["\\ud800"]', "surrogate"),  # RFC 7493 §2.1
    (b'{"\\udc00":1}', "surrogate"),
    (b"[NaN]", "NaN"),
    (b"[Infinity]", "Infinity"),
    (b"[-Infinity]", "Infinity"),
    (b"[1e400]", "too large"),
    (b"", "Expecting value"),
    (b"{", "Expecting"),
    (b"[1] [2]", "Extra data"),
    (b"[" + b"1" * 5000 + b"]", ""),  # int() digit limit, reported not crashed
]


@pytest.mark.parametrize(("data", "reason"), INVALID)
def test_invalid_i_json(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidJsonError) as info:
        loads(data)
    assert reason in str(info.value)


def test_depth_limit() -> None:
    assert loads("[" * 10 + "]" * 10, max_depth=10) is not None
    with pytest.raises(InvalidJsonError, match="deeper than 10"):
        loads("[" * 11 + "]" * 11, max_depth=10)
    with pytest.raises(InvalidJsonError, match="deeper than 3"):
        loads('{"a":{"b":{"c":{}}}}', max_depth=3)
    # Deep enough to exhaust the interpreter's recursion: still a clean error.
    with pytest.raises(InvalidJsonError, match="deeper"):
        loads("[" * 100_000 + "]" * 100_000)


def test_dumps_is_compact_and_optionally_ascii() -> None:
    assert dumps({"a": [1, "é"]}) == '{"a":[1,"é"]}'
    assert dumps({"a": [1, "é"]}, ascii_only=True) == '{"a":[1,"\\u00e9"]}'
    with pytest.raises(ValueError):
        dumps(float("nan"))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(JSON)
@settings(max_examples=200)
def test_round_trip(value: object) -> None:
    assert loads(dumps(value)) == value  # type: ignore[arg-type]
    assert loads(dumps(value, ascii_only=True)) == value  # type: ignore[arg-type]


@given(st.binary(max_size=200))
@settings(max_examples=300)
def test_any_bytes_parse_or_raise_the_documented_error(data: bytes) -> None:
    try:
        value = loads(data)
    except InvalidJsonError:
        return
    assert value == json.loads(data)
