"""Tests for server.listentls: a usable context; one line naming the setting for each mistake."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from switchboard.server.config import ConfigError
from switchboard.server.listentls import server_ssl_context


def write_pair(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return cert_path, key_path


def test_a_matching_pair_gives_a_tls_server_context(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, "a")
    context = server_ssl_context(cert, key)
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_each_mistake_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, "a")
    other_cert, other_key = write_pair(tmp_path, "b")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a pem file\n")
    encrypted = tmp_path / "encrypted.key"
    loaded = serialization.load_pem_private_key(key.read_bytes(), password=None)
    encrypted.write_bytes(loaded.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ))
    cases = [
        ((tmp_path / "missing.crt", key), "tls_cert: no such file"),
        ((cert, tmp_path / "missing.key"), "tls_key: no such file"),
        ((tmp_path, key), "is a directory"),
        ((garbage, key), "tls_cert: " + str(garbage) + " holds no PEM certificate"),
        ((cert, garbage), "holds no PEM private key"),
        ((cert, encrypted), "is encrypted"),
        ((cert, other_key), "is not the private key of the certificate"),
    ]
    for (cert_path, key_path), expected in cases:
        with pytest.raises(ConfigError) as refused:
            server_ssl_context(cert_path, key_path)
        assert expected in str(refused.value)
        assert "\n" not in str(refused.value)
    assert server_ssl_context(other_cert, other_key) is not None
