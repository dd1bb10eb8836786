"""How the threaded client opens its WebSocket: limits, TLS, headers, the ws4py-style options.

The threaded client keeps the original's ws4py constructor options (``ssl_options`` as a dict of
``ssl`` settings, headers as ``(name, value)`` pairs, ``permessage-deflate`` as an extension
name); this module turns them into ``websockets.sync`` arguments.
"""

from __future__ import annotations

import inspect
import ssl
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from websockets.sync.client import ClientConnection as SyncConnection
from websockets.sync.client import connect as sync_connect
from websockets.typing import Subprotocol

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "DEFAULT_PING_INTERVAL_S",
    "HeadersLike",
    "SslOptions",
    "header_list",
    "open_sync",
    "ssl_context",
]

DEFAULT_MAX_FRAME_BYTES: Final = 64 * 1024 * 1024
"""Largest frame accepted from the server: ``getMessages`` with ``raw`` carries whole messages
(the asyncio client's default too)."""

DEFAULT_PING_INTERVAL_S: Final = 20.0
"""Keepalive ping interval when none is given; a silent server is noticed within two intervals
(websockets closes with 1011 when a pong is late)."""

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]]
"""Extra upgrade-request headers: a mapping or ``(name, value)`` pairs."""

SslOptions = ssl.SSLContext | Mapping[str, str | int | None]
"""An ``ssl.SSLContext``, or ws4py's dict (``ca_certs``, ``certfile``, ``keyfile``,
``cert_reqs``)."""

# websockets 17 deprecates calling the sync connect() outside a ``with`` block unless
# ``legacy=True`` is passed; earlier versions have no such flag. The threaded client owns the
# connection's lifetime itself (connect/close), so it opts in where the flag exists.
_LEGACY_KW: Final[dict[str, bool]] = (
    {"legacy": True} if "legacy" in inspect.signature(sync_connect).parameters else {}
)


def header_list(headers: HeadersLike | None) -> list[tuple[str, str]]:
    """Headers as a list of ``(name, value)`` pairs."""
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return [(name, value) for name, value in headers]


def ssl_context(options: SslOptions | None) -> ssl.SSLContext:
    """A client TLS context from ws4py-style ``ssl_options`` (verifying by default).

    Raises:
        OSError: a named certificate or key file cannot be read.
        ssl.SSLError: a certificate or key is not usable.
    """
    if isinstance(options, ssl.SSLContext):
        return options
    options = options or {}
    ca_certs, certfile, keyfile = (options.get(k) for k in ("ca_certs", "certfile", "keyfile"))
    context = ssl.create_default_context(cafile=ca_certs if isinstance(ca_certs, str) else None)
    if isinstance(certfile, str) and certfile:
        context.load_cert_chain(certfile, keyfile if isinstance(keyfile, str) else None)
    if options.get("cert_reqs") == ssl.CERT_NONE:
        # Explicitly asked for, as ws4py allowed; never the default.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def open_sync(url: str, *, headers: Sequence[tuple[str, str]], protocols: Sequence[str] | None,
              deflate: bool, ssl_options: SslOptions | None, timeout_s: float,
              ping_interval_s: float, max_frame_bytes: int) -> SyncConnection:
    """Open the threaded client's connection (``websockets.sync``).

    Raises:
        OSError: the TCP connection failed.
        TimeoutError: the opening handshake took longer than ``timeout_s``.
        websockets.exceptions.InvalidHandshake: the server refused the upgrade.
    """
    # Built as a dict: the legacy flag exists only in websockets versions that know it.
    options: dict[str, Any] = {
        "additional_headers": list(headers) or None,
        "subprotocols": [Subprotocol(p) for p in protocols] if protocols else None,
        "compression": "deflate" if deflate else None,
        "ssl": ssl_context(ssl_options) if url.startswith("wss:") else None,
        "open_timeout": timeout_s,
        "close_timeout": timeout_s,
        "ping_interval": ping_interval_s,
        "max_size": max_frame_bytes,
        **_LEGACY_KW,
    }
    connection: SyncConnection = sync_connect(url, **options)
    return connection
