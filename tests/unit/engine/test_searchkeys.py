"""The neutral search tree written as UID SEARCH criteria, and the exact date bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from switchboard.engine.searchkeys import (
    ImapSearch,
    UnsupportedSearchError,
    header_matches,
    imap_search,
)
from switchboard.jmap.emailquery import parse_filter
from switchboard.jmap.search import All, InMailbox, Not, Or, ReceivedBefore


def criteria(filter_: object) -> str:
    return imap_search(parse_filter(filter_)).criteria  # type: ignore[arg-type]


def test_text_flags_and_sizes() -> None:
    assert criteria(None) == "ALL"
    assert criteria({"from": 'a"b\\c'}) == 'FROM "a\\"b\\\\c"'
    assert criteria({"subject": "x", "hasKeyword": "$seen"}) == 'SUBJECT "x" SEEN'
    assert criteria({"notKeyword": "$Work"}) == "NOT KEYWORD $work"
    assert criteria({"minSize": 10, "maxSize": 20}) == "LARGER 9 SMALLER 20"
    assert criteria({"header": ["X-Tag"]}) == 'HEADER "X-Tag" ""'


def test_operators_nest_as_imap_wants() -> None:
    three = {"operator": "OR", "conditions": [{"from": "a"}, {"from": "b"}, {"to": "c"}]}
    assert criteria(three) == 'OR FROM "a" OR FROM "b" TO "c"'
    both = {"operator": "NOT", "conditions": [{"from": "a", "to": "b"}]}
    assert criteria(both) == 'NOT (FROM "a" TO "b")'
    assert imap_search(Not(All())).criteria == "NOT ALL"


def test_dates_are_widened_and_checked_exactly() -> None:
    search = imap_search(
        parse_filter({"after": "2024-03-10T23:30:00Z", "before": "2024-03-12T00:00:00Z"})
    )
    assert search.criteria == "SINCE 8-Mar-2024 BEFORE 14-Mar-2024"
    since = datetime(2024, 3, 10, 23, 30, tzinfo=UTC)
    assert search.admits(since)
    assert not search.admits(since - timedelta(seconds=1))
    # 2024-03-11 23:59 in UTC-1 is 2024-03-12 00:59 UTC: outside, though its date is inside
    assert not search.admits(datetime(2024, 3, 11, 23, 59, tzinfo=timezone(-timedelta(hours=1))))
    assert not search.admits(None)
    assert ImapSearch("ALL").admits(None)


@pytest.mark.parametrize(
    "term",
    [
        Or((ReceivedBefore(datetime(2024, 1, 1, tzinfo=UTC)), All())),
        Not(InMailbox("m1")),
    ],
)
def test_terms_that_cannot_be_sent_are_refused(term: object) -> None:
    with pytest.raises(UnsupportedSearchError):
        imap_search(term)  # type: ignore[arg-type]


def test_non_ascii_header_text_is_checked_by_the_reader_and_other_text_refused() -> None:
    search = imap_search(parse_filter({"subject": "Café", "from": "zoë", "to": "bob"}))
    assert search.criteria == 'TO "bob"'
    assert search.header_checks == (("SUBJECT", "Café"), ("FROM", "zoë"))
    block = (b"Subject: =?utf-8?q?caf=C3=A9?= au lait\r\n"
             b"From: =?utf-8?q?Zo=C3=AB?= <z@example.com>\r\n\r\n")  # fmt: skip
    assert header_matches(block, search.header_checks)
    assert not header_matches(b"Subject: cafe\r\nFrom: Zo\xc3\xab <z@x>\r\n\r\n",
                              search.header_checks)  # fmt: skip
    assert not header_matches(None, search.header_checks)
    assert header_matches(None, ())
    for refused in ({"body": "café"}, {"text": "café"},
                    {"operator": "OR", "conditions": [{"subject": "café"}, {"to": "x"}]}):
        with pytest.raises(UnsupportedSearchError, match="ASCII"):
            criteria(refused)
