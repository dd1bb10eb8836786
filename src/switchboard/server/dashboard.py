"""Serve the dashboard page and its static files from the package, with strict browser headers.

The files live in ``switchboard/server/static/`` and are read once, when the routes are built:
there are three small files and no build step, so a lookup table of ready responses is all the
"static file server" needed. Only names in :data:`STATIC_FILES` are served — a request path is
never turned into a file-system path, so there is nothing to traverse.

Headers: a Content-Security-Policy that allows only this origin's script, style and sockets
(no inline script, no CDN, no frames), ``nosniff``, ``no-referrer``, and ``Cache-Control:
no-cache`` so a browser revalidates after an upgrade instead of running an old script.
"""

from __future__ import annotations

import http
from dataclasses import dataclass
from importlib import resources
from typing import Final

from switchboard.server.httpwire import HttpResponse

__all__ = ["CONTENT_SECURITY_POLICY", "PAGE_PATHS", "STATIC_FILES", "StaticFiles"]

STATIC_FILES: Final = {
    "dashboard.html": "text/html; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
"""The files served under ``/static/``, with their content types."""

PAGE_PATHS: Final = ("/", "/dashboard")
"""Paths that answer with ``dashboard.html``."""

_ALIASES: Final = {"/favicon.ico": "/static/favicon.svg"}
"""Paths browsers ask for on their own."""

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Same-origin script, style and fetch/WebSocket only; nothing inline, nothing framed."""


@dataclass(frozen=True, slots=True)
class StaticFiles:
    """The dashboard's files, read from the package, keyed by their URL path."""

    bodies: dict[str, tuple[bytes, str]]

    @classmethod
    def load(cls) -> StaticFiles:
        """Read :data:`STATIC_FILES` from the package's ``static`` directory.

        Raises:
            FileNotFoundError: a file is missing from the installed package (a packaging bug:
                ``static/*`` must be in the package data).
        """
        directory = resources.files("switchboard.server").joinpath("static")
        bodies: dict[str, tuple[bytes, str]] = {}
        for name, content_type in STATIC_FILES.items():
            bodies[f"/static/{name}"] = (directory.joinpath(name).read_bytes(), content_type)
        page = bodies["/static/dashboard.html"]
        for path in PAGE_PATHS:
            bodies[path] = page
        for alias, target in _ALIASES.items():
            bodies[alias] = bodies[target]
        return cls(bodies)

    def response_for(self, path: str) -> HttpResponse | None:
        """The response for ``path``, or ``None`` when it is not a static path of ours."""
        found = self.bodies.get(path)
        if found is None:
            if path.startswith("/static/"):
                return _not_found()
            return None
        body, content_type = found
        return HttpResponse(http.HTTPStatus.OK, _headers(content_type), body)


def _headers(content_type: str) -> tuple[tuple[str, str], ...]:
    return (
        ("Content-Type", content_type),
        ("Cache-Control", "no-cache"),
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    )


def _not_found() -> HttpResponse:
    return HttpResponse(
        http.HTTPStatus.NOT_FOUND, _headers("text/plain; charset=utf-8"), b"Not Found\n"
    )
