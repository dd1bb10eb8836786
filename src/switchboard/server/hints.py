"""What to try when an IMAP connect fails: advice for the TLS mistakes everyone makes once.

A ``connect`` that fails with ``CERTIFICATE_VERIFY_FAILED`` or ``WRONG_VERSION_NUMBER`` says
what OpenSSL saw, not what to change. :func:`diagnose` recognises the usual causes in the
failure's text; :func:`advice` says what to try, in wire-protocol terms (``"starttls": true``)
for the ``connectionFailed`` description, or in ``switchboard accounts add`` flags for the CLI.
The server appends the wire advice after :data:`ADVICE_MARK`, so the CLI can put its own in its
place. Pure functions: no I/O.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["ADVICE_MARK", "ConnectProblem", "advice", "diagnose", "without_advice"]

ADVICE_MARK: Final = " Try: "
"""What separates a failure's text from the advice appended to it."""


class ConnectProblem(enum.Enum):
    """A recognised cause of a failed IMAP connect."""

    UNTRUSTED_CERTIFICATE = "untrusted certificate"
    WRONG_HOST_NAME = "certificate for another host name"
    NOT_TLS = "the port does not speak TLS from the first byte"
    NO_GREETING = "no IMAP greeting"


def diagnose(text: str, tls: str) -> ConnectProblem | None:
    """The likely cause of a connect failure whose message is ``text``.

    Args:
        text: the failure's message (e.g. a ``ConnectionFailed``'s).
        tls: the mode that was tried: ``implicit``, ``starttls`` or ``plain``.
    """
    if "Hostname mismatch" in text or "IP address mismatch" in text:
        return ConnectProblem.WRONG_HOST_NAME
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return ConnectProblem.UNTRUSTED_CERTIFICATE
    # OpenSSL's words for a TLS client that got plain text back (an IMAP greeting).
    if tls == "implicit" and any(
        marker in text
        for marker in ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure",
                       "unknown protocol", "packet length too long")
    ):  # fmt: skip
        return ConnectProblem.NOT_TLS
    # A client waiting for a greeting that an implicit-TLS port never sends in clear.
    if tls != "implicit" and ("ImapTimeout" in text or "timed out" in text or "took over" in text):
        return ConnectProblem.NO_GREETING
    return None


def advice(problem: ConnectProblem, *, host: str, port: int, tls: str, cli: bool) -> str:
    """What to try for ``problem``: wire-protocol terms, or ``accounts add`` flags with ``cli``."""
    starttls = "--starttls" if cli else '"starttls": true'
    plain = "--plain" if cli else '"ssl": false'
    if problem is ConnectProblem.UNTRUSTED_CERTIFICATE:
        return (
            f"the certificate of {host} is not trusted. If it is self-signed or from a private "
            "CA, start the server with --imap-ca-file FILE (SWITCHBOARD_IMAP_CA_FILE) naming "
            "that CA's certificate"
        )
    if problem is ConnectProblem.WRONG_HOST_NAME:
        return f"the certificate is not for {host!r}: connect with the host name it names"
    if problem is ConnectProblem.NOT_TLS:
        return (
            f"port {port} answered in plain text, so it is not an implicit-TLS (IMAPS) port. "
            f"Use {starttls} (usually port 143), {plain} (loopback or allowed hosts only), or "
            "the IMAPS port (usually 993)"
        )
    mode = starttls if tls == "starttls" else plain
    return (
        f"port {port} sent no IMAP greeting in clear: if it is an implicit-TLS (IMAPS) port "
        f"(usually 993), connect without {mode}"
    )


def without_advice(text: str) -> str:
    """``text`` without the advice the server appended to it."""
    return text.partition(ADVICE_MARK)[0]
