"""Who may open a socket or read the HTTP API: the auth token check.

A token arrives as ``Authorization: Bearer T`` or, for old clients that can only set a URL, as
``?token=T`` (protocol.md §7.2 #18). With no tokens configured (loopback only, see
``ServerSettings.check``) everyone is allowed.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from websockets.http11 import Request

__all__ = ["offered_token", "token_allowed"]


def offered_token(request: Request) -> str | None:
    """The token the request carries (header first, then the query string), or ``None``."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    values = parse_qs(urlsplit(request.path).query).get("token")
    return values[0] if values else None


def token_allowed(request: Request, tokens: Sequence[str]) -> bool:
    """Whether ``request`` may proceed: no tokens configured, or one of them offered."""
    if not tokens:
        return True
    offered = offered_token(request)
    if offered is None:
        return False
    # Compare against every token so timing does not tell which one nearly matched.
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(offered.encode(), token.encode())
    return matched
