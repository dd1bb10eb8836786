"""SecretBox and the secret key's loading and creation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from switchboard.store import KEY_FILE_NAME, CorruptCredentials, InvalidSecretKey, SecretBox
from switchboard.store.crypto import load_or_create_key

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def test_seal_and_open() -> None:
    box = SecretBox.generate()
    token = box.seal(b"hunter2")
    assert b"hunter2" not in token
    assert box.open(token) == b"hunter2"
    assert box.seal(b"hunter2") != token  # a fresh IV each time


def test_open_with_another_key_or_altered_token() -> None:
    token = SecretBox.generate().seal(b"hunter2")
    with pytest.raises(CorruptCredentials, match="the secret key does not match"):
        SecretBox.generate().open(token)
    box = SecretBox(Fernet.generate_key())
    altered = bytearray(box.seal(b"x"))
    altered[-5] ^= 1
    with pytest.raises(CorruptCredentials):
        box.open(bytes(altered))


def test_invalid_key_for_box() -> None:
    with pytest.raises(InvalidSecretKey):
        SecretBox(b"not-a-key")


@posix_only
def test_key_file_created_0600_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "nested"
    key = load_or_create_key(data_dir, None)
    path = data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().strip() == key
    SecretBox(key)  # a usable key
    assert load_or_create_key(data_dir, None) == key
    assert load_or_create_key(data_dir, "") == key  # empty env value counts as unset
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE_NAME]  # no temp file left


def test_env_key_is_used_and_no_file_created(tmp_path: Path) -> None:
    env = Fernet.generate_key().decode()
    assert load_or_create_key(tmp_path, env + "\n") == env.encode()
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_invalid_env_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(InvalidSecretKey, match="SWITCHBOARD_SECRET_KEY") as info:
        load_or_create_key(tmp_path, "my-password-123")
    assert "my-password-123" not in str(info.value)
    assert not (tmp_path / KEY_FILE_NAME).exists()


@posix_only
def test_group_readable_key_file_is_refused(tmp_path: Path) -> None:
    load_or_create_key(tmp_path, None)
    (tmp_path / KEY_FILE_NAME).chmod(0o640)
    with pytest.raises(InvalidSecretKey, match="chmod 600"):
        load_or_create_key(tmp_path, None)


@posix_only
def test_garbage_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_bytes(b"garbage")
    path.chmod(0o600)
    with pytest.raises(InvalidSecretKey):
        load_or_create_key(tmp_path, None)
    path.write_bytes(b"x" * 5000)
    with pytest.raises(InvalidSecretKey, match="too large"):
        load_or_create_key(tmp_path, None)
