"""wirejson: orjson's speed with the standard library's results, checked against the stdlib."""
# ruff: noqa: E501

import dataclasses
import datetime
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.protocol.wirejson import dumpb, dumps, loads

STDLIB = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def stdlib_loads(text: str | bytes) -> Any:
    """What wirejson.loads did before orjson: UTF-8 only, no NaN, no overflow to infinity."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # json.loads would also guess UTF-16 and UTF-32

    def refuse(name: str) -> Any:
        raise ValueError(name)

    def finite(text: str) -> float:
        value = float(text)
        if math.isinf(value):
            raise ValueError(text)
        return value

    return json.loads(text, parse_constant=refuse, parse_float=finite)


def same(a: Any, b: Any) -> bool:
    """Equal with the same JSON types all the way down (1 is not 1.0, -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


scalars_without_floats = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.integers(min_value=-(2**65), max_value=2**65)
    | st.text(max_size=12)
)


def trees(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4),
        max_leaves=16,
    )


finite_floats = st.floats(allow_nan=False, allow_infinity=False)
text_without_surrogates = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(trees(scalars_without_floats.filter(lambda v: not isinstance(v, str)) | text_without_surrogates))
def test_output_is_the_stdlib_output_byte_for_byte(value: Any) -> None:
    # Compact, raw UTF-8, "/" unescaped, control characters escaped, integers of any size exact.
    expected = STDLIB.encode(value)
    assert dumps(value) == expected
    assert dumpb(value) == expected.encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(trees(scalars_without_floats | finite_floats))
def test_floats_read_back_as_the_same_double(value: Any) -> None:
    assert same(stdlib_loads(dumpb(value)), value)
    assert same(stdlib_loads(dumps(value)), value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"a/b": "é\u2028☃ \x00\n\t\"\\"}, '{"a/b":"é\u2028☃ \\u0000\\n\\t\\"\\\\"}'),
        ([2**64, -(2**63) - 1, 2**64 - 1, -(2**63)], "[18446744073709551616,-9223372036854775809,18446744073709551615,-9223372036854775808]"),
        ([None, True, 0, -0.0, 1.5, "x"], '[null,true,0,-0.0,1.5,"x"]'),
        ({1: 2, None: 3}, '{"1":2,"null":3}'),  # non-string keys: the stdlib's rule
    ],
)  # fmt: skip
def test_examples(value: Any, text: str) -> None:
    assert dumps(value) == text
    assert dumpb(value) == text.encode("utf-8")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "where",
    [
        lambda x: x,
        lambda x: [None, {"a": [1, x]}],  # orjson's null for it would hide among real nulls
        lambda x: {"tag": 2**70, "v": x},  # the stdlib path (an integer beyond 64 bits)
        lambda x: ("tuple", x),
        lambda x: {"list": [{"raw": "x" * 70000}, {"a": [x]}]},  # over 64 KiB: walked, not searched
        lambda x: ["x" * 70000, (1, {"b": x})],
    ],
)
def test_nan_and_infinities_are_refused(bad: float, where: Any) -> None:
    for encode in (dumps, dumpb):
        with pytest.raises(ValueError, match="not JSON compliant"):
            encode(where(bad))


@pytest.mark.parametrize(
    "value",
    [{"k": {1, 2}}, b"raw", [dataclasses.make_dataclass("D", ["x"])(1)], datetime.date(2020, 1, 1), object()],
)  # fmt: skip
def test_what_json_cannot_represent_is_a_type_error(value: Any) -> None:
    for encode in (dumps, dumpb):
        with pytest.raises(TypeError):
            encode(value)


def test_a_lone_surrogate_is_a_value_error_as_bytes_and_the_stdlib_text_as_str() -> None:
    with pytest.raises(ValueError):
        dumpb(["\ud800"])
    assert dumps(["\ud800"]) == '["\ud800"]'


def test_a_large_document_is_written_like_a_small_one() -> None:
    # Over 64 KiB the output is not searched for "null": the value is walked instead.
    value = {"list": [{"raw": "l\u00e9\r\n" * 20000, "size": 1.5, "none": None}] * 3, "n": [2**70]}
    assert dumpb(value) == STDLIB.encode(value).encode("utf-8")
    assert dumps(value) == STDLIB.encode(value)


