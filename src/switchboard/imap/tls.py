"""TLS for IMAP connections: shared client contexts and a TLS upgrade with a small read buffer.

How it works:

* :func:`default_ssl_context` builds one verifying client :class:`ssl.SSLContext` per
  ``(ca_file, verify)`` and caches it, so 10,000 connections share one context (and one loaded
  CA store) instead of building 10,000.
* :func:`start_tls` upgrades a connected transport to TLS. On uvloop it uses the loop's own
  ``start_tls``: uvloop's native TLS keeps an idle connection at about 36 KB. On CPython's stock
  event loop, ``asyncio.sslproto.SSLProtocol`` allocates a 256 KiB read buffer per connection
  (about 290 KB of RSS per idle TLS connection). We do not patch that class for the whole
  process; instead we instantiate a subclass whose only change is ``max_size = 16384`` (one TLS
  record, the most one ``SSL_read`` returns anyway), which measures at about 49 KB per connection.

Trade-off, written down on purpose: the stock-loop path mirrors the ten lines of
``BaseEventLoop.start_tls`` and relies on ``SSLProtocol``'s constructor and ``_app_transport``
attribute, which are not public API. They have been stable since the 3.11 rewrite of
``sslproto``; :func:`small_buffer_supported` checks the shape at run time and we fall back to
the loop's ``start_tls`` (correct, just bigger) when it ever changes. The alternative, setting
``asyncio.sslproto.SSLProtocol.max_size`` globally, would silently shrink the buffers of every
other TLS user in the process (the WebSocket server included).

See Also:
    RFC 8314 (implicit TLS for mail), RFC 2595 / RFC 3501 §6.2.1 (STARTTLS).
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import enum
import functools
import inspect
import os
import ssl

__all__ = [
    "SMALL_SSL_BUFFER_BYTES",
    "TlsMode",
    "default_ssl_context",
    "small_buffer_supported",
    "start_tls",
]

SMALL_SSL_BUFFER_BYTES = 16384
"""Read buffer of the stock-loop TLS protocol: one maximum-size TLS record (RFC 8446 §5.1)."""


class TlsMode(enum.Enum):
    """How a connection is protected."""

    IMPLICIT = "implicit"
    """TLS from the first byte (IMAPS, port 993); the default."""
    STARTTLS = "starttls"
    """Plain connect, then ``STARTTLS``; credentials are refused unless the upgrade succeeded."""
    PLAIN = "plain"
    """No TLS: only to loopback unless explicitly allowed."""


@functools.cache
def _cached_context(ca_file: str | None, verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def default_ssl_context(
    ca_file: str | os.PathLike[str] | None = None, verify: bool = True
) -> ssl.SSLContext:
    """Return the shared client context for ``(ca_file, verify)``, created once.

    The context verifies the server's certificate and host name against the system CA store,
    or against ``ca_file`` alone when one is given. Contexts are shared by every connection
    that asks for the same settings, so callers must not modify the returned object.

    Args:
        ca_file: a PEM file of CA certificates to trust instead of the system store.
        verify: ``False`` turns certificate and host-name checks off (tests, never production).

    Returns:
        The cached :class:`ssl.SSLContext`.

    Raises:
        FileNotFoundError: ``ca_file`` does not exist.
        ssl.SSLError: ``ca_file`` holds no usable certificate.
    """
    # Normalise the key so that "ca.pem" and Path("ca.pem") share one context.
    key = os.path.abspath(os.fspath(ca_file)) if ca_file is not None else None
    return _cached_context(key, verify)


class _SmallBufferSSLProtocol(asyncio.sslproto.SSLProtocol):
    """CPython's TLS protocol with a 16 KiB instead of a 256 KiB per-connection read buffer."""

    max_size = SMALL_SSL_BUFFER_BYTES


@functools.cache
def small_buffer_supported() -> bool:
    """Tell whether this CPython's ``SSLProtocol`` has the shape :func:`start_tls` relies on.

    Returns:
        ``True`` when the small-buffer path can be used on the stock event loop.
    """
    parameters = inspect.signature(asyncio.sslproto.SSLProtocol.__init__).parameters
    return (
        isinstance(getattr(asyncio.sslproto.SSLProtocol, "max_size", None), int)
        and "call_connection_made" in parameters
        and "ssl_handshake_timeout" in parameters
    )


async def start_tls(
    transport: asyncio.Transport,
    protocol: asyncio.BaseProtocol,
    context: ssl.SSLContext,
    server_hostname: str,
    *,
    handshake_timeout_s: float,
) -> asyncio.Transport:
    """Upgrade ``transport`` to TLS and return the new transport ``protocol`` must write to.

    ``protocol`` keeps receiving decrypted data through its ``data_received``; its
    ``connection_made`` is not called again.

    Args:
        transport: a connected TCP transport whose protocol is ``protocol``.
        protocol: the application protocol.
        context: the client context (see :func:`default_ssl_context`).
        server_hostname: the name to verify the certificate against (and send as SNI).
        handshake_timeout_s: bound on the TLS handshake.

    Returns:
        The TLS transport.

    Raises:
        ssl.SSLError: the handshake failed (e.g. ``ssl.SSLCertVerificationError``).
        ConnectionError: the peer closed or reset the connection during the handshake.
        TimeoutError: the handshake took longer than ``handshake_timeout_s``.
    """
    loop = asyncio.get_running_loop()
    if not isinstance(loop, asyncio.BaseEventLoop) or not small_buffer_supported():
        # uvloop (or another loop): its own TLS is already small, use it as is.
        new_transport = await loop.start_tls(
            transport,
            protocol,
            context,
            server_hostname=server_hostname,
            ssl_handshake_timeout=handshake_timeout_s,
        )
        if new_transport is None:  # only when the transport closed under us
            raise ConnectionResetError("connection closed during the TLS handshake")
        return new_transport
    # Mirrors BaseEventLoop.start_tls (3.11-3.13) with our small-buffer protocol.
    waiter: asyncio.Future[None] = loop.create_future()
    ssl_protocol = _SmallBufferSSLProtocol(
        loop,
        protocol,
        context,
        waiter,
        False,
        server_hostname,
        # The handshake is bounded by asyncio.timeout below (typeshed types this one as int).
        call_connection_made=False,
    )
    # Pause first so the TLS protocol sees no bytes before its connection_made.
    transport.pause_reading()
    transport.set_protocol(ssl_protocol)
    made = loop.call_soon(ssl_protocol.connection_made, transport)
    resumed = loop.call_soon(transport.resume_reading)
    try:
        async with asyncio.timeout(handshake_timeout_s):
            await waiter
    except BaseException:
        transport.close()
        made.cancel()
        resumed.cancel()
        raise
    app_transport: asyncio.Transport = ssl_protocol._app_transport
    return app_transport
