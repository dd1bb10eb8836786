"""Tests for switchboard.server.dashboard: the packaged page and its headers."""

from __future__ import annotations

from switchboard.server.dashboard import CONTENT_SECURITY_POLICY, StaticFiles


def test_page_and_assets_are_served_with_their_types_and_a_strict_csp() -> None:
    files = StaticFiles.load()
    expected = {
        "/": "text/html; charset=utf-8",
        "/static/dashboard.html": "text/html; charset=utf-8",
        "/static/dashboard.css": "text/css; charset=utf-8",
        "/static/dashboard.js": "text/javascript; charset=utf-8",
        "/favicon.ico": "image/svg+xml",
    }
    for path, content_type in expected.items():
        response = files.response_for(path)
        assert response is not None, path
        assert response.status == 200
        assert response.header("Content-Type") == content_type
        assert response.header("Content-Security-Policy") == CONTENT_SECURITY_POLICY
        assert response.header("Cache-Control") == "no-cache"
        assert response.header("X-Content-Type-Options") == "nosniff"
        assert response.body


def test_the_csp_allows_no_inline_script_and_the_page_has_none() -> None:
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    page = StaticFiles.load().response_for("/")
    assert page is not None
    html = page.body.decode()
    assert html.count("<script") == html.count('<script src="/static/dashboard.js"') == 1
    assert " style=" not in html and "http://" not in html.replace('"http://www.w3.org', "")


def test_unknown_static_names_are_404_and_other_paths_are_not_ours() -> None:
    files = StaticFiles.load()
    for path in ("/static/../app.py", "/static/missing.js", "/static/"):
        response = files.response_for(path)
        assert response is not None and response.status == 404, path
    assert files.response_for("/api/accounts") is None
    assert files.response_for("/workers") is None
