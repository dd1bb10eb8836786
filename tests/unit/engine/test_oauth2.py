import asyncio
import socket

import pytest

from switchboard.engine.backoff import Backoff
from switchboard.engine.errors import OAuth2Rejected, OAuth2Unavailable
from switchboard.engine.oauth2 import HttpTokenRefresher, OAuth2Credentials, TokenGrant
from switchboard.imap.errors import AuthenticationFailed
from switchboard.model.accounts import OAuth2Auth
from tests.support.oauth2_stub import OAuth2Stub


@pytest.fixture
def stub():
    with OAuth2Stub() as server:
        yield server


def auth_for(stub: OAuth2Stub, refresh: str, **kw) -> OAuth2Auth:
    return OAuth2Auth(
        username="alice",
        access_token=kw.pop("access_token", None),
        refresh_token=refresh,
        token_endpoint=stub.token_url,
        client_id=kw.pop("client_id", "client-1"),
        client_secret=kw.pop("client_secret", "s3cret"),
        **kw,
    )


async def test_refresh_returns_new_access_and_rotated_refresh_token(stub):
    _, refresh = stub.issue("alice", expires_in_s=1800)
    refresher = HttpTokenRefresher(wall_clock=lambda: 1000.0)
    grant = await refresher.refresh(auth_for(stub, refresh))
    assert grant.access_token.startswith("at-")
    assert grant.refresh_token is not None and grant.refresh_token != refresh
    assert grant.expires_at == 2800.0
    assert stub.requests[-1]["grant_type"] == "refresh_token"
    assert stub.requests[-1]["refresh_token"] == refresh
    assert "s3cret" not in repr(grant) and grant.access_token not in repr(grant)


async def test_secrets_with_plus_ampersand_equals_are_url_encoded(stub):
    _, refresh = stub.issue("alice")
    secret = "a+b&c=d e%"
    await HttpTokenRefresher().refresh(
        auth_for(stub, refresh, client_id="id+&=", client_secret=secret)
    )
    form = stub.requests[-1]
    assert form["client_secret"] == secret
    assert form["client_id"] == "id+&="
    assert set(form) == {"grant_type", "refresh_token", "client_id", "client_secret"}


async def test_unknown_refresh_token_is_rejected_without_leaking_it(stub):
    with pytest.raises(OAuth2Rejected) as info:
        await HttpTokenRefresher().refresh(auth_for(stub, "rt-bogus-secret"))
    assert "invalid_grant" in str(info.value)
    assert "rt-bogus-secret" not in str(info.value)
    assert isinstance(info.value, AuthenticationFailed)


async def test_unreachable_endpoint_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    auth = OAuth2Auth("alice", refresh_token="rt", token_endpoint=f"http://127.0.0.1:{port}/t")
    with pytest.raises(OAuth2Unavailable, match="unreachable"):
        await HttpTokenRefresher(timeout_s=2.0).refresh(auth)


async def test_non_json_or_unexpected_status_is_unavailable(stub):
    _, refresh = stub.issue("alice")
    auth = auth_for(stub, refresh)
    wrong_path = OAuth2Auth(
        "alice", refresh_token=refresh, token_endpoint=stub.token_url.replace("/token", "/nope")
    )
    with pytest.raises(OAuth2Unavailable, match="404"):
        await HttpTokenRefresher().refresh(wrong_path)
    assert auth.refresh_token == refresh


async def test_non_http_scheme_and_missing_refresh_token_are_rejected():
    with pytest.raises(OAuth2Rejected, match="scheme"):
        await HttpTokenRefresher().refresh(
            OAuth2Auth("a", refresh_token="r", token_endpoint="file:///etc/passwd")
        )
    with pytest.raises(OAuth2Rejected):
        await HttpTokenRefresher().refresh(OAuth2Auth("a", access_token="x"))


def test_parse_edge_cases():
    refresher = HttpTokenRefresher(max_response_bytes=100)
    with pytest.raises(OAuth2Unavailable, match="too large"):
        refresher._parse(200, b"x" * 101, 0.0)
    with pytest.raises(OAuth2Unavailable, match="no access_token"):
        refresher._parse(200, b'{"expires_in": 5}', 0.0)
    with pytest.raises(OAuth2Unavailable, match="JSON"):
        refresher._parse(200, b"<html>", 0.0)
    grant = refresher._parse(200, b'{"access_token": "a", "expires_in": "60"}', 10.0)
    assert grant == TokenGrant("a", 70.0, None)
    grant = refresher._parse(200, b'{"access_token": "a"}', 10.0)
    assert grant.expires_at is None
    with pytest.raises(OAuth2Unavailable, match="503: unknown"):
        refresher._parse(503, b'{"error": "bad code with spaces"}', 0.0)


