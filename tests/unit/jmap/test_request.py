import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.jmap.capabilities import CORE, MAIL, CoreCapability
from switchboard.jmap.errors import Limit, NotJson, NotRequest, RequestError, UnknownCapability
from switchboard.jmap.request import Invocation, Request, Response, parse_request

SUPPORTED = {CORE, MAIL}
LIMITS = CoreCapability(max_size_request=4096, max_calls_in_request=4)

# RFC 8620 §3.3.1.
RFC_REQUEST = {
    "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
    "methodCalls": [
        ["method1", {"arg1": "arg1data", "arg2": "arg2data"}, "c1"],
        ["method2", {"arg1": "arg1data"}, "c2"],
        ["method3", {}, "c3"],
    ],
}


def parse(value: object) -> Request:
    return parse_request(json.dumps(value), core=LIMITS, supported=SUPPORTED)


def test_the_rfc_example_request() -> None:
    request = parse(RFC_REQUEST)
    assert request.using == {CORE, MAIL}
    assert request.method_calls == (
        Invocation("method1", {"arg1": "arg1data", "arg2": "arg2data"}, "c1"),
        Invocation("method2", {"arg1": "arg1data"}, "c2"),
        Invocation("method3", {}, "c3"),
    )
    assert request.created_ids is None


def test_created_ids_and_extra_members() -> None:
    request = parse({**RFC_REQUEST, "createdIds": {"k1": "e1"}, "@type": "Request", "id": "R1"})
    assert request.created_ids == {"k1": "e1"}
    assert parse({**RFC_REQUEST, "createdIds": None}).created_ids is None


def test_response_shape() -> None:
    # RFC 8620 §3.4.1 (createdIds only when the request had it).
    response = Response(
        (Invocation("method1", {"arg1": 3}, "c1"),), "75128aab4b1b", created_ids=None
    )
    assert response.to_json() == {
        "methodResponses": [["method1", {"arg1": 3}, "c1"]],
        "sessionState": "75128aab4b1b",
    }
    with_ids = Response((), "s", created_ids={"k1": "e1"}).to_json()
    assert with_ids == {"methodResponses": [], "createdIds": {"k1": "e1"}, "sessionState": "s"}


NOT_REQUESTS = [
    [],
    "x",
    {},
    {"using": [CORE]},
    {"methodCalls": []},
    {"using": CORE, "methodCalls": []},
    {"using": [1], "methodCalls": []},
    {"using": [CORE], "methodCalls": {}},
    {"using": [CORE], "methodCalls": [["Core/echo", {}]]},
    {"using": [CORE], "methodCalls": [["Core/echo", [], "c1"]]},
    {"using": [CORE], "methodCalls": [["Core/echo", {}, 1]]},
    {"using": [CORE], "methodCalls": [[1, {}, "c1"]]},
    {"using": [CORE], "methodCalls": [["Core/echo", {}, "c1", "extra"]]},
    {"using": [CORE], "methodCalls": [], "createdIds": []},
    {"using": [CORE], "methodCalls": [], "createdIds": {"k1": 5}},
    {"using": [CORE], "methodCalls": [], "createdIds": {"k 1": "e1"}},
]


@pytest.mark.parametrize("value", NOT_REQUESTS)
def test_not_request(value: object) -> None:
    with pytest.raises(NotRequest):
        parse(value)


def test_not_json() -> None:
    for body in (b"{", b"\xff", b'{"using":[],"using":[]}', "[NaN]"):
        with pytest.raises(NotJson):
            parse_request(body, core=LIMITS, supported=SUPPORTED)


def test_unknown_capability_names_it() -> None:
    with pytest.raises(UnknownCapability) as info:
        parse({"using": [CORE, "https://example.com/apis/foobar"], "methodCalls": []})
    assert "https://example.com/apis/foobar" in str(info.value.problem()["detail"])


def test_limits() -> None:
    calls = [["Core/echo", {}, f"c{i}"] for i in range(5)]
    with pytest.raises(Limit) as info:
        parse({"using": [CORE], "methodCalls": calls})
    assert info.value.problem()["limit"] == "maxCallsInRequest"
    parse({"using": [CORE], "methodCalls": calls[:4]})

    big = json.dumps({"using": [CORE], "methodCalls": [["Core/echo", {"x": "y" * 4096}, "c"]]})
    for body in (big, big.encode()):
        with pytest.raises(Limit) as info:
            parse_request(body, core=LIMITS, supported=SUPPORTED)
        assert info.value.problem()["limit"] == "maxSizeRequest"
    # The size is counted in octets, not characters.
    wide = json.dumps({"using": [CORE], "methodCalls": [["Core/echo", {"x": "é" * 2040}, "c"]]},
                      ensure_ascii=False)  # fmt: skip
    assert len(wide) < 4096 < len(wide.encode())
    with pytest.raises(Limit):
        parse_request(wide, core=LIMITS, supported=SUPPORTED)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["using", "methodCalls", "createdIds", "x"]) | st.text(
        max_size=5), children, max_size=4),
    max_leaves=25,
)
CAPABILITIES = st.lists(st.sampled_from([CORE, MAIL, "urn:x"]), max_size=3)
CALLS = st.lists(
    st.tuples(st.text(max_size=10), st.dictionaries(st.text(max_size=3), JSON, max_size=2),
              st.text(max_size=3)).map(list)
    | JSON,
    max_size=6,
)  # fmt: skip
REQUESTS = st.fixed_dictionaries(
    {"using": CAPABILITIES, "methodCalls": CALLS},
    optional={"createdIds": st.dictionaries(st.text(max_size=4), JSON, max_size=2)},
)


@given(st.one_of(JSON, REQUESTS))
@settings(max_examples=400)
def test_any_json_gives_a_request_or_a_documented_error(value: object) -> None:
    try:
        request = parse(value)
    except RequestError as error:
        assert type(error) in (NotRequest, UnknownCapability, Limit)
        assert error.problem()["status"] == 400
        return
    assert request.using <= SUPPORTED
    assert len(request.method_calls) <= LIMITS.max_calls_in_request


@given(st.binary(max_size=300) | st.text(max_size=300))
@settings(max_examples=300)
def test_any_body_gives_a_request_or_a_documented_error(body: bytes | str) -> None:
    try:
        request = parse_request(body, core=LIMITS, supported=SUPPORTED)
    except (NotJson, NotRequest, UnknownCapability, Limit):
        return
    assert isinstance(request, Request)
