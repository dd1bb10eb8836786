"""Encryption of credentials at rest: a Fernet box and the loading or creation of its key.

The key comes from the caller-supplied ``SWITCHBOARD_SECRET_KEY`` value when there is one,
otherwise from ``<data dir>/secret.key``, created on first use with mode 0600. This module never
reads the environment itself: the caller passes the value in (docs/architecture.md, "Conventions":
no configuration is read deep inside a module).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from switchboard.store.errors import CorruptCredentials, InvalidSecretKey

__all__ = ["KEY_FILE_NAME", "SecretBox", "load_or_create_key"]

KEY_FILE_NAME = "secret.key"
"""The key file's name inside the data directory."""

# A Fernet key is 44 bytes of url-safe base64; anything much longer is not a key file.
_MAX_KEY_FILE_BYTES = 1024


class SecretBox:
    """Seals and opens small secrets with Fernet (AES-128-CBC + HMAC-SHA256, authenticated).

    Args:
        key: a Fernet key (32 random bytes, url-safe base64 encoded, 44 bytes).

    Raises:
        InvalidSecretKey: ``key`` is not a Fernet key.
    """

    __slots__ = ("_fernet",)

    def __init__(self, key: bytes) -> None:
        self._fernet = _fernet_or_raise(key, where="the secret key")

    @classmethod
    def generate(cls) -> SecretBox:
        """Return a box with a fresh random key (for tests and throwaway in-memory stores)."""
        return cls(Fernet.generate_key())

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext``; the result is ASCII (a Fernet token)."""
        return self._fernet.encrypt(plaintext)

    def open(self, token: bytes) -> bytes:
        """Decrypt a token made by :meth:`seal` with the same key.

        Raises:
            CorruptCredentials: the token was sealed with another key or was altered.
        """
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise CorruptCredentials() from None


def load_or_create_key(data_dir: Path, env_value: str | None) -> bytes:
    """Return the secret key: ``env_value`` when given, else the key file in ``data_dir``.

    When ``env_value`` is ``None`` or empty, ``data_dir/secret.key`` is read, or created (with
    ``data_dir``) if missing. Creation is atomic: the key is written to a private temporary file
    and hard-linked into place, so two processes starting at once agree on one key and no reader
    ever sees a half-written file.

    Args:
        data_dir: the directory holding Switchboard's state.
        env_value: the value of ``SWITCHBOARD_SECRET_KEY`` as the caller read it, or ``None``.

    Raises:
        InvalidSecretKey: ``env_value`` or the key file does not hold a Fernet key, or the key
            file can be read by group or others (POSIX): loosen nothing, fix the mode (0600).
        OSError: the data directory or key file cannot be created or read.
    """
    if env_value:
        key = env_value.strip().encode("ascii", errors="replace")
        _fernet_or_raise(key, where="SWITCHBOARD_SECRET_KEY")
        return key
    path = data_dir / KEY_FILE_NAME
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    _create_key_file(path)
    # Read back rather than trust our own write: another process may have won the race.
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    with path.open("rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise InvalidSecretKey(
                f"refusing to use {path}: it is accessible by group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run chmod 600 on it"
            )
        key = f.read(_MAX_KEY_FILE_BYTES + 1).strip()
    if len(key) > _MAX_KEY_FILE_BYTES:
        raise InvalidSecretKey(f"{path} is too large to be a secret key file")
    _fernet_or_raise(key, where=str(path))
    return key


def _create_key_file(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # O_EXCL + mode 0600 at creation: the key is never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        # link() fails if the key file appeared meanwhile: the first writer's key wins.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _fernet_or_raise(key: bytes, *, where: str) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        # Deliberately no part of the key in the message.
        raise InvalidSecretKey(
            f"{where} is not a valid secret key (expected 32 bytes, url-safe base64 encoded, "
            "as made by `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`)"
        ) from None