def test_deep_nesting_beyond_orjson_is_written_by_the_stdlib() -> None:
    deep: Any = []
    for _ in range(300):
        deep = [deep]
    assert dumpb(deep) == ("[" * 301 + "]" * 301).encode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[18446744073709551616,-9223372036854775809]", [2**64, -(2**63) - 1]),
        ('{"state":799937025476307479201211947323216845891755025787}', {"state": 799937025476307479201211947323216845891755025787}),
        ('{"a":1,"a":2}', {"a": 2}),
        ('["\\ud83d\\ude00","é",-0,-0.0,1e5]', ["😀", "é", 0, -0.0, 1e5]),
        ('["\\ud800"]', ["\ud800"]),  # a lone surrogate: frames.py refuses it, loads keeps it
        ('"12345678901234567890"', "12345678901234567890"),
        ("[1e19,-9.3e18,9.2e18]", [1e19, -9.3e18, 9.2e18]),  # wide floats stay floats
        ('["' + "x" * 5000 + '",18446744073709551616]', ["x" * 5000, 2**64]),
        ('["' + "é" * 70000 + '",1.5,-2]', ["é" * 70000, 1.5, -2]),  # over 64 KiB: the stdlib
        ("[1234567890,123456789,18446744073709551616]", [1234567890, 123456789, 2**64]),
        # Over 64 KiB, read by orjson: a too-wide integer (a float in orjson's reading) nested deep
        ('[{"raw":"' + "x" * 70000 + '"},{"a":[[18446744073709551616]]}]', [{"raw": "x" * 70000}, {"a": [[2**64]]}]),
        ('{"list":[{"raw":"' + "x" * 70000 + '","n":-9223372036854775809}]}', {"list": [{"raw": "x" * 70000, "n": -(2**63) - 1}]}),
    ],
)  # fmt: skip
def test_loads_examples(text: str, expected: Any) -> None:
    assert same(loads(text), expected)
    assert same(loads(text.encode("utf-8")), expected)


@pytest.mark.parametrize(
    "text",
    ["[NaN]", "[Infinity]", "[-Infinity]", "[1e999]", "[-1e400]", "", "[1,]", "\ufeff[]", "[01]",
     "[" + '"x",' * 20000 + "NaN]", "[" + '"x",' * 20000 + "1e999]"],
)
def test_loads_refuses_what_is_not_json(text: str) -> None:
    with pytest.raises(ValueError):
        loads(text)
    with pytest.raises(ValueError):
        loads(text.encode("utf-8"))


@pytest.mark.parametrize("data", [b"[\xff]", b"\x00[\x00]\x00", b"\xff\xfe[\x00]\x00"])
def test_loads_reads_bytes_as_utf8_only(data: bytes) -> None:
    with pytest.raises(ValueError):
        loads(data)


def check_loads_like_stdlib(text: str | bytes) -> None:
    try:
        expected = stdlib_loads(text)
    except (ValueError, RecursionError):
        with pytest.raises((ValueError, RecursionError)):
            loads(text)
        return
    assert same(loads(text), expected)


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet='[]{}",:0123456789.eE+-ntrufalsNIiy \t\n\\u/d8', max_size=60)
    | st.text(max_size=40)
)
def test_loads_gives_the_stdlib_result_for_any_text(text: str) -> None:
    check_loads_like_stdlib(text)
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        check_loads_like_stdlib(text.encode("utf-8"))


@settings(max_examples=300, deadline=None)
@given(trees(scalars_without_floats | finite_floats))
def test_loads_reads_back_any_document_like_the_stdlib(value: Any) -> None:
    text = STDLIB.encode(value)
    check_loads_like_stdlib(text)
    assert same(loads(text), value)


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?", fullmatch=True))
def test_numbers_read_like_the_stdlib_reads_them(number: str) -> None:
    # orjson reads them (correctly rounded, as the stdlib does), except an integer beyond 64
    # bits, which it would turn into a float: the stdlib reads those.
    check_loads_like_stdlib(f"[{number}]")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_loads_of_any_bytes_is_the_stdlib_result(data: bytes) -> None:
    check_loads_like_stdlib(data)


def test_a_large_str_is_read_as_the_stdlib_reads_it_lone_surrogates_too() -> None:
    # Over 64 KiB a str goes to orjson as it is (no encoded copy); one orjson cannot read as
    # UTF-8 still gets the standard library's reading.
    big = "x" * 70000
    assert same(loads(f'["{big}\ud800",{2**64},1.5]'), [big + "\ud800", 2**64, 1.5])
    assert same(loads(f'{{"raw":"{big}é\\r\\n","n":[1,-2]}}'), {"raw": big + "é\r\n", "n": [1, -2]})
