"""Tests for switchboard.cli.admin_output: the text the admin commands print."""

from __future__ import annotations

from typing import Any

from switchboard.cli.admin_output import (
    ACCOUNT_COLUMNS,
    account_detail,
    account_rows,
    failures,
    format_push,
    plain_table,
    relative_time,
    sender_text,
    ws_url,
)

NOW = 1_700_000_000.0
ACCOUNT: dict[str, Any] = {
    "account": "bob@example.com",
    "host": "imap.example.com",
    "port": 993,
    "state": "backoff",
    "lastError": "ConnectionFailed: connection refused\nby peer " + "x" * 80,
    "mailboxes": [
        {"name": "INBOX", "displayName": "INBOX", "state": "backoff", "lastError": "refused"},
        {"name": "&AMk-t&AOk-", "displayName": "Été", "state": "idle", "lastError": None},
    ],
    "counters": {"events": 12, "failures_backoff": 3, "failures_authFailed": 1, "connects": 9},
    "lastEventAt": NOW - 125,
}


def test_relative_time() -> None:
    assert relative_time(None, NOW) == "never"
    assert relative_time(NOW - 12.4, NOW) == "12 s ago"
    assert relative_time(NOW + 5, NOW) == "0 s ago"  # a clock skew is not "in the future"
    assert relative_time(NOW - 180, NOW) == "3 min ago"
    assert relative_time(NOW - 7200, NOW) == "2 h ago"
    assert relative_time(NOW - 3 * 86400, NOW).count("-") == 2  # a date


def test_account_rows_fill_every_column_on_one_line() -> None:
    (row,) = account_rows([ACCOUNT], NOW)
    assert len(row) == len(ACCOUNT_COLUMNS)
    assert row[:6] == ["bob@example.com", "imap.example.com:993", "backoff", "INBOX, Été",
                       "2 min ago", "12"]  # fmt: skip
    assert "\n" not in row[6] and len(row[6]) == 60 and row[6].endswith("…")


def test_failures_sum_only_failure_counters() -> None:
    assert failures(ACCOUNT["counters"]) == 4


def test_plain_table_aligns_columns() -> None:
    text = plain_table(["A", "LONG"], [["xxx", "1"], ["y", ""]])
    assert text.splitlines() == ["A    LONG", "xxx  1", "y"]


def test_account_detail_lists_mailboxes_and_counters() -> None:
    pairs = dict(account_detail(ACCOUNT, NOW))
    assert pairs["state"] == "backoff"
    assert pairs["mailbox INBOX"] == "backoff (refused)"
    assert pairs["mailbox Été"] == "idle"
    assert pairs["counter events"] == "12"


def test_format_push_with_and_without_summary() -> None:
    args = {"account": "bob", "mailboxId": "INBOX!1", "messageId": "INBOX!1?7"}
    plain = format_push(args, NOW, None).split("  ")
    assert plain[1:] == ["bob", "INBOX!1?7"]
    summary = {"subject": "=?utf-8?q?Caf=C3=A9?=", "subjectDecoded": "Café",
               "from": [{"name": "Al", "email": "al@example.com"}]}  # fmt: skip
    assert format_push(args, NOW, summary).endswith("  from Al <al@example.com>: Café")
    assert format_push(args, NOW, {"subject": None, "from": None}).endswith("  (no subject)")
    # A push's own summary: its "from" is already "Name <addr>", its subject decoded.
    pushed = {"subject": "Café", "from": "Al Example <al@example.com>", "size": 10}
    assert format_push(args, NOW, pushed).endswith("  from Al Example <al@example.com>: Café")


def test_sender_text_prefers_the_decoded_display_name() -> None:
    assert sender_text([{"name": "=?utf-8?q?Ren=C3=A9?=", "decodedName": "René",
                         "email": "r@example.com"}]) == "René <r@example.com>"  # fmt: skip
    assert sender_text([{"name": None, "email": "r@example.com"}]) == "r@example.com"
    assert sender_text(None) == "" and sender_text([]) == ""


def test_the_events_column_is_the_log_s_count_when_the_server_has_one() -> None:
    assert account_rows([{**ACCOUNT, "events": 40}], NOW)[0][5] == "40"
    assert account_rows([ACCOUNT], NOW)[0][5] == "12"  # an older server: the counter


def test_ws_url() -> None:
    assert ws_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/workers"
    assert ws_url("https://sb.example.com/") == "wss://sb.example.com/workers"
    assert ws_url("ws://h:1", "/clients") == "ws://h:1/clients"
