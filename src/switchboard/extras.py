"""Which optional extra installs which module, and the one-line error when one is missing.

``pip install .`` (no extras) gives the server on SQLite, the ``accounts``, ``watch`` and
``tokens`` commands and the client library. Everything that needs a third-party package beyond
that is an extra of ``pyproject.toml``, and its module is imported only where the feature runs.
Code that is about to use such a feature calls :func:`require` first, so that a missing package
is one line naming the extra to install instead of a ``ModuleNotFoundError`` traceback.

The package on the public index under our distribution name is the 2014 client (0.1.3), so the
hint installs the extra into the environment that already holds this server (pip then keeps the
installed version and adds only the extra's packages), or from a checkout.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from switchboard.errors import SwitchboardError

__all__ = ["EXTRA_OF", "MissingExtraError", "install_hint", "is_installed", "require"]

DISTRIBUTION: Final = "switchboard-python"
"""Our distribution name (``pyproject.toml``'s ``[project] name``)."""

EXTRA_OF: Final[Mapping[str, str]] = MappingProxyType(
    {
        "asyncpg": "postgres",  # several nodes on one PostgreSQL (--store postgresql://…)
        "pymap": "demo",  # the demo's embedded IMAP server
        "uvloop": "fast",  # the faster event loop, used whenever it is installed
        "aioapns": "workers",  # the APNs worker
        "twilio": "workers",  # the Twilio SMS worker
        "httpx": "workers",  # the webhook worker
        "aiosmtplib": "workers",  # the SMTP relay worker
    }
)
"""Top-level module -> the extra of ``pyproject.toml`` that installs it (its distribution has the
module's name)."""


class MissingExtraError(SwitchboardError):
    """A feature was asked for whose optional dependency is not installed.

    Attributes:
        module: the missing top-level module, e.g. ``"asyncpg"``.
        extra: the extra that installs it, e.g. ``"postgres"``.
    """

    def __init__(self, module: str, feature: str) -> None:
        self.module = module
        self.extra = EXTRA_OF[module]
        super().__init__(f"{feature} needs {module}: {install_hint(self.extra)}")


def install_hint(extra: str) -> str:
    """The command that adds ``extra`` to an installed Switchboard, and its form in a checkout."""
    return (
        f"pip install '{DISTRIBUTION}[{extra}]' into this environment "
        f"(from a checkout: pip install '.[{extra}]')"
    )


def is_installed(module: str) -> bool:
    """Whether the top-level ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken install, or a module without a spec
        return False


def require(module: str, feature: str) -> None:
    """Refuse ``feature`` in one line when its optional ``module`` is not installed.

    Args:
        module: a key of :data:`EXTRA_OF`.
        feature: what the user asked for, as they would recognise it (it starts the message):
            ``"the PostgreSQL store (--store postgresql://…)"``. Never a value that may hold a
            secret, such as the store URL itself.

    Raises:
        MissingExtraError: the module is not installed; the message names the extra.
        KeyError: ``module`` is not in :data:`EXTRA_OF` (a programming error).
    """
    if module not in EXTRA_OF:
        raise KeyError(f"{module!r} is not an optional dependency of Switchboard")
    if not is_installed(module):
        raise MissingExtraError(module, feature)
