"""How the admin commands reach a running server: HTTP requests and WebSocket sessions.

Every failure becomes one line in an :class:`AdminError` — unreachable, not a Switchboard server
(another service's port, http:// to https://), a token missing or refused, a command refused —
so ``switchboard accounts`` and ``watch`` never print a traceback.
"""

from __future__ import annotations

import argparse
import errno
import http.client
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from typing import Any, Final

from websockets.exceptions import InvalidStatus, WebSocketException

from switchboard.cli.admin_output import ws_url
from switchboard.errors import SwitchboardError
from switchboard.runloop import run_async

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "MAX_RESPONSE_BYTES",
    "AdminError",
    "api_request",
    "open_session",
    "reason",
    "run_session",
    "token_refused",
]

DEFAULT_TIMEOUT_S: Final = 30.0
"""How long one HTTP request or one command may take (``connect`` logs in to IMAP first)."""

MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
"""The largest HTTP response body read from the server."""


class AdminError(SwitchboardError):
    """Raised when a command against a running server fails; its text is the one-line message."""


def reason(exc: BaseException | str) -> str:
    """A short, lower-case reason: ``connection refused``, ``timed out``, ``name unknown``…"""
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, http.client.RemoteDisconnected):
        return f"it closed the connection without an HTTP answer ({_NOT_SWITCHBOARD})"
    if isinstance(exc, http.client.HTTPException):
        return f"it does not answer HTTP ({_NOT_SWITCHBOARD})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its TLS certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        # e.g. https:// to a plain HTTP port: "[SSL] record layer failure (_ssl.c:1006)".
        return f"TLS failed ({exc.reason or exc}): is it an https:// server?"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__  # URLError.reason may also be a plain string


_NOT_SWITCHBOARD = "is this the Switchboard server's address?"


def api_request(
    args: argparse.Namespace, method: str, path: str, *, missing_ok: bool = False
) -> Any:
    """``method`` ``path`` on the server; the decoded JSON body.

    With ``missing_ok`` a 404 (no such account) returns ``None`` instead of raising.

    Raises:
        AdminError: unreachable, refused token, no such account, or any other failure.
    """
    base = args.url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise AdminError(f"--url must start with http:// or https://, not {args.url!r}")
    request = urllib.request.Request(base + path, method=method)  # noqa: S310 - http(s) only
    if args.token:
        request.add_header("Authorization", f"Bearer {args.token}")
    try:
        with urllib.request.urlopen(request, timeout=DEFAULT_TIMEOUT_S) as response:  # noqa: S310
            body = response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        if missing_ok and exc.code == 404:
            return None
        raise _http_error(exc, args) from None
    except urllib.error.URLError as exc:
        raise AdminError(f"cannot reach {base}: {reason(exc.reason)}") from None
    except (OSError, http.client.HTTPException) as exc:
        # A port that speaks something else: BadStatusLine, RemoteDisconnected, a TLS error…
        raise AdminError(f"cannot reach {base}: {reason(exc)}") from None
    try:
        return json.loads(body)
    except ValueError:
        raise AdminError(f"{base}{path} did not answer with JSON ({_NOT_SWITCHBOARD})") from None


def token_refused(args: argparse.Namespace) -> AdminError:
    """The one line for HTTP 401: a token is needed, or the one given was refused."""
    base = args.url.rstrip("/")
    if not args.token:
        return AdminError(
            f"{base} requires an auth token: pass --token or set SWITCHBOARD_TOKEN (on the "
            "server's machine, `switchboard tokens create --scope worker` makes one)"
        )
    return AdminError(f"{base} refused the token (HTTP 401): check --token or SWITCHBOARD_TOKEN")


def _http_error(exc: urllib.error.HTTPError, args: argparse.Namespace) -> AdminError:
    if exc.code == 401:
        return token_refused(args)
    try:
        description = json.loads(exc.read(MAX_RESPONSE_BYTES)).get("description")
    except (ValueError, AttributeError, OSError):
        description = None
    base = args.url.rstrip("/")
    return AdminError(description or f"{base} answered HTTP {exc.code} {exc.reason}")


def open_session(args: argparse.Namespace, **options: Any) -> Any:
    """A ``/workers`` client for ``--url`` and ``--token``, to use with ``async with``.

    ``options`` go to :func:`switchboard.aio.connect` (``reconnect``, ``since``).
    """
    from switchboard import aio

    url = ws_url(args.url)
    return aio.connect(url, token=args.token, timeout_s=DEFAULT_TIMEOUT_S, **options)


def run_session(
    args: argparse.Namespace,
    main: Callable[[], Coroutine[Any, Any, None]],
    *,
    explain: Callable[[Any], str | None] | None = None,
) -> None:
    """Run ``main`` on the event loop, turning connection failures into one-line errors.

    ``explain`` may turn a ``CommandError`` into a better line (``None``: the default one).
    """
    from switchboard.client.errors import CommandError, ConnectionClosed, ResponseTimeout

    base = args.url.rstrip("/")
    try:
        run_async(main)
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status == 401:
            raise token_refused(args) from None
        raise AdminError(f"{base} refused the WebSocket (HTTP {status})") from None
    except CommandError as exc:
        line = explain(exc) if explain is not None else None
        if line is None:
            line = f"{exc.type}: {exc.description}" if exc.description else str(exc)
        raise AdminError(line) from None
    except (ConnectionClosed, ResponseTimeout) as exc:
        raise AdminError(f"{base}: {exc}") from None
    except (OSError, WebSocketException) as exc:
        raise AdminError(f"cannot reach {base}: {reason(exc)}") from None
