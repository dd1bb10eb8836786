"""Smoke tests of the benchmarks in bench/: each runs end to end at a tiny size.

Correctness only: the figures are not asserted (they belong in docs/benchmarks.md), but every
benchmark must start its processes, drive the real server, see every event it caused, and print
its comparison line last.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 60.0


def run_bench(script: str, *args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.strip().splitlines()


def test_capacity_connects_idles_reconnects_and_delivers_every_injected_message() -> None:
    lines = run_bench("capacity.py", "--accounts", "5", "--idle-seconds", "1",
                      "--command-idle-close-s", "0.5", "--probe-quiet-s", "0.2",
                      "--timeout-s", "30")
    assert any("inject 1 per mailbox    5/5 events" in line for line in lines), lines
    # The fake server answers the liveness probe (DONE, IDLE) and the traffic is measured.
    probes = next(line for line in lines if "idle liveness probes" in line)
    assert float(probes.split()[3]) > 0, probes
    assert lines[-1].startswith("capacity N=5: "), lines


def test_imap_memory_measures_every_stack_against_the_fake_server() -> None:
    lines = run_bench("imap_memory.py", "--connections", "5")
    assert "server: bench/fake_imap.py" in lines[0], lines
    for stack in ("asyncio+16KiB", "uvloop", "asyncio+256KiB"):
        assert any(re.match(rf"{re.escape(stack)}\s+-?\d+\.\d", line) for line in lines), lines
    assert lines[-1].startswith("ratio peer/ours: asyncio+256KiB / asyncio+16KiB = "), lines


def test_latency_against_pymap_pairs_every_append_with_both_observers() -> None:
    import pymap  # noqa: F401 - the test extra installs it; a missing one must fail, not skip
    lines = run_bench("latency.py", "--servers", "pymap", "--samples", "3", "--timeout-s", "10")
    for pattern in ("isolated", "spaced", "burst"):
        assert any(re.match(rf"pymap\s+{pattern}\s+n=3 ", line) for line in lines), lines
    assert lines[-1].startswith("ours vs floor p50: pymap/isolated"), lines
    for kind in ("newMessage", "EventSource", "RFC 8887"):  # JMAP push beside newMessage
        assert any(re.match(rf"\s+pymap/isolated JMAP {kind}\s+p50 .* \(n=3\)$", line)
                   for line in lines), lines


@pytest.mark.dovecot
def test_latency_against_dovecot_pairs_every_append_with_both_observers() -> None:
    if not (shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/sbin")):
        pytest.fail("dovecot is not installed: run ./scripts/test, which installs dovecot-imapd")
    lines = run_bench("latency.py", "--servers", "dovecot", "--samples", "2",
                      "--patterns", "isolated,burst", "--timeout-s", "10")
    assert any(re.match(r"dovecot\s+burst\s+n=2 ", line) for line in lines), lines
    assert lines[-1].startswith("ours vs floor p50: dovecot/isolated"), lines


def test_parser_benchmark_compares_both_parsers_on_every_kind() -> None:
    lines = run_bench("parser.py", "--count", "20", "--rounds", "1")
    for kind in ("fetch-envelope", "fetch-bodystructure-multipart", "fetch-body-1m",
                 "search-10000", "tagged-codes"):
        assert any(line.split()[:1] == [kind] for line in lines), lines
    assert lines[-1].startswith("FETCH responses, ours vs previous parser: "), lines


def test_fanout_counts_every_event_at_every_worker_and_the_floor() -> None:
    lines = run_bench("fanout.py", "--workers", "1,3", "--events", "20", "--accounts", "2")
    for who in ("ours ", "floor"):
        for w in (1, 3):
            assert any(line.strip().startswith(f"{who} W={w} ") and "20 events" in line
                       for line in lines), lines
    assert lines[-1].startswith("fanout deliveries/s ours vs websockets-only floor: W=1:"), lines


def test_fetch_returns_the_same_bytes_as_imaplib() -> None:
    # fetch.py exits 1 on a MISMATCH: getMessages and both downloads gave imaplib's bytes.
    lines = run_bench("fetch.py", "--messages", "20", "--message-bytes", "2000", "--rounds", "1",
                      "--download-rounds", "1", "--large-message-bytes", "3000000")
    assert "20 messages" in lines[0], lines
    assert lines[-3].startswith("raw download throughput vs imaplib, 20 x 2 KB, 8 at a time: ")
    assert lines[-2].startswith("raw download throughput vs imaplib, 1 x 3 MB: "), lines
    assert lines[-1].startswith("getMessages raw throughput vs imaplib: "), lines


def test_client_counts_every_push_through_both_shells_and_the_floor() -> None:
    lines = run_bench("client.py", "--events", "50", "--rounds", "1")
    assert lines[0].startswith("client: 50 pushes per round"), lines
    assert lines[-1].startswith("client vs raw websockets floor ("), lines
    for consumer in ("aio:", "aio group:", "threaded:"):
        assert consumer in lines[-1], lines
