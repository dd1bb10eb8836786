import pytest

from switchboard.jmap.capabilities import CORE, MAIL, WEBSOCKET, CoreCapability, WebSocketCapability
from switchboard.jmap.ids import account_id
from switchboard.jmap.session import Account, Endpoints, Session, expand_template

ENDPOINTS = Endpoints.under("https://jmap.example.com:8443")
ALICE = Account(account_id("alice@example.com"), "alice@example.com")
BOB = Account(account_id("bob@example.com"), "bob@example.com", is_personal=False)


def session(**overrides: object) -> Session:
    values: dict[str, object] = {
        "username": "alice@example.com",
        "accounts": (ALICE,),
        "primary_account_id": ALICE.account_id,
        "endpoints": ENDPOINTS,
    }
    values.update(overrides)
    return Session(**values)  # type: ignore[arg-type]


def test_the_resource_has_every_member_rfc_8620_section_2_requires() -> None:
    doc = session().to_json()
    assert set(doc) == {
        "capabilities", "accounts", "primaryAccounts", "username", "apiUrl", "downloadUrl",
        "uploadUrl", "eventSourceUrl", "state",
    }  # fmt: skip
    assert doc["capabilities"] == {CORE: CoreCapability().to_json(), MAIL: {}}
    assert doc["accounts"] == {
        ALICE.account_id: {
            "name": "alice@example.com",
            "isPersonal": True,
            "isReadOnly": False,
            "accountCapabilities": {MAIL: ALICE.mail.to_json()},
        }
    }
    assert doc["primaryAccounts"] == {MAIL: ALICE.account_id}
    assert doc["apiUrl"] == "https://jmap.example.com:8443/jmap/api"
    assert doc["downloadUrl"] == (
        "https://jmap.example.com:8443/jmap/download/{accountId}/{blobId}/{name}?type={type}"
    )
    assert doc["uploadUrl"] == "https://jmap.example.com:8443/jmap/upload/{accountId}"
    assert doc["eventSourceUrl"] == (
        "https://jmap.example.com:8443/jmap/eventsource"
        "?types={types}&closeafter={closeafter}&ping={ping}"
    )
    assert session().capabilities == {CORE, MAIL}


def test_websocket_capability_when_enabled() -> None:
    ws = WebSocketCapability("wss://jmap.example.com:8443/jmap/ws")
    doc = session(websocket=ws).to_json()
    assert doc["capabilities"][WEBSOCKET] == {  # type: ignore[index]
        "url": "wss://jmap.example.com:8443/jmap/ws",
        "supportsPush": True,
    }
    assert session(websocket=ws).capabilities == {CORE, MAIL, WEBSOCKET}


def test_state_follows_the_content() -> None:
    base = session().to_json()["state"]
    assert isinstance(base, str) and base
    assert session().to_json()["state"] == base  # deterministic
    assert session(accounts=(ALICE, BOB)).to_json()["state"] != base
    assert session(core=CoreCapability(max_calls_in_request=2)).to_json()["state"] != base
    # The order accounts are listed in does not change the state.
    assert session(accounts=(ALICE, BOB)).state == session(accounts=(BOB, ALICE)).state


def test_no_accounts_and_bad_ones() -> None:
    empty = session(accounts=(), primary_account_id=None).to_json()
    assert empty["accounts"] == {} and empty["primaryAccounts"] == {}
    with pytest.raises(ValueError, match="not listed"):
        session(accounts=(BOB,))
    with pytest.raises(ValueError, match="share"):
        session(accounts=(ALICE, ALICE))
    with pytest.raises(ValueError):
        Account("not an id!", "x")


def test_templates_expand_as_both_client_libraries_expect() -> None:
    # jmapc uses str.format on these; jmap-jam replaces "{name}" text and throws when one is
    # missing: both only work with exactly the RFC's variable names.
    url = ENDPOINTS.event_source_url.format(types="*", closeafter="no", ping=0)
    assert url == "https://jmap.example.com:8443/jmap/eventsource?types=*&closeafter=no&ping=0"
    download = expand_template(
        ENDPOINTS.download_url, accountId="a1", blobId="b1", name="a b/c.txt", type="text/plain"
    )
    assert download == (
        "https://jmap.example.com:8443/jmap/download/a1/b1/a%20b%2Fc.txt?type=text%2Fplain"
    )
    with pytest.raises(KeyError):
        expand_template(ENDPOINTS.upload_url)


@pytest.mark.parametrize(
    "overrides",
    [
        {"api_url": "/jmap/api"},
        {"api_url": "https://h/api/{accountId}"},
        {"upload_url": "https://h/upload/"},
        {"download_url": "https://h/d/{accountId}/{blobId}/{name}"},
        {"download_url": "https://h/d/{accountId}/{blobId}/{name}?t={type}&x={extra}"},
        {"event_source_url": "https://h/es?types={types}&ping={ping}"},
        {"event_source_url": "https://h/es?types={types}&closeafter={closeafter}&ping={ping}}"},
        {"upload_url": "ftp://h/upload/{accountId}"},
    ],
)
def test_endpoints_refuse_templates_clients_would_choke_on(overrides: dict[str, str]) -> None:
    values = ENDPOINTS.as_json()
    fields = {"api_url": "apiUrl", "download_url": "downloadUrl", "upload_url": "uploadUrl",
              "event_source_url": "eventSourceUrl"}  # fmt: skip
    kwargs = {name: values[json_name] for name, json_name in fields.items()}
    kwargs.update(overrides)
    with pytest.raises(ValueError):
        Endpoints(**kwargs)
