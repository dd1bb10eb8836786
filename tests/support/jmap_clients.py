"""The third-party JMAP clients the tests drive, made ready by the project's own script.

``scripts/lib.sh``'s ``ensure_jmap_clients`` is the one place that makes jmapc's virtualenv and
jmap-jam's ``node_modules`` (each remade only when its pinned requirements changed);
``./scripts/test`` runs it, and a test run straight from pytest runs it here, once.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

__all__ = ["CLIENTS", "ROOT", "ensure_jmap_clients"]

ROOT = Path(__file__).parents[2]
CLIENTS = ROOT / "tests" / "jmap_clients"


@functools.cache
def ensure_jmap_clients() -> Path:
    """Make both clients ready; returns their directory.

    Raises:
        subprocess.CalledProcessError: pip or npm failed (their output is on stderr).
    """
    subprocess.run(
        ["bash", "-c", ". scripts/lib.sh && ensure_jmap_clients"],
        cwd=ROOT, check=True, timeout=900,
    )  # fmt: skip
    return CLIENTS
