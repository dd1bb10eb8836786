"""Every benchmark at one size, then one table: ours against the floor of the same run, and targets.

Usage::

    .venv/bin/python bench/run.py --size small              # ~10 minutes on 2 cores
    .venv/bin/python bench/run.py --size full --cluster     # the figures of docs/benchmarks.md
    .venv/bin/python bench/run.py --size medium --only latency,fetch

Runs, one after the other so that they do not share the CPU: ``latency.py`` (floor: the IMAP
server's own push — pymap's, seen by a raw IDLE client, and Dovecot's, seen by a client that
re-IDLEs), ``fanout.py`` (floor: ``websockets`` broadcasting alone), ``fetch.py`` (floor: stdlib
``imaplib``), ``capacity.py`` and ``imap_memory.py`` (targets; peer: asyncio's default TLS
buffer), ``parser.py`` when present (peer: the previous parser) and, with ``--cluster`` (needs
PostgreSQL on 127.0.0.1:5432), ``cluster.py`` (peer: one node, run at the same size). Each writes
its figures as JSON (``--json``); this script prints them as one Markdown table, with the
machine's own ``imaplib`` fetch time so that figures from different machines can be scaled, and
the load average before and after (the machine may be shared).

The output of each benchmark (its prose, its JSON) is kept under ``--out`` (default: a new
directory in the system's temporary directory, named on stderr). Exit status 1 when a benchmark
failed to run; a missed target is a figure, not a failure.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import BENCH, machine

SIZES = ("tiny", "small", "medium", "full")

# Per benchmark and size: its arguments. tiny is the CI smoke test's; full is docs/benchmarks.md's.
ARGS: dict[str, dict[str, list[str]]] = {
    "latency": {
        "tiny": ["--servers", "pymap", "--samples", "3", "--timeout-s", "10"],
        "small": ["--samples", "20"],
        "medium": ["--samples", "50"],
        "full": ["--samples", "100"],
    },
    "fanout": {
        "tiny": ["--workers", "1,3", "--events", "20", "--accounts", "2"],
        "small": ["--workers", "1,10", "--events", "1000", "--accounts", "5"],
        "medium": ["--workers", "1,10,100", "--events", "2000", "--accounts", "10"],
        "full": ["--workers", "1,10,100", "--events", "2000", "--accounts", "10"],
    },
    # The same 1000 x 10 KB at every size but tiny: imaplib's time for it is the machine's scale.
    "fetch": {
        "tiny": ["--messages", "20", "--message-bytes", "2000", "--rounds", "1",
                 "--download-rounds", "1", "--large-message-bytes", "300000"],
        "small": ["--messages", "1000", "--message-bytes", "10000", "--rounds", "5"],
        "medium": ["--messages", "1000", "--message-bytes", "10000", "--rounds", "9"],
        "full": ["--messages", "1000", "--message-bytes", "10000", "--rounds", "15"],
    },
    "capacity": {
        "tiny": ["--accounts", "5", "--idle-seconds", "0.5", "--command-idle-close-s", "0.5",
                 "--timeout-s", "30"],
        "small": ["--accounts", "300", "--idle-seconds", "5", "--command-idle-close-s", "2"],
        "medium": ["--accounts", "2000", "--idle-seconds", "20", "--command-idle-close-s", "5",
                   "--connect-rate-per-s", "400"],
        "full": ["--accounts", "10000", "--connect-rate-per-s", "400"],
    },
    "imap_memory": {
        "tiny": ["--connections", "5"],
        "small": ["--connections", "200"],
        "medium": ["--connections", "500"],
        "full": ["--connections", "1000"],
    },
    "parser": {
        "tiny": ["--rounds", "1"],
        "small": ["--rounds", "3"],
        "medium": ["--rounds", "5"],
        "full": ["--rounds", "9"],
    },
    "cluster": {
        "tiny": ["--accounts", "6", "--lease-ttl-s", "2", "--timeout-s", "40", "--peer-run",
                 "--peer-idle-seconds", "0.5"],
        "small": ["--accounts", "300", "--lease-ttl-s", "5", "--peer-run"],
        "medium": ["--accounts", "2000", "--lease-ttl-s", "10", "--peer-run"],
        "full": ["--accounts", "20000", "--peer-run"],
    },
}
OPTIONAL = {"cluster"}  # only with --cluster
TIMEOUT_S = {"tiny": 180.0, "small": 1800.0, "medium": 3600.0, "full": 4 * 3600.0}
# bench/parser.py (issue 14 step 1) may not take --json; then its last line gives the ratio.
_PARSER_LAST_LINE = re.compile(r"ours vs previous parser: ([0-9.]+)x faster \(target >= "
                               r"([0-9.]+)x")
REFERENCE_IMAPLIB = "13.7 ms for 1000 x 10 KB on the machine of docs/benchmarks.md's first runs"


@dataclass
class Outcome:
    """One benchmark's run: its JSON document, or why there is none."""

    name: str
    argv: list[str]
    seconds: float
    document: dict[str, Any] | None = None
    error: str | None = None
    note: str | None = None


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def takes_json(script: Path) -> bool:
    """Whether ``script`` accepts ``--json`` (every benchmark here; parser.py perhaps not)."""
    usage = subprocess.run([sys.executable, str(script), "--help"], cwd=BENCH.parent,
                           capture_output=True, text=True, timeout=60, check=False)
    return "--json" in usage.stdout


