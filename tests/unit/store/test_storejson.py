"""The store's JSON: orjson's speed, the standard library's text and refusals."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.store import storejson

_STDLIB = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

# What the codec stores: text (any code point but lone surrogates), integers of any size,
# finite floats, booleans and null, in objects and arrays.
_text = st.text(st.characters(exclude_categories=("Cs",)))
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@given(_values)
def test_reads_back_what_the_standard_library_reads(value: Any) -> None:
    text = storejson.dumps(value)
    assert json.loads(text) == json.loads(_STDLIB.encode(value))
    assert storejson.loads(text) == json.loads(text)


@pytest.mark.parametrize(
    "value",
    [
        {"size": 2**64},  # beyond orjson's integers
        {"n": -(2**70), "list": [2**80]},
        {"subject": "caf\u00e9 \u2603 \U0001f600", "uid": 7},
        {"nested": {"none": None, "ok": True}},
    ],
)
def test_the_text_is_the_standard_librarys(value: Any) -> None:
    assert storejson.dumps(value) == _STDLIB.encode(value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_infinities_are_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        storejson.dumps({"size": bad})
    with pytest.raises(ValueError):
        storejson.dumps([1, [bad]])


def test_what_json_cannot_hold_is_a_type_error() -> None:
    @dataclasses.dataclass
    class Point:
        x: int

    for value in (Point(1), {"a": object()}, {1.5j}, b"bytes"):
        with pytest.raises(TypeError):
            storejson.dumps(value)


def test_a_lone_surrogate_is_written_as_the_standard_library_writes_it() -> None:
    # The codec refuses it afterwards (it must be UTF-8); here only the JSON is checked.
    assert storejson.dumps({"m": "INBOX\ud800"}) == _STDLIB.encode({"m": "INBOX\ud800"})
