"""The store's exception tree."""

from __future__ import annotations

from switchboard.errors import SwitchboardError
from switchboard.store import errors


def test_every_store_error_is_a_switchboard_error() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.StoreError)
        assert issubclass(cls, SwitchboardError)


def test_corrupt_credentials_message_names_the_account_only() -> None:
    err = errors.CorruptCredentials("bob@example.org")
    assert str(err) == (
        "cannot open the stored credentials of account 'bob@example.org': the secret key "
        "does not match the one the credentials were encrypted with"
    )
