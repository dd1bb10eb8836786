"""Tests for imap.writes' pure parts: COPYUID codes and the flag list a STORE sends."""

from __future__ import annotations

import pytest

from switchboard.imap.responses import ResponseCode
from switchboard.imap.writes import _flag_list, parse_copyuid


def test_copyuid_maps_each_source_uid_to_its_target() -> None:
    code = ResponseCode("COPYUID", "38505 3,5:7 101:104")
    assert parse_copyuid(code) == {3: 101, 5: 102, 6: 103, 7: 104}


@pytest.mark.parametrize(
    "code",
    [None, ResponseCode("APPENDUID", "1 2"), ResponseCode("COPYUID", "1 2:3 4"),
     ResponseCode("COPYUID", "1 x 4"), ResponseCode("COPYUID", None),
     ResponseCode("COPYUID", "1 1:200000 1:200000")],
)  # fmt: skip
def test_anything_else_says_nothing(code: ResponseCode | None) -> None:
    assert parse_copyuid(code) == {}


def test_flags_are_checked_and_sorted() -> None:
    assert _flag_list(["\\Seen", "$label", "\\Seen"]) == "($label \\Seen)"
    for bad in ("a b", "(x", "\\", 'q"', "", "x]"):
        with pytest.raises(ValueError):
            _flag_list([bad])