class FakeRefresher:
    def __init__(self) -> None:
        self.calls = 0
        self.fail_with: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def refresh(self, auth: OAuth2Auth) -> TokenGrant:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return TokenGrant(f"access-{self.calls}", 10_000.0, f"refresh-{self.calls}")


def make_credentials(auth: OAuth2Auth, refresher, now=None, **kw):
    clock = now if now is not None else [0.0]
    stored: list[OAuth2Auth] = []

    async def on_refreshed(new: OAuth2Auth) -> None:
        stored.append(new)

    creds = OAuth2Credentials(
        auth,
        refresher,
        on_refreshed=on_refreshed,
        backoff=Backoff(10.0, 100.0),
        clock=lambda: clock[0],
        wall_clock=lambda: 1000.0,
        **kw,
    )
    return creds, stored, clock


BASE = OAuth2Auth("u", access_token="old", refresh_token="r0", token_endpoint="http://x/t")


async def test_valid_token_is_used_as_is():
    refresher = FakeRefresher()
    creds, stored, _ = make_credentials(BASE, refresher)
    assert (await creds.current()).access_token == "old"
    assert refresher.calls == 0 and stored == []


async def test_refresh_before_expiry_margin_and_rotation_reported():
    refresher = FakeRefresher()
    soon = OAuth2Auth(
        "u", access_token="old", refresh_token="r0", token_endpoint="http://x/t", expires_at=1030.0
    )
    creds, stored, _ = make_credentials(soon, refresher, margin_s=60.0)
    auth = await creds.current()
    assert (auth.access_token, auth.refresh_token, auth.expires_at) == (
        "access-1",
        "refresh-1",
        10_000.0,
    )
    assert stored == [auth]
    assert (await creds.current()) is auth  # cached
    assert refresher.calls == 1


async def test_rejected_token_forces_one_refresh_shared_by_concurrent_callers():
    refresher = FakeRefresher()
    refresher.gate = asyncio.Event()
    creds, stored, _ = make_credentials(BASE, refresher)
    tasks = [asyncio.create_task(creds.current(rejected_token="old")) for _ in range(3)]
    await asyncio.sleep(0)  # let the first caller take the lock and start refreshing
    refresher.gate.set()
    results = await asyncio.gather(*tasks)
    assert {r.access_token for r in results} == {"access-1"}
    assert refresher.calls == 1 and len(stored) == 1


async def test_failed_refresh_backs_off_before_asking_again():
    refresher = FakeRefresher()
    refresher.fail_with = OAuth2Unavailable("down")
    creds, _, clock = make_credentials(BASE, refresher)
    with pytest.raises(OAuth2Unavailable):
        await creds.current(rejected_token="old")
    with pytest.raises(OAuth2Unavailable):
        await creds.current(rejected_token="old")
    assert refresher.calls == 1  # second failure served from the backoff window
    clock[0] += 10.0
    refresher.fail_with = None
    assert (await creds.current(rejected_token="old")).access_token == "access-2"


async def test_no_refresh_token_means_rejected_once_the_server_refuses():
    creds, _, _ = make_credentials(OAuth2Auth("u", access_token="only"), FakeRefresher())
    assert (await creds.current()).access_token == "only"
    with pytest.raises(OAuth2Rejected):
        await creds.current(rejected_token="only")


async def test_replace_auth_adopts_new_tokens_and_forgets_failures():
    refresher = FakeRefresher()
    refresher.fail_with = OAuth2Unavailable("down")
    creds, _, _ = make_credentials(BASE, refresher)
    with pytest.raises(OAuth2Unavailable):
        await creds.current(rejected_token="old")
    creds.replace_auth(OAuth2Auth("u", access_token="new"))
    assert (await creds.current()).access_token == "new"
    assert creds.auth.access_token == "new"


async def test_end_to_end_with_stub_and_failing_storage_callback(stub):
    access, refresh = stub.issue("alice")
    stub.revoke(access)

    async def broken_store(new: OAuth2Auth) -> None:
        raise RuntimeError("disk full")

    creds = OAuth2Credentials(
        auth_for(stub, refresh, access_token=access),
        HttpTokenRefresher(),
        on_refreshed=broken_store,
    )
    auth = await creds.current(rejected_token=access)
    assert auth.access_token != access and auth.refresh_token != refresh
    assert creds.refreshes == 1
