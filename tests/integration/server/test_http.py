"""The HTTP routes of server.http over a real socket: page, API, methods, auth."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer
from tests.support.switchboard import new_server

TOKEN = "http-routes-token"


@pytest.fixture
async def guarded(tmp_path: Path, dovecot: DovecotServer) -> AsyncIterator[SwitchboardServer]:
    async with new_server(tmp_path / "data", dovecot, tokens=(TOKEN,)) as srv:
        yield srv


async def fetch(
    server: SwitchboardServer, method: str, path: str, token: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    def do() -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            conn.request(method, path, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    return await asyncio.to_thread(do)


async def test_the_page_needs_no_token_and_carries_a_strict_csp(guarded: SwitchboardServer) -> None:
    status, headers, body = await fetch(guarded, "GET", "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert b"/static/dashboard.js" in body
    status, headers, _ = await fetch(guarded, "GET", "/static/dashboard.js")
    assert (status, headers["Content-Type"]) == (200, "text/javascript; charset=utf-8")


@pytest.mark.parametrize(
    "path", ["/api/accounts", "/api/accounts/x", "/api/latency", "/health", "/metrics"]
)
async def test_the_api_needs_the_token(guarded: SwitchboardServer, path: str) -> None:
    status, headers, body = await fetch(guarded, "GET", path, token="wrong")
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(body)["error"] == "unauthorized"


async def test_api_documents_with_the_token(guarded: SwitchboardServer) -> None:
    status, _, body = await fetch(guarded, "GET", "/api/accounts", token=TOKEN)
    assert (status, json.loads(body)) == (200, [])
    status, _, body = await fetch(guarded, "GET", f"/api/latency?window_s=60&token={TOKEN}")
    latency = json.loads(body)
    assert status == 200 and latency["windowS"] == 60.0 and latency["samples"] == []


async def test_unknown_paths_accounts_and_methods(guarded: SwitchboardServer) -> None:
    status, _, body = await fetch(guarded, "GET", "/nowhere", token=TOKEN)
    assert (status, json.loads(body)["error"]) == (404, "notFound")
    status, _, body = await fetch(guarded, "DELETE", "/api/accounts/nobody%40x", token=TOKEN)
    assert (status, json.loads(body)["description"]) == (404, "no account 'nobody@x'")
    status, headers, _ = await fetch(guarded, "POST", "/api/accounts", token=TOKEN)
    assert (status, headers["Allow"]) == (405, "GET")
    status, headers, _ = await fetch(guarded, "PUT", "/api/accounts/x", token=TOKEN)
    assert (status, headers["Allow"]) == (405, "GET, DELETE")
    status, _, _ = await fetch(guarded, "DELETE", "/", token=TOKEN)
    assert status == 405
