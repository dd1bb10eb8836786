"""PeerFaultFilter: a peer's failed handshake is one log line; our faults keep their traceback."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from switchboard.server.wslog import describe_exception, quiet_peer_faults


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger = quiet_peer_faults(logging.getLogger("test.wslog"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)


def _eof() -> Exception:
    try:
        try:
            raise EOFError("stream ends after 0 bytes, before end of line")
        except EOFError as exc:
            raise EOFError("connection closed while reading HTTP request line") from exc
    except EOFError as exc:
        return exc


def test_a_peer_fault_is_one_line(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    logger.debug("! no valid HTTP request", exc_info=_eof())
    assert out.getvalue() == (
        "! no valid HTTP request: EOFError: connection closed while reading HTTP request line"
        " <- EOFError: stream ends after 0 bytes, before end of line\n"
    )


def test_our_faults_keep_their_traceback(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    logger.error("connection handler failed", exc_info=_eof())  # ERROR: a bug to debug
    logger.debug("a debug line of ours", exc_info=_eof())  # not websockets' "! " convention
    text = out.getvalue()
    # Each traceback shows the chain: the cause, then the exception it led to.
    assert text.count("EOFError: connection closed while reading HTTP request line\n") == 2
    assert text.count("Traceback (most recent call last)") == 4


def test_the_filter_is_added_once() -> None:
    logger = logging.getLogger("test.wslog.once")
    assert quiet_peer_faults(quiet_peer_faults(logger)) is logger
    assert len(logger.filters) == 1


def test_describe_exception_is_one_line_and_bounded() -> None:
    exc: BaseException = ValueError("line one\nline two")
    for depth in range(10):
        try:
            raise RuntimeError(f"level {depth}") from exc
        except RuntimeError as new:
            exc = new
    text = describe_exception(exc)
    assert "\n" not in text
    assert text.count(" <- ") == 3  # the exception and three causes, no more
    try:
        raise KeyError("x") from None
    except KeyError as suppressed:
        assert describe_exception(suppressed) == "KeyError: 'x'"
