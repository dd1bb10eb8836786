"""Smoke test of ``bench/cluster.py``: two cluster nodes, fake IMAP and PostgreSQL, at a tiny size.

Correctness only (the figures belong in docs/scaling.md): the benchmark must start its
processes, spread the accounts over both nodes, survive the kill -9 of node 2 with node 1
holding every account, deliver every injected message to the worker on node 1, and print its
comparison line last.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import check_reachable

ROOT = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 90.0
ACCOUNTS = 6


@pytest.mark.timeout(RUN_TIMEOUT_S + 10)
def test_cluster_bench_spreads_survives_kill9_and_delivers_every_injected_message() -> None:
    check_reachable()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "cluster.py"), "--accounts", str(ACCOUNTS),
         "--lease-ttl-s", "2", "--timeout-s", "40"],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )
    assert proc.returncode == 0, f"cluster.py failed:\n{proc.stdout}\n{proc.stderr}"
    lines = proc.stdout.strip().splitlines()
    assert any(re.search(r"spread 3/3, all idle", line) for line in lines), lines
    assert any(f"kill -9 n2 -> n1 holds+idles all {ACCOUNTS}" in line for line in lines), lines
    assert any(f"inject 1 per mailbox   {ACCOUNTS}/{ACCOUNTS} events ({ACCOUNTS} pushes)" in line
               for line in lines), lines
    assert lines[-1].startswith(f"cluster N={ACCOUNTS} vs single node "), lines
