"""`switchboard serve` as a user runs it: a real process, real sockets, real signals."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import switchboard
from switchboard.server.config import ServerSettings

SWITCHBOARD = [sys.executable, "-m", "switchboard.cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SWITCHBOARD, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"switchboard {switchboard.__version__}"


def test_refuses_public_address_without_tokens(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = run("serve", "--host", "0.0.0.0", "--data-dir", str(data_dir))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one clear line, no traceback
    assert lines[0].startswith("switchboard: error: refusing to listen on '0.0.0.0'")
    assert not data_dir.exists()  # a refused start creates no data dir and no key


def test_a_port_in_use_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = run("serve", "--port", str(port), "--data-dir", str(data_dir))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"switchboard: error: cannot listen on 127.0.0.1:{port}: address already in use"
    ]
    assert result.stdout == ""
    assert not data_dir.exists()


def test_an_address_not_on_this_machine_is_one_line(tmp_path: Path) -> None:
    # TEST-NET-1 (RFC 5737): never assigned to a local interface.
    result = run("serve", "--host", "192.0.2.1", "--token", "t", "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "switchboard: error: cannot listen on 192.0.2.1:8080: cannot assign requested address"
    ]
    assert not (tmp_path / "d").exists()


def test_every_setting_but_the_secret_ones_is_a_flag() -> None:
    result = run("serve", "--help")
    assert result.returncode == 0
    for field in dataclasses.fields(ServerSettings):
        if field.name in ("secret_key", "oauth_providers"):
            assert f"--{field.name.replace('_', '-')}" not in result.stdout
            continue
        flag = {"tokens": "--token", "store_url": "--store"}.get(
            field.name, "--" + field.name.replace("_", "-")
        )
        assert f"  {flag} " in result.stdout or f"  {flag}," in result.stdout, flag


def test_a_bad_flag_value_gets_the_settings_message(tmp_path: Path) -> None:
    result = run("serve", "--max-batch", "many", "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "switchboard: error: setting max_batch: expected a whole number, not 'many'"
    ]


def test_bad_setting_from_environment(tmp_path: Path) -> None:
    env = dict(os.environ, SWITCHBOARD_PORT="eighty")
    result = run("serve", "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "switchboard: error: setting port: expected a whole number, not 'eighty'"
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    env = dict(os.environ, SWITCHBOARD_TOKENS="sekrit-token")
    proc = subprocess.Popen(
        [*SWITCHBOARD, "serve", "--port", "0", "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"ws://127\.0\.0\.1:(\d+)/workers", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        yield proc, int(match.group(1))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_serve_requires_token_and_stops_cleanly(
    served: tuple[subprocess.Popen[str], int], tmp_path: Path
) -> None:
    proc, port = served
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{port}/workers", open_timeout=10)
    assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{port}/workers?token=wrong", open_timeout=10)
    # old clients carry the token in the URL; new ones in the Authorization header
    with connect(f"ws://127.0.0.1:{port}/workers?token=sekrit-token", open_timeout=10) as ws:
        ws.send("[]")
        assert ws.recv(timeout=10) == "[]"
    headers = {"Authorization": "Bearer sekrit-token"}
    with connect(
        f"ws://127.0.0.1:{port}/clients", additional_headers=headers, open_timeout=10
    ) as ws:
        ws.send('[["getMailboxes",{},1]]')
        assert '"notConnected"' in str(ws.recv(timeout=10))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert proc.stderr is not None
    log = proc.stderr.read()
    assert "Traceback" not in log
    assert "sekrit-token" not in log
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("order", ["before", "after"])
def test_tokens_take_data_dir_before_or_after_the_action(tmp_path: Path, order: str) -> None:
    data_dir = str(tmp_path / "data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    if order == "before":
        created = run("tokens", "--data-dir", data_dir, "create", "--scope", "worker",
                      "--name", "ci", env=env)  # fmt: skip
    else:
        created = run("tokens", "create", "--scope", "worker", "--name", "ci",
                      "--data-dir", data_dir, env=env)  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith("sbt_")
    listed = run("tokens", "list", "--data-dir", data_dir, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "\tci\tworker\t" in listed.stdout


def _pair(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


def test_serve_with_tls_speaks_wss_and_https_on_one_port(tmp_path: Path) -> None:
    import ssl
    import urllib.request

    cert, key = _pair(tmp_path, "server")
    proc = subprocess.Popen(
        [*SWITCHBOARD, "serve", "--port", "0", "--data-dir", str(tmp_path / "data"),
         "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"wss://127\.0\.0\.1:(\d+)/workers", line)
        assert match and "https://127.0.0.1:" in line, line
        port = int(match.group(1))
        context = ssl.create_default_context(cafile=str(cert))
        with connect(f"wss://127.0.0.1:{port}/workers", ssl=context, open_timeout=10) as ws:
            ws.send("[]")
            assert ws.recv(timeout=10) == "[]"
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}/health", context=context, timeout=10
        ) as response:
            assert response.status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_a_tls_mistake_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    cert, _ = _pair(tmp_path, "one")
    _, other_key = _pair(tmp_path, "two")
    data_dir = tmp_path / "data"
    cases = [
        (["--tls-cert", str(cert)], "tls_cert and tls_key go together"),
        (["--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(other_key)],
         "tls_cert: no such file"),
        (["--tls-cert", str(cert), "--tls-key", str(other_key)],
         "is not the private key of the certificate"),
    ]  # fmt: skip
    for args, expected in cases:
        result = run("serve", "--port", "0", "--data-dir", str(data_dir), *args)
        assert result.returncode == 1, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.stderr
        assert not data_dir.exists()
