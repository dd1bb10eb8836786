import pytest

from switchboard.errors import SwitchboardError
from switchboard.protocol import errors
from switchboard.protocol.errors import (
    ERROR_TYPES,
    AlreadyConnected,
    MailboxDoesNotExist,
    WireError,
    error_response,
)
from switchboard.protocol.frames import encode_frame
from switchboard.protocol.messages import Command


def _subclasses(cls: type[WireError]) -> list[type[WireError]]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


SUBCLASSES = _subclasses(WireError)

# The error types of docs/protocol.md, "Errors".
SPEC_TYPES = {
    "invalidJson", "invalidCommand", "invalidArguments", "unknownProperty", "notConnected",
    "alreadyConnected", "connectionFailed", "authenticationFailed", "accountConflict",
    "notAuthorized", "mailboxDoesNotExist", "messageDoesNotExist", "unknownMethod", "noList",
    "emptyList", "badList", "badArgs", "noAccount", "inactiveAccount", "serverError",
    "cannotCalculateChanges", "rateLimited", "tooLarge",
}  # fmt: skip


def test_every_subclass_has_a_docstring_and_a_unique_type() -> None:
    types = [cls.type for cls in SUBCLASSES]
    assert len(types) == len(set(types))
    for cls in SUBCLASSES:
        assert cls.__doc__ and cls.__doc__.strip(), cls
        assert isinstance(cls.type, str) and cls.type[0].islower(), cls


def test_the_tree_covers_every_protocol_type_and_is_exported() -> None:
    assert {cls.type for cls in SUBCLASSES} == SPEC_TYPES
    assert dict(ERROR_TYPES) == {cls.type: cls for cls in SUBCLASSES}
    for cls in SUBCLASSES:
        assert cls.__name__ in errors.__all__


def test_base_is_abstract_and_a_switchboard_error() -> None:
    with pytest.raises(TypeError):
        WireError("x")
    err = MailboxDoesNotExist("stale")
    assert isinstance(err, SwitchboardError)
    assert err.type == "mailboxDoesNotExist"
    assert err.description == "stale"
    assert str(err) == "stale"
    assert str(MailboxDoesNotExist()) == "mailboxDoesNotExist"
    assert "stale" in repr(err)


def test_to_response_echoes_method_arguments_and_tag_without_description() -> None:
    # As the original server answered.
    command = Command("getMailboxes", {}, "pre", tagged=True)
    frame = encode_frame([errors.NotConnected().to_response(command)])
    assert frame == (
        b'[["error",{"type":"notConnected","method":"getMailboxes","arguments":{}},"pre"]]'
    )


def test_to_response_redacts_secrets_and_keeps_a_null_tag() -> None:
    # As the original server answered, with a null tag to check the third element survives.
    args = {
        "host": "imap.example.com",
        "port": 993,
        "auth": {"type": "plain", "username": "bob@example.com", "password": "secret"},
    }
    command = Command("connect", args, None, tagged=True)
    frame = encode_frame([AlreadyConnected().to_response(command)])
    assert frame == (
        b'[["error",{"type":"alreadyConnected","method":"connect","arguments":{"host":'
        b'"imap.example.com","port":993,"auth":{"type":"plain","username":"bob@example.com",'
        b'"password":"***"}}},null]]'
    )
    assert args["auth"]["password"] == "secret"  # the command itself is untouched


def test_error_response_key_order_and_optional_description() -> None:
    untagged = error_response("noList", "watchMailboxes", {}, description="missing list")
    assert list(untagged.args) == ["type", "method", "arguments", "description"]
    assert untagged.to_json() == [
        "error",
        {
            "type": "noList",
            "method": "watchMailboxes",
            "arguments": {},
            "description": "missing list",
        },
    ]
    tagged = error_response("noList", "watchMailboxes", [], 7, True)
    assert tagged.to_json() == [
        "error",
        {"type": "noList", "method": "watchMailboxes", "arguments": []},
        7,
    ]
