"""switchboard.imap.tls: the shared context cache and the small-buffer TLS upgrade."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from switchboard.imap.tls import (
    SMALL_SSL_BUFFER_BYTES,
    default_ssl_context,
    small_buffer_supported,
    start_tls,
)


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem doubles as the CA file)."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_same_settings_share_one_context(cert_files: tuple[Path, Path]) -> None:
    cert, _ = cert_files
    assert default_ssl_context() is default_ssl_context()
    assert default_ssl_context(cert) is default_ssl_context(str(cert))
    assert default_ssl_context(cert) is not default_ssl_context()


def test_contexts_verify_by_default(cert_files: tuple[Path, Path]) -> None:
    context = default_ssl_context(cert_files[0])
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_verify_false_is_a_separate_context() -> None:
    unverified = default_ssl_context(verify=False)
    assert unverified is not default_ssl_context()
    assert unverified.verify_mode is ssl.CERT_NONE
    assert default_ssl_context().verify_mode is ssl.CERT_REQUIRED  # the shared one untouched


def test_missing_ca_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        default_ssl_context(tmp_path / "absent.pem")


async def _tls_echo_server(cert_files: tuple[Path, Path]) -> tuple[asyncio.Server, int]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(*cert_files)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_context)
    return server, server.sockets[0].getsockname()[1]


class _Collect(asyncio.Protocol):
    def __init__(self) -> None:
        self.received = bytearray()
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def test_start_tls_uses_a_small_read_buffer(cert_files: tuple[Path, Path]) -> None:
    assert small_buffer_supported()
    server, port = await _tls_echo_server(cert_files)
    async with server:
        loop = asyncio.get_running_loop()
        protocol = _Collect()
        raw, _ = await loop.create_connection(lambda: protocol, "127.0.0.1", port)
        transport = await start_tls(
            raw, protocol, default_ssl_context(cert_files[0]), "127.0.0.1",
            handshake_timeout_s=5,
        )
        assert transport.get_extra_info("ssl_object") is not None
        # The per-connection buffer asyncio's TLS protocol allocates: 16 KiB, not 256 KiB.
        ssl_protocol = transport._ssl_protocol  # type: ignore[attr-defined]
        assert len(ssl_protocol._ssl_buffer) == SMALL_SSL_BUFFER_BYTES
        transport.write(b"ping\r\n")
        await asyncio.wait_for(protocol.closed, 5)
        assert bytes(protocol.received) == b"ping\r\n"
        assert asyncio.sslproto.SSLProtocol.max_size == 256 * 1024  # nobody else is affected


async def test_start_tls_rejects_an_untrusted_certificate(cert_files: tuple[Path, Path]) -> None:
    server, port = await _tls_echo_server(cert_files)
    async with server:
        loop = asyncio.get_running_loop()
        protocol = _Collect()
        raw, _ = await loop.create_connection(lambda: protocol, "127.0.0.1", port)
        with pytest.raises(ssl.SSLCertVerificationError):
            await start_tls(
                raw, protocol, default_ssl_context(), "127.0.0.1", handshake_timeout_s=5
            )
