import pytest

from switchboard.errors import SwitchboardError
from switchboard.jmap import errors
from switchboard.jmap.errors import (
    METHOD_ERROR_TYPES,
    REQUEST_ERROR_TYPES,
    SET_ERROR_TYPES,
    InvalidArguments,
    JmapError,
    Limit,
    MethodError,
    NotJson,
    RequestError,
    SetAlreadyExists,
    SetBlobNotFound,
    SetError,
    SetInvalidProperties,
    SetNotFound,
    UnknownCapability,
    UnknownMethod,
    describe,
)

# RFC 8620 §3.6.1.
REQUEST_TYPES = {
    "urn:ietf:params:jmap:error:unknownCapability",
    "urn:ietf:params:jmap:error:notJSON",
    "urn:ietf:params:jmap:error:notRequest",
    "urn:ietf:params:jmap:error:limit",
}
# RFC 8620 §3.6.2 and the method sections of §5.
METHOD_TYPES = {
    "serverUnavailable", "serverFail", "serverPartialFail", "unknownMethod", "invalidArguments",
    "invalidResultReference", "forbidden", "accountNotFound", "accountNotSupportedByMethod",
    "accountReadOnly", "requestTooLarge", "stateMismatch", "cannotCalculateChanges",
    "anchorNotFound", "unsupportedSort", "unsupportedFilter", "tooManyChanges",
    "fromAccountNotFound", "fromAccountNotSupportedByMethod",
}  # fmt: skip
# RFC 8620 §5.3/§5.4 and RFC 8621 §2.5/§4.6.
SET_TYPES = {
    "forbidden", "overQuota", "tooLarge", "rateLimit", "notFound", "invalidPatch", "willDestroy",
    "invalidProperties", "singleton", "alreadyExists", "mailboxHasChild", "mailboxHasEmail",
    "blobNotFound", "tooManyKeywords", "tooManyMailboxes",
}  # fmt: skip


def test_every_rfc_type_has_exactly_one_class() -> None:
    assert set(REQUEST_ERROR_TYPES) == REQUEST_TYPES
    assert set(METHOD_ERROR_TYPES) == METHOD_TYPES
    assert set(SET_ERROR_TYPES) == SET_TYPES
    for table in (REQUEST_ERROR_TYPES, METHOD_ERROR_TYPES, SET_ERROR_TYPES):
        for type_, cls in table.items():
            assert cls.type == type_
            assert cls.__doc__ and cls.__doc__.strip(), cls
            assert cls.__name__ in errors.__all__


@pytest.mark.parametrize("base", [JmapError, RequestError, MethodError, SetError])
def test_bases_are_abstract(base: type[JmapError]) -> None:
    with pytest.raises(TypeError):
        base("x")


def test_problem_details_match_the_rfc_examples() -> None:
    # RFC 8620 §3.6.1's two examples, with our detail text.
    problem = UnknownCapability("The Request object used capability 'x'.").problem()
    assert problem == {
        "type": "urn:ietf:params:jmap:error:unknownCapability",
        "status": 400,
        "detail": "The Request object used capability 'x'.",
    }
    problem = Limit("maxSizeRequest").problem()
    assert problem == {
        "type": "urn:ietf:params:jmap:error:limit",
        "status": 400,
        "limit": "maxSizeRequest",
        "detail": "The request exceeds the server's maxSizeRequest.",
    }
    # Without a description, the detail is the class's one-line summary.
    assert NotJson().problem()["detail"] == (
        "The request is not I-JSON (or its Content-Type is not application/json)."
    )
    assert errors.PROBLEM_CONTENT_TYPE == "application/problem+json"


def test_method_errors_build_their_invocation() -> None:
    assert UnknownMethod().invocation("c1") == ("error", {"type": "unknownMethod"}, "c1")
    err = InvalidArguments("ids must be an array")
    assert err.invocation("c2") == (
        "error",
        {"type": "invalidArguments", "description": "ids must be an array"},
        "c2",
    )
    assert isinstance(err, SwitchboardError)
    assert str(err) == "ids must be an array"
    assert str(UnknownMethod()) == "unknownMethod"
    assert "ids" in repr(err)


def test_set_errors_carry_their_extra_members() -> None:
    assert SetNotFound().to_json() == {"type": "notFound"}
    assert SetInvalidProperties(["keywords"], "bad keyword").to_json() == {
        "type": "invalidProperties",
        "properties": ["keywords"],
        "description": "bad keyword",
    }
    assert SetInvalidProperties().to_json() == {"type": "invalidProperties"}
    assert SetAlreadyExists("e1").to_json() == {"type": "alreadyExists", "existingId": "e1"}
    assert SetBlobNotFound(["b1", "b2"]).to_json() == {
        "type": "blobNotFound",
        "notFound": ["b1", "b2"],
    }


def test_describe_bounds_what_it_echoes() -> None:
    assert describe("abc") == "'abc'"
    assert len(describe("x" * 1000)) == 60
