import pytest

from switchboard.jmap.capabilities import CoreCapability, MailCapability, WebSocketCapability
from switchboard.jmap.emailquery import SORT_PROPERTIES


def test_core_capability_has_every_rfc_member() -> None:
    # RFC 8620 §2; jmapc 0.4 refuses a Session missing any of these.
    assert set(CoreCapability().to_json()) == {
        "maxSizeUpload", "maxConcurrentUpload", "maxSizeRequest", "maxConcurrentRequests",
        "maxCallsInRequest", "maxObjectsInGet", "maxObjectsInSet", "collationAlgorithms",
    }  # fmt: skip
    assert CoreCapability(max_calls_in_request=3).to_json()["maxCallsInRequest"] == 3


@pytest.mark.parametrize(
    "kwargs",
    [{"max_size_request": 0}, {"max_calls_in_request": 0}, {"max_objects_in_get": -1},
     {"max_size_upload": True}, {"max_concurrent_requests": 2**53}],
)  # fmt: skip
def test_core_capability_refuses_dishonest_limits(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        CoreCapability(**kwargs)


def test_mail_capability() -> None:
    doc = MailCapability().to_json()
    assert doc == {
        "maxMailboxesPerEmail": 1,
        "maxMailboxDepth": None,
        "maxSizeMailboxName": 255,
        "maxSizeAttachmentsPerEmail": 0,
        "emailQuerySortOptions": list(SORT_PROPERTIES),
        "mayCreateTopLevelMailbox": False,
    }
    with pytest.raises(ValueError, match="at least 100"):
        MailCapability(max_size_mailbox_name=99)
    with pytest.raises(ValueError):
        MailCapability(max_mailboxes_per_email=0)
    assert MailCapability(max_mailbox_depth=10).to_json()["maxMailboxDepth"] == 10


def test_websocket_capability() -> None:
    # RFC 8887 §4.
    assert WebSocketCapability("wss://h/jmap/ws").to_json() == {
        "url": "wss://h/jmap/ws",
        "supportsPush": True,
    }
    with pytest.raises(ValueError):
        WebSocketCapability("https://h/jmap/ws")
