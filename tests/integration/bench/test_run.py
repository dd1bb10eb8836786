"""Smoke test of ``bench/run.py``: every benchmark at the tiny size, collected into one table.

Correctness only, no timing: each benchmark runs and hands over its figures as JSON, and the
table has one well-formed line per figure (ours, the floor of the same run, the comparison,
the target and whether it is met).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.postgres import check_reachable

ROOT = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 240.0
ALWAYS = ["latency", "fanout", "fetch", "capacity", "imap_memory"]
ROW_KEYS = {"name", "ours", "unit", "floor", "floor_name", "vs", "vs_unit", "target", "met"}


def run(tmp_path: Path, *args: str) -> tuple[list[str], dict[str, Any]]:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--size", "tiny", "--out",
         str(tmp_path / "out"), "--json", str(out), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )
    assert proc.returncode == 0, f"run.py failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.strip().splitlines(), json.loads(out.read_text())


def finite_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and math.isfinite(value))


def check_table(lines: list[str], results: dict[str, Any]) -> int:
    """Every benchmark's rows well formed and printed as one table line each; their number."""
    header = lines.index("| benchmark | figure | ours | floor or peer, same run | vs floor | "
                         "target | |")
    table = [line for line in lines[header + 2:] if line.startswith("| ")]
    printed = 0
    for benchmark in results["benchmarks"]:
        assert benchmark["error"] is None, benchmark
        document = benchmark["document"]
        if document is None:  # bench/parser.py not written yet: named as skipped
            assert "not present" in benchmark["note"], benchmark
            continue
        assert document["rows"], benchmark
        for row in document["rows"]:
            assert set(row) == ROW_KEYS, row
            assert all(finite_or_none(row[k]) for k in ("ours", "floor", "vs")), row
            assert row["met"] in (True, False, None) and row["vs_unit"] in ("x", "ms"), row
            assert row["met"] is None or row["target"], row
            line = table[printed]
            assert line.startswith(f"| {benchmark['name']} | {row['name']} | "), (line, row)
            assert line.count(" | ") == 6, line
            assert line.endswith(("| met |", "| **missed** |", "|  |")), line
            printed += 1
    skipped = sum(1 for benchmark in results["benchmarks"] if benchmark["document"] is None)
    assert len(table) == printed + skipped, table
    return printed


@pytest.mark.timeout(RUN_TIMEOUT_S + 10)
def test_every_benchmark_runs_and_lands_in_one_table(tmp_path: Path) -> None:
    import pymap  # noqa: F401 - the latency benchmark's IMAP server; missing must fail, not skip

    lines, results = run(tmp_path)
    assert [b["name"] for b in results["benchmarks"]] == [*ALWAYS, "parser"]
    assert lines[0].startswith("bench/run.py --size tiny: "), lines
    assert lines[2].startswith("imaplib baseline on this machine: UID FETCH of 20 messages"), lines
    assert check_table(lines, results) >= 2 * 3 + 2 + 1 + 5 + 2  # latency, fan-out, fetch, ...
    assert (tmp_path / "out" / "fetch.out").read_text().startswith("fetch: 20 messages")


@pytest.mark.timeout(RUN_TIMEOUT_S + 10)
def test_the_cluster_benchmark_lands_in_the_table_against_one_node(tmp_path: Path) -> None:
    check_reachable()
    lines, results = run(tmp_path, "--only", "cluster")
    assert [b["name"] for b in results["benchmarks"]] == ["cluster"]
    assert check_table(lines, results) == 3
    assert any("one node, capacity.py in this run, N=6" in line for line in lines), lines