def run_one(name: str, size: str, out: Path) -> Outcome:
    script = BENCH / f"{name}.py"
    argv = [sys.executable, str(script), *ARGS[name][size]]
    if not script.exists():
        return Outcome(name, argv, 0.0, note=f"bench/{name}.py not present: skipped")
    json_path = out / f"{name}.json"
    with_json = takes_json(script)
    if with_json:
        argv += ["--json", str(json_path)]
    log(f"{name}: {shlex.join([str(script.relative_to(BENCH.parent)), *argv[2:]])}")
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, cwd=BENCH.parent, capture_output=True, text=True,
                              timeout=TIMEOUT_S[size], check=False)
    except subprocess.TimeoutExpired:
        return Outcome(name, argv, time.monotonic() - start,
                       error=f"no result within {TIMEOUT_S[size]:.0f} s")
    seconds = time.monotonic() - start
    (out / f"{name}.out").write_text(proc.stdout + ("\n--- stderr ---\n" + proc.stderr))
    log(f"{name}: exit {proc.returncode} after {seconds:.0f} s")
    if proc.returncode != 0:
        tail = " / ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        return Outcome(name, argv, seconds, error=f"exit {proc.returncode}: {tail}")
    if with_json:
        return Outcome(name, argv, seconds, document=json.loads(json_path.read_text()))
    return from_last_line(name, argv, seconds, proc.stdout)


def from_last_line(name: str, argv: list[str], seconds: float, stdout: str) -> Outcome:
    """A benchmark without ``--json`` (bench/parser.py): its ratio from its last line."""
    lines = stdout.strip().splitlines()
    match = _PARSER_LAST_LINE.search(lines[-1]) if lines else None
    if match is None:
        return Outcome(name, argv, seconds, error="no --json and no known last line")
    ratio, target = float(match.group(1)), float(match.group(2))
    row = {"name": "FETCH responses, all kinds", "ours": None, "unit": "",
           "floor": None, "floor_name": "the previous parser", "vs": ratio, "vs_unit": "x",
           "target": f">= {target:g}x", "met": ratio >= target}
    return Outcome(name, argv, seconds, document={"benchmark": name, "rows": [row],
                                                  "figures": {"last_line": lines[-1]}},
                   note="read from its last line (no --json)")


# -- the table ---------------------------------------------------------------------------------


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    magnitude = abs(value)
    text = (f"{value:,.0f}" if magnitude >= 100 else f"{value:.1f}" if magnitude >= 1
            else f"{value:.2f}")
    return f"{text} {unit}".strip()


def versus(row: dict[str, Any]) -> str:
    if row["vs"] is None:
        return "—"
    if row["vs_unit"] == "ms":
        return f"{row['vs']:+.1f} ms"
    return f"{row['vs']:.2f}x" if row["vs"] < 10 else f"{row['vs']:.1f}x"


def verdict(row: dict[str, Any]) -> str:
    return {True: "met", False: "**missed**", None: ""}[row["met"]]


def table(outcomes: list[Outcome]) -> list[str]:
    lines = ["| benchmark | figure | ours | floor or peer, same run | vs floor | target | |",
             "|---|---|---|---|---|---|---|"]
    for outcome in outcomes:
        if outcome.document is None:
            why = outcome.error or outcome.note or ""
            lines.append(f"| {outcome.name} | {'FAILED: ' if outcome.error else ''}{why} "
                         "| | | | | |")
            continue
        for row in outcome.document["rows"]:
            floor = number(row["floor"], row["unit"])
            if row["floor_name"]:
                floor = f"{floor} ({row['floor_name']})"
            lines.append(f"| {outcome.name} | {row['name']} | {number(row['ours'], row['unit'])} "
                         f"| {floor} | {versus(row)} | {row['target'] or '—'} | {verdict(row)} |")
    return lines


def imaplib_line(outcomes: list[Outcome]) -> str:
    for outcome in outcomes:
        if outcome.name == "fetch" and outcome.document is not None:
            f = outcome.document["figures"]
            return (f"imaplib baseline on this machine: UID FETCH of {f['messages']} messages "
                    f"({f['mb']:.1f} MB) in {f['imaplib_ms']:.1f} ms (median; best "
                    f"{f['imaplib_best_ms']:.1f} ms); reference: {REFERENCE_IMAPLIB}")
    return "imaplib baseline: fetch.py did not run"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--cluster", action="store_true",
                        help="also run bench/cluster.py (PostgreSQL on 127.0.0.1:5432)")
    parser.add_argument("--only", default="", help="comma-separated benchmarks (default: all)")
    parser.add_argument("--out", type=Path, help="keep every benchmark's output here")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write every benchmark's document and the table as JSON")
    args = parser.parse_args()
    names = [n for n in ARGS if n not in OPTIONAL or args.cluster]
    if args.only:
        wanted = args.only.split(",")
        if unknown := set(wanted) - set(ARGS):
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        names = [n for n in ARGS if n in wanted]  # named: optional ones included
    out = args.out or Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    log(f"size {args.size}: {', '.join(names)}; output in {out}")
    started, load_before = time.strftime("%Y-%m-%d %H:%M %Z"), load_average()
    outcomes = [run_one(name, args.size, out) for name in names]
    command = shlex.join(["bench/run.py", *sys.argv[1:]])
    lines = [
        f"bench/run.py --size {args.size}: {started}; `{command}`",
        f"machine: {machine()}; load average {load_before} before, "
        f"{load_average()} after",
        imaplib_line(outcomes),
        "",
        *table(outcomes),
    ]
    notes = [f"- {o.name}: {o.note}" for o in outcomes if o.note and o.document is not None]
    if notes:
        lines += ["", *notes]
    print("\n".join(lines))
    if args.json is not None:
        args.json.write_text(json.dumps({
            "size": args.size, "started": started, "machine": machine(), "lines": lines,
            "benchmarks": [{"name": o.name, "argv": o.argv[1:], "seconds": o.seconds,
                            "error": o.error, "note": o.note, "document": o.document}
                           for o in outcomes]}, indent=1) + "\n")
    if any(o.error for o in outcomes):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
