"""The dashboard in a real headless Chromium against a real server watching a real Dovecot account.

Playwright drives Debian's system Chromium (never a downloaded browser). Every wait is
Playwright's wait-for-selector with a timeout; nothing sleeps. Screenshots land in
``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from switchboard import aio
from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import FAST_ENGINE, message, server_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TOKEN = "dashboard-test-token"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
# A push reaches the page within Dovecot's ~0.5 s notify delay plus one 2 s refresh; allow a
# loaded machine plenty more.
WAIT_MS = 15_000


@pytest.fixture(autouse=True)
def _chromium_installed() -> None:
    # A missing browser is a broken set-up, not a reason to skip the dashboard's only browser test.
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./scripts/test, which installs Debian's chromium")


@pytest.fixture
async def watched_server(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> AsyncIterator[SwitchboardServer]:
    """A server with auth tokens and one worker-connected account watching INBOX."""
    server = SwitchboardServer(
        server_settings(tmp_path / "data", dovecot, tokens=(TOKEN,)), engine_settings=FAST_ENGINE
    )
    await server.start()
    try:
        url = f"ws://127.0.0.1:{server.port}/workers"
        async with aio.connect(url, token=TOKEN) as worker:
            auth = {"type": "plain", "username": imap_user.username, "password": imap_user.password}
            await worker.call(
                "connect", {"host": dovecot.host, "port": dovecot.tls_port, "auth": auth}
            )
            await worker.call("watchMailboxes", {"account": imap_user.username, "list": ["INBOX"]})
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def browser_page(tmp_path: Path) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 860},
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            yield page
        finally:
            await context.close()


def console_errors(page: Page) -> list[str]:
    """Collect the page's console errors (a CSP violation shows up here)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


async def test_dashboard_shows_the_account_healthy_and_new_mail_live(
    watched_server: SwitchboardServer,
    browser_page: Page,
    dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    page = browser_page
    errors = console_errors(page)
    await page.goto(f"http://127.0.0.1:{watched_server.port}/#token={TOKEN}")

    row = f'#accounts tr[data-account="{imap_user.username}"]'
    await page.wait_for_selector(f"{row} td[data-state=idle]", timeout=WAIT_MS)
    assert "INBOX" in await page.inner_text(row)
    # The token left the address bar once stored.
    assert "token" not in page.url
    # The feed is live (watchAll acknowledged) before the mail is sent.
    await page.wait_for_selector("#conn[data-state=live]", timeout=WAIT_MS)

    uid = await asyncio.to_thread(
        dovecot.append, imap_user, message("Quarterly report", from_="Alice <alice@example.com>")
    )
    item = f'#feed li[data-account="{imap_user.username}"][data-message-id$="?{uid}"]'
    await page.wait_for_selector(item, timeout=WAIT_MS)
    await page.wait_for_selector(f"{item} .what:has-text('Quarterly report')", timeout=WAIT_MS)
    # The push's latency reaches the chart on the next refresh.
    await page.wait_for_selector("#chart circle.point", timeout=WAIT_MS)
    await page.wait_for_selector(f"{row} td.num:has-text('1')", timeout=WAIT_MS)

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert errors == []


async def test_a_bad_token_shows_an_auth_error_and_no_data(
    watched_server: SwitchboardServer, browser_page: Page, imap_user: ImapUser
) -> None:
    page = browser_page
    await page.goto(f"http://127.0.0.1:{watched_server.port}/#token=not-the-token")

    await page.wait_for_selector("#auth-error", state="visible", timeout=WAIT_MS)
    assert "Authentication failed" in await page.inner_text("#auth-error")
    assert not await page.is_visible("#data")
    assert imap_user.username not in await page.content()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard-auth-failed.png"))

    # The form recovers with the right token.
    await page.fill("#token-input", TOKEN)
    await page.click("#token-form button")
    await page.wait_for_selector(
        f'#accounts tr[data-account="{imap_user.username}"]', timeout=WAIT_MS
    )
    assert not await page.is_visible("#auth")


async def test_without_a_token_the_page_asks_for_one_rather_than_failing(
    watched_server: SwitchboardServer, browser_page: Page, imap_user: ImapUser
) -> None:
    page = browser_page
    errors = console_errors(page)
    await page.goto(f"http://127.0.0.1:{watched_server.port}/")

    await page.wait_for_selector("#conn[data-state='token required']", timeout=WAIT_MS)
    assert await page.is_visible("#token-input")
    assert await page.inner_text("#auth-title") == "Sign in"
    assert not await page.is_visible("#auth-error")
    assert "failed" not in (await page.inner_text("body")).lower()
    assert not await page.is_visible("#data")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard-sign-in.png"))

    await page.fill("#token-input", TOKEN)
    await page.click("#token-form button")
    await page.wait_for_selector(
        f'#accounts tr[data-account="{imap_user.username}"]', timeout=WAIT_MS
    )
    assert not await page.is_visible("#auth")
    # The 401s before the token was given are the browser's own console lines, not ours.
    assert all("401" in e for e in errors), errors


async def test_an_account_whose_password_changed_shows_auth_failed_and_the_next_attempt(
    watched_server: SwitchboardServer,
    browser_page: Page,
    dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    page = browser_page
    await page.goto(f"http://127.0.0.1:{watched_server.port}/#token={TOKEN}")
    row = f'#accounts tr[data-account="{imap_user.username}"]'
    await page.wait_for_selector(f"{row} td[data-state=idle]", timeout=WAIT_MS)
    # The provider changes the password and drops the session: the watcher's next login fails.
    await asyncio.to_thread(dovecot.set_password, imap_user, "changed-by-the-provider")
    await asyncio.to_thread(dovecot.kill_imap_processes, imap_user)

    await page.wait_for_selector(f"{row} td[data-state=authFailed]", timeout=WAIT_MS)
    error = await page.inner_text(f"{row} .error")
    assert "AuthenticationFailed" in error and "retrying in" in error
    assert imap_user.password not in await page.content()
