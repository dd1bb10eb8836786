"""One log line, never a traceback, for what a peer got wrong before its WebSocket opened.

websockets logs every failed opening handshake that is the peer's doing at DEBUG, with the
exception attached and a message starting with ``"! "``: a TCP connection closed before or
while sending its request (a load balancer's health probe, a port scanner, ``nc -z``), a request
that is not HTTP, a bad ``Upgrade``, an oversized header. Each came out as a 20-line traceback
ending in ``EOFError: stream ends after 0 bytes, before end of line`` — noise that looks like a
fault of ours. :class:`PeerFaultFilter` folds the exception into the message instead::

    ! no valid HTTP request: InvalidMessage: did not receive a valid HTTP request
      <- EOFError: stream ends after 0 bytes, before end of line

(one line in the log). Records at WARNING and above keep their traceback: websockets logs its
own and our failures there (``opening handshake failed``, ``connection handler failed``).
"""

from __future__ import annotations

import logging

__all__ = ["PeerFaultFilter", "describe_exception", "quiet_peer_faults"]

# Causes shown after the exception itself; a longer chain is cut.
_MAX_CAUSES = 3


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` for ``exc`` and its causes, on one line."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) <= _MAX_CAUSES:
        text = " ".join(str(current).split())  # no newline may split the line
        parts.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        if current.__cause__ is not None or current.__suppress_context__:  # `raise … from …`
            current = current.__cause__
        else:
            current = current.__context__
    return " <- ".join(parts)


class PeerFaultFilter(logging.Filter):
    """Turns websockets' DEBUG ``"! …"`` records with a traceback into a single line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place when it is a peer's fault; never drops a record."""
        if (
            record.levelno < logging.WARNING
            and record.exc_info
            and record.exc_info[1] is not None
            and isinstance(record.msg, str)
            and record.msg.startswith("! ")
        ):
            record.msg = f"{record.getMessage()}: {describe_exception(record.exc_info[1])}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_peer_faults(logger: logging.Logger) -> logging.Logger:
    """Add a :class:`PeerFaultFilter` to ``logger`` (once) and return it."""
    if not any(isinstance(f, PeerFaultFilter) for f in logger.filters):
        logger.addFilter(PeerFaultFilter())
    return logger
