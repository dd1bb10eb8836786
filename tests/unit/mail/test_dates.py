"""INTERNALDATE and Date: header parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from switchboard.mail.dates import parse_header_date, parse_internal_date


def test_internal_dates() -> None:
    zone = timezone(-timedelta(hours=7))
    assert parse_internal_date("17-Jul-1996 02:44:25 -0700") == datetime(
        1996, 7, 17, 2, 44, 25, tzinfo=zone
    )
    assert parse_internal_date(" 7-Jul-1996 02:44:25 +0000") == datetime(
        1996, 7, 7, 2, 44, 25, tzinfo=UTC
    )
    for bad in (None, "", "17-Foo-1996 02:44:25 -0700", "31-Feb-2020 00:00:00 +0000"):
        assert parse_internal_date(bad) is None


def test_header_dates() -> None:
    assert parse_header_date(b" Tue, 03 Jun 2014 10:00:00 -0700") == datetime(
        2014, 6, 3, 10, 0, tzinfo=timezone(-timedelta(hours=7))
    )
    assert parse_header_date(b"3 Jun 2014 10:00:00 -0000") == datetime(
        2014, 6, 3, 10, 0, tzinfo=UTC
    )
    for bad in (None, b"", b"yesterday", b"Tue, 99 Jun 2014 10:00:00 +0000"):
        assert parse_header_date(bad) is None
