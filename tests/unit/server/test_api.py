"""Tests for switchboard.server.api: the /api/accounts documents and secret scrubbing."""

from __future__ import annotations

from switchboard.engine.state import AccountState, AccountStatus, MailboxStatus
from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth, TlsMode
from switchboard.model.store import EventTotals
from switchboard.server.api import account_document, health_entry, scrub

CONFIG = AccountConfig("bob", "imap.example.com", 993, PasswordAuth("bob", "hunter2-secret"))


def status(**changes: object) -> AccountStatus:
    values: dict[str, object] = {
        "account_id": "bob",
        "host": "imap.example.com",
        "port": 993,
        "state": AccountState.BACKOFF,
        "last_error": "AuthenticationFailed: LOGIN hunter2-secret refused",
        "mailboxes": (
            MailboxStatus("&AMk-t&AOk-", AccountState.IDLE, 7, 41, 1700000000.5, None),
            MailboxStatus(
                "INBOX", AccountState.BACKOFF, None, None, None, "timeout hunter2-secret",
                retry_at=1700000042.0,
            ),
        ),
        "counters": {"events": 3, "connects": 2},
        "last_event_at": 1700000000.5,
        "retry_at": 1700000042.0,
    }
    values.update(changes)
    return AccountStatus(**values)  # type: ignore[arg-type]


def test_account_document_has_the_dashboard_keys_and_no_password() -> None:
    doc = account_document(status(), CONFIG)
    assert doc == {
        "account": "bob",
        "host": "imap.example.com",
        "port": 993,
        "tls": "implicit",
        "state": "backoff",
        "lastError": "AuthenticationFailed: LOGIN *** refused",
        "mailboxes": [
            {
                "name": "&AMk-t&AOk-",
                "displayName": "Été",
                "state": "idle",
                "uidvalidity": 7,
                "lastUid": 41,
                "lastEventAt": 1700000000.5,
                "lastError": None,
                "retryAt": None,
            },
            {
                "name": "INBOX",
                "displayName": "INBOX",
                "state": "backoff",
                "uidvalidity": None,
                "lastUid": None,
                "lastEventAt": None,
                "lastError": "timeout ***",
                "retryAt": 1700000042.0,
            },
        ],
        "watches": [],
        "counters": {"connects": 2, "events": 3},
        "events": 3,
        "lastEventAt": 1700000000.5,
        "lastEventId": None,
        "retryAt": 1700000042.0,
    }
    assert "hunter2" not in repr(doc)


def test_the_event_history_outlives_this_run_s_counters() -> None:
    # After a restart: the log holds 41 events, the last at t0; this run has seen none yet.
    t0 = 1_690_000_000.0
    fresh = status(counters={}, last_event_at=None)
    doc = account_document(fresh, CONFIG, history=EventTotals(41, 97, t0))
    assert (doc["events"], doc["lastEventAt"], doc["lastEventId"]) == (41, t0, 97)
    # The engine's newer time wins; the count is the log's (which includes this run's).
    doc = account_document(status(), CONFIG, history=EventTotals(44, 100, t0))
    assert (doc["events"], doc["lastEventAt"]) == (44, 1700000000.5)


def test_the_tls_mode_and_the_workers_watches_are_in_the_document() -> None:
    config = AccountConfig("bob", "h", 143, PasswordAuth("bob", "pw"), tls=TlsMode.STARTTLS)
    doc = account_document(status(), config, watches=("INBOX", "Sent"))
    assert (doc["tls"], doc["watches"]) == ("starttls", ["INBOX", "Sent"])
    assert account_document(status(), CONFIG)["tls"] == "implicit"


def test_health_entry_has_state_error_and_next_attempt_without_the_password() -> None:
    assert health_entry(status(), CONFIG) == {
        "account": "bob",
        "state": "backoff",
        "lastError": "AuthenticationFailed: LOGIN *** refused",
        "retryAt": 1700000042.0,
    }


def test_oauth2_tokens_are_scrubbed_too() -> None:
    config = AccountConfig(
        "bob", "h", 993, OAuth2Auth("bob", access_token="ya29.ACCESS", refresh_token="1//REFRESH")
    )
    doc = account_document(status(last_error="bad ya29.ACCESS and 1//REFRESH"), config)
    assert doc["lastError"] == "bad *** and ***"


def test_without_a_config_nothing_is_scrubbed_and_nothing_breaks() -> None:
    assert account_document(status(last_error=None), None)["lastError"] is None


def test_scrub_leaves_very_short_secrets_alone() -> None:
    assert scrub("a cat sat", ("a",)) == "a cat sat"
    assert scrub(None, ("secret",)) is None


def test_remote_account_document_names_the_node_and_the_stored_watches() -> None:
    from switchboard.server.api import REMOTE_STATE, remote_account_document

    config = AccountConfig("bob", "imap.example.com", 993, PasswordAuth("bob", "s3cret-pw"))
    document = remote_account_document(config, ("INBOX", "&AMk-t&AOk-"), "node-b")
    assert document["account"] == "bob"
    assert (document["host"], document["port"]) == ("imap.example.com", 993)
    assert document["state"] == REMOTE_STATE == "remote"
    assert document["node"] == "node-b"
    assert [m["displayName"] for m in document["mailboxes"]] == ["INBOX", "Été"]
    assert "s3cret-pw" not in repr(document)
    assert remote_account_document(config, (), None)["node"] is None
