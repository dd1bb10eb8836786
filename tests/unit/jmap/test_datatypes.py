from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.jmap.datatypes import (
    MAX_INT,
    MIN_INT,
    format_date,
    format_utc_date,
    is_int,
    is_unsigned_int,
    is_valid_id,
    parse_date,
    parse_utc_date,
)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("a", True),
        ("A-z_09", True),
        ("x" * 255, True),
        ("x" * 256, False),
        ("", False),
        ("a b", False),
        ("a.b", False),
        ("é", False),
        ("a=", False),  # base64 padding is not in the alphabet
        (1, False),
        (None, False),
    ],
)
def test_ids(value: object, valid: bool) -> None:
    assert is_valid_id(value) is valid  # type: ignore[arg-type]


def test_ints() -> None:
    assert is_int(0) and is_int(MAX_INT) and is_int(MIN_INT)
    assert not is_int(MAX_INT + 1) and not is_int(MIN_INT - 1)
    assert not is_int(True) and not is_int(1.0) and not is_int("1")
    assert is_unsigned_int(0) and not is_unsigned_int(-1) and not is_unsigned_int(False)


# RFC 8620 §1.4's examples and the forms clients send.
def test_utc_dates() -> None:
    assert parse_utc_date("2014-10-30T06:12:00Z") == datetime(2014, 10, 30, 6, 12, tzinfo=UTC)
    # jmapc 0.4 sends microseconds: datetime.isoformat() + "Z".
    assert parse_utc_date("2024-01-02T03:04:05.123456Z").microsecond == 123456
    assert parse_utc_date("2024-01-02T03:04:05.1234567Z").microsecond == 123456
    assert format_utc_date(datetime(2014, 10, 30, 6, 12, tzinfo=UTC)) == "2014-10-30T06:12:00Z"
    # time-secfrac MUST be omitted if zero, and is trimmed otherwise.
    assert format_utc_date(datetime(2014, 1, 1, microsecond=500000, tzinfo=UTC)) == (
        "2014-01-01T00:00:00.5Z"
    )
    plus8 = datetime(2014, 10, 30, 14, 12, tzinfo=timezone(timedelta(hours=8)))
    assert format_utc_date(plus8) == "2014-10-30T06:12:00Z"
    assert format_utc_date(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "text",
    [
        "2014-10-30T14:12:00+08:00",  # a Date, not a UTCDate
        "2014-10-30 06:12:00Z",
        "2014-10-30T06:12Z",
        "2014-13-01T00:00:00Z",
        "2014-02-30T00:00:00Z",
        "2016-12-31T23:59:60Z",  # leap seconds cannot be represented
        "２０１４-10-30T06:12:00Z",
        "",
        None,
        20141030,
    ],
)
def test_bad_utc_dates(text: object) -> None:
    with pytest.raises(ValueError):
        parse_utc_date(text)  # type: ignore[arg-type]


def test_dates_with_offsets() -> None:
    moment = parse_date("2014-10-30T14:12:00+08:00")
    assert moment.utcoffset() == timedelta(hours=8)
    assert format_date(moment) == "2014-10-30T14:12:00+08:00"
    assert format_date(parse_date("2014-10-30T14:12:00-05:30")) == "2014-10-30T14:12:00-05:30"
    assert format_date(parse_date("2014-10-30T14:12:00Z")) == "2014-10-30T14:12:00+00:00"
    for bad in ("2014-10-30T14:12:00+24:00", "2014-10-30T14:12:00+08:60", 5):
        with pytest.raises(ValueError):
            parse_date(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_date(datetime(2014, 1, 1))
    with pytest.raises(ValueError):
        format_utc_date(datetime(2014, 1, 1))


@given(st.datetimes(timezones=st.just(UTC)))
def test_utc_round_trip(moment: datetime) -> None:
    assert parse_utc_date(format_utc_date(moment)) == moment
