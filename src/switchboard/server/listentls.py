"""TLS for the listener: the server's certificate and key, with a one-line error for each mistake.

``serve --tls-cert FILE --tls-key FILE`` makes the one port speak TLS, so ``wss://`` and
``https://`` share it (docs/jmap.md, "TLS"). The files are checked one by one before anything
else starts, so a mistake stops the server with a sentence that names the setting and the file:
missing, unreadable, not PEM, an encrypted key, or a key that is not the certificate's.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from switchboard.server.config import ConfigError

__all__ = ["server_ssl_context"]


def _read(path: Path, setting: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{setting}: no such file {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{setting}: {path} is a directory, not a PEM file") from None
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror or exc}") from None


def server_ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS server context (TLS 1.2 or later) for the certificate chain ``cert`` and ``key``.

    Args:
        cert: PEM file with the server certificate, then any intermediate certificates.
        key: PEM file with the certificate's private key, unencrypted.

    Raises:
        ConfigError: a file is missing or unreadable, holds no PEM certificate or key, the key
            is encrypted, or the key does not belong to the certificate.
    """
    cert_pem, key_pem = _read(cert, "tls_cert"), _read(key, "tls_key")
    try:
        x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise ConfigError(f"tls_cert: {cert} holds no PEM certificate") from None
    try:
        serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise ConfigError(
            f"tls_key: {key} is encrypted; give the key without a passphrase"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"tls_key: {key} holds no PEM private key") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            raise ConfigError(
                f"tls_key: {key} is not the private key of the certificate in {cert}"
            ) from None
        raise ConfigError(f"tls_cert/tls_key: {cert}, {key}: {exc.reason or exc}") from None
    return context
