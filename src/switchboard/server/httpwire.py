"""The values the HTTP layer passes around: a request, a complete response, a streamed one.

:mod:`~switchboard.server.httpconn` reads a request off the connection into an
:class:`HttpRequest` and writes whatever the routes return: an :class:`HttpResponse` (a body
in memory, sent with ``Content-Length``) or a :class:`StreamResponse` (a body produced while
it is sent: an EventSource stream, a download). A stream of known length is sent with
``Content-Length``; one of unknown length is *close-delimited* (the body ends when the
connection closes, RFC 9112 §6.3 rule 8), never chunked: jmapc's EventSource reader takes the
raw socket bytes and would read chunk-size lines as event text (docs/jmap-clients.md).

The builders (:func:`json_response`, :func:`problem_response`, :func:`text_response`) set
the headers every answer of ours carries. Pure values: no I/O here.
"""

from __future__ import annotations

import http
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias
from urllib.parse import urlsplit

from websockets.datastructures import Headers

__all__ = [
    "NO_STORE",
    "AnyResponse",
    "HttpRequest",
    "HttpResponse",
    "StreamResponse",
    "json_response",
    "method_check",
    "problem_response",
    "text_response",
]

NO_STORE: Final = (("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"))
"""Headers of every API answer: nothing cached, no content sniffing."""


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as the routes see it.

    Attributes:
        method: the method, upper case (``GET``, ``POST``…).
        path: the request target: path and query, as sent (not percent-decoded). The name
            matches the WebSocket library's request, so the token check reads both alike.
        headers: the header fields (case-insensitive lookups, repeated names kept).
        body: the body; empty when there was none, or when it was over the size limit.
        body_too_large: the body was over the layer's limit and was not read; the route
            answers (a JMAP ``limit`` problem, or 413) and the connection closes after.
        secure: the request came over TLS.
    """

    method: str
    path: str
    headers: Headers
    body: bytes = b""
    body_too_large: bool = False
    secure: bool = False

    @property
    def route(self) -> str:
        """The path without the query."""
        return urlsplit(self.path).path

    @property
    def query(self) -> str:
        """The query string, without the ``?``."""
        return urlsplit(self.path).query


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A complete response; ``Content-Length`` is added when it is sent."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def with_headers(self, *extra: tuple[str, str]) -> HttpResponse:
        """This response with more header fields."""
        return HttpResponse(self.status, self.headers + extra, self.body)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


@dataclass(frozen=True, slots=True)
class StreamResponse:
    """A response whose body is produced while it is sent.

    Attributes:
        status: the status code.
        headers: the header fields (no ``Content-Length``: the layer sets it from ``length``).
        chunks: the body, piece by piece. The layer closes it (``aclose``) when the response
            ends for any reason, so a generator's ``finally`` releases what it holds.
        length: the body's length in octets when known (sent as ``Content-Length``; the
            connection may then stay open), ``None`` for a close-delimited body.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: AsyncIterator[bytes] = field(repr=False)
    length: int | None = None


AnyResponse: TypeAlias = HttpResponse | StreamResponse
"""What a route returns."""


def json_response(
    body: Any,
    status: int = http.HTTPStatus.OK,
    *,
    content_type: str = "application/json",
    headers: Iterable[tuple[str, str]] = (),
) -> HttpResponse:
    """A JSON response with :data:`NO_STORE`.

    Raises:
        TypeError, ValueError: ``body`` is not JSON-serialisable (a bug of the caller).
    """
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return HttpResponse(
        int(status), (("Content-Type", content_type), *NO_STORE, *headers), payload
    )


def problem_response(
    document: dict[str, Any], *, headers: Iterable[tuple[str, str]] = ()
) -> HttpResponse:
    """An RFC 7807 problem details response; the status is the document's ``status``."""
    status = int(document.get("status", http.HTTPStatus.BAD_REQUEST))
    return json_response(
        document, status, content_type="application/problem+json", headers=headers
    )


def text_response(
    status: int, text: str, *, headers: Iterable[tuple[str, str]] = ()
) -> HttpResponse:
    """A short plain-text response."""
    return HttpResponse(
        int(status),
        (("Content-Type", "text/plain; charset=utf-8"), *NO_STORE, *headers),
        text.encode(),
    )


def method_check(method: str, allow: tuple[str, ...]) -> HttpResponse | None:
    """``None`` when ``method`` is one of ``allow`` (``HEAD`` goes with ``GET``); else the answer.

    ``OPTIONS`` gets 204 with ``Allow``; any other method 405 with ``Allow`` (RFC 9110 §15.5.6).
    ``Allow`` lists ``allow`` as given: ``HEAD`` and ``OPTIONS`` go without saying.
    """
    if method in allow or (method == "HEAD" and "GET" in allow):
        return None
    header = ("Allow", ", ".join(allow))
    if method == "OPTIONS":
        return HttpResponse(http.HTTPStatus.NO_CONTENT, (header,))
    return json_response(
        {"error": "methodNotAllowed", "description": f"allowed: {', '.join(allow)}"},
        http.HTTPStatus.METHOD_NOT_ALLOWED,
        headers=(header,),
    )
