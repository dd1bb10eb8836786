"""server/accountbook.py: the managed accounts' state and the lookups the account registry makes.

What the engine should watch for an account is the union of its watch sets: the workers' one
and each client session's, in the order the names were first given, each name once.
"""

from __future__ import annotations

from switchboard.model.accounts import AccountConfig, PasswordAuth
from switchboard.model.store import StoredAccount
from switchboard.server.accountbook import WORKERS, AccountBook


def stored(account_id: str, watches: tuple[str, ...] = ()) -> StoredAccount:
    config = AccountConfig(account_id, "imap.example.org", 993, PasswordAuth(account_id, "pw"))
    return StoredAccount(config, pinned=True, watches=watches, created_at=0.0)


def test_the_union_keeps_first_seen_order_and_each_name_once() -> None:
    book = AccountBook()
    book.watch_sets["alice"] = {
        WORKERS: ("INBOX", "Work"),
        "client-1": ("Work", "Lists/python"),
        "client-2": ("INBOX",),
    }
    assert book.union("alice") == ("INBOX", "Work", "Lists/python")
    assert book.union("nobody") == ()


def test_a_holders_watches_are_its_own() -> None:
    book = AccountBook()
    book.watch_sets["alice"] = {WORKERS: ("INBOX",), "client-1": ("Work",)}
    assert book.watches("alice", "client-1") == ("Work",)
    assert book.watches("alice", WORKERS) == ("INBOX",)
    assert book.watches("alice", "client-2") == ()
    assert book.watches("bob", WORKERS) == ()


def test_registering_a_stored_account_pins_it_with_the_workers_watches() -> None:
    book = AccountBook()
    book.watch_sets["alice"] = {"client-1": ("Work",)}
    book.register(stored("alice", ("INBOX", "Sent")))
    assert book.configs["alice"].host == "imap.example.org"
    assert "alice" in book.pinned
    # The clients' sets stay; the workers' one is the store's.
    assert book.watch_sets["alice"] == {"client-1": ("Work",), WORKERS: ("INBOX", "Sent")}
    assert book.union("alice") == ("Work", "INBOX", "Sent")


def test_forgetting_an_account_drops_everything_about_it_and_nothing_else() -> None:
    book = AccountBook()
    book.register(stored("alice", ("INBOX",)))
    book.register(stored("bob", ("INBOX",)))
    book.clients["alice"] = {"client-1"}
    book.forget("alice")
    assert "alice" not in book.configs and "alice" not in book.pinned
    assert "alice" not in book.clients and "alice" not in book.watch_sets
    assert book.union("bob") == ("INBOX",)
    book.forget("alice")  # twice: nothing left to drop, no error


def test_each_account_has_one_lock_of_its_own() -> None:
    book = AccountBook()
    assert book.lock("alice") is book.lock("alice")
    assert book.lock("alice") is not book.lock("bob")
