"""Hide secrets in echoed command arguments before they go back on the wire or into a log.

The original echoed a ``connect`` command's password in its ``alreadyConnected`` error; this
server replaces every secret with ``"***"`` (docs/protocol.md, "Errors"). The rule is by key
name, anywhere in the tree, so new argument shapes are covered without touching this module.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["REDACTED", "is_secret_key", "redact_arguments"]

REDACTED: Final = "***"

# Compared after lower-casing and dropping "_" and "-", so "refresh_token", "refreshToken" and
# "Refresh-Token" are one name.
_SECRET_WORDS: Final = ("password", "passwd", "secret")
_SECRET_SUFFIXES: Final = ("token",)


def is_secret_key(key: str) -> bool:
    """Tell whether an object key names a secret (password, secret, ``…token``).

    ``token_type`` and ``tokens`` are not secrets: only names that *end* in ``token`` count.
    """
    folded = key.lower().replace("_", "").replace("-", "")
    return any(word in folded for word in _SECRET_WORDS) or folded.endswith(_SECRET_SUFFIXES)


def redact_arguments(args: Any) -> Any:
    """Return a copy of ``args`` with every secret value replaced by ``"***"``.

    A value under a secret key is replaced when it is a scalar (string, number, boolean); when it
    is an object or an array the walk goes on inside it, so ``auth.token``, which is an object
    ``{"type": "access", "token": …}``, keeps its ``type`` and loses only its inner ``token``.
    ``null`` stays ``null`` (it hides nothing). The input is never modified; anything that is
    not a dict or list is returned as is.

    The walk recurses; that is safe on anything :func:`~switchboard.protocol.frames.decode_frame`
    returns, whose nesting it bounds (``max_depth``).
    """
    if isinstance(args, dict):
        out: dict[Any, Any] = {}
        for key, value in args.items():
            if isinstance(key, str) and is_secret_key(key) and _is_scalar(value):
                out[key] = REDACTED
            else:
                out[key] = redact_arguments(value)
        return out
    if isinstance(args, list):
        return [redact_arguments(item) for item in args]
    return args


def _is_scalar(value: Any) -> bool:
    return value is not None and not isinstance(value, dict | list)
