"""Tests for server.hints: recognising the usual TLS mistakes and what to try for each."""

from __future__ import annotations

import pytest

from switchboard.server.hints import ADVICE_MARK, ConnectProblem, advice, diagnose, without_advice

WRONG_VERSION = (
    "cannot reach imap.example.com:143: ConnectionLost: TLS with imap.example.com failed: "
    "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"
)
UNTRUSTED = (
    "cannot reach h:993: ConnectionLost: TLS with h failed: [SSL: CERTIFICATE_VERIFY_FAILED] "
    "certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)"
)
MISMATCH = (
    "TLS failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, "
    "certificate is not valid for 'h'. (_ssl.c:1006)"
)
TIMEOUT = "cannot reach h:993: ImapTimeout: opening h:993 took over 15.0 s"


@pytest.mark.parametrize(("text", "tls", "problem"), [
    (WRONG_VERSION, "implicit", ConnectProblem.NOT_TLS),
    (UNTRUSTED, "implicit", ConnectProblem.UNTRUSTED_CERTIFICATE),
    (UNTRUSTED, "starttls", ConnectProblem.UNTRUSTED_CERTIFICATE),
    (MISMATCH, "implicit", ConnectProblem.WRONG_HOST_NAME),
    (TIMEOUT, "starttls", ConnectProblem.NO_GREETING),
    (TIMEOUT, "plain", ConnectProblem.NO_GREETING),
    (TIMEOUT, "implicit", None),  # a plain timeout: nothing TLS-specific to say
    ("cannot reach h:993: connection refused", "implicit", None),
])  # fmt: skip
def test_diagnose(text: str, tls: str, problem: ConnectProblem | None) -> None:
    assert diagnose(text, tls) is problem


def test_advice_speaks_flags_to_the_cli_and_arguments_on_the_wire() -> None:
    cli = advice(ConnectProblem.NOT_TLS, host="h", port=143, tls="implicit", cli=True)
    wire = advice(ConnectProblem.NOT_TLS, host="h", port=143, tls="implicit", cli=False)
    assert "--starttls" in cli and "--plain" in cli and "993" in cli
    assert '"starttls": true' in wire and '"ssl": false' in wire and "--starttls" not in wire
    untrusted = advice(ConnectProblem.UNTRUSTED_CERTIFICATE, host="h", port=993, tls="implicit",
                       cli=False)  # fmt: skip
    assert "--imap-ca-file" in untrusted  # a server setting, the same advice for both
    assert "without --plain" in advice(
        ConnectProblem.NO_GREETING, host="h", port=993, tls="plain", cli=True
    )


def test_without_advice_keeps_the_reason() -> None:
    assert without_advice(f"{WRONG_VERSION}.{ADVICE_MARK}use STARTTLS") == WRONG_VERSION + "."
    assert without_advice(TIMEOUT) == TIMEOUT
