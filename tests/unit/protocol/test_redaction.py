import pytest

from switchboard.protocol.redaction import is_secret_key, redact_arguments


def test_plain_and_xoauth2_secrets_are_hidden_and_the_rest_kept() -> None:
    args = {
        "host": "h",
        "port": 1,
        "auth": {
            "type": "xoauth2",
            "username": "u",
            "token": {"type": "refresh", "token": "R", "provider": "google"},
        },
        "list": ["token", "password"],
    }
    assert redact_arguments(args) == {
        "host": "h",
        "port": 1,
        "auth": {
            "type": "xoauth2",
            "username": "u",
            "token": {"type": "refresh", "token": "***", "provider": "google"},
        },
        "list": ["token", "password"],
    }
    assert args["auth"]["token"]["token"] == "R"


@pytest.mark.parametrize(
    "key",
    ["password", "Password", "passwd", "client_secret", "clientSecret", "refresh_token",
     "refreshToken", "access_token", "token", "secret"],
)  # fmt: skip
def test_secret_keys_anywhere_in_the_tree(key: str) -> None:
    assert is_secret_key(key)
    assert redact_arguments([{"deep": {key: 12}}]) == [{"deep": {key: "***"}}]


@pytest.mark.parametrize("key", ["type", "token_type", "tokens", "username", "host", "state"])
def test_ordinary_keys_are_kept(key: str) -> None:
    assert not is_secret_key(key)
    assert redact_arguments({key: "v"}) == {key: "v"}


def test_null_secret_and_non_containers_pass_through() -> None:
    assert redact_arguments({"password": None}) == {"password": None}
    assert redact_arguments("password") == "password"
    assert redact_arguments(None) is None
    assert redact_arguments([]) == []
