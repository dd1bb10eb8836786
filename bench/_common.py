"""Shared plumbing of the benchmarks: child processes, /proc readings, percentiles, the machine.

Every benchmark runs the pieces it measures in separate processes so that their CPU and memory
do not mix: the fake or real IMAP server in one, the Switchboard server (``bench/serve.py``) in
another, the worker in the benchmark process itself. A child announces itself with one line
``READY key=value ...`` on stdout; :class:`Child` waits for it (bounded by ``ready_timeout_s``)
and stops the child with SIGTERM (then SIGKILL) when the benchmark ends.

Each benchmark also takes ``--json PATH`` (:func:`add_json_option`) and writes there what it
printed, as rows of "ours against the floor" (:func:`row`, :func:`write_json`), so that
``bench/run.py`` collects every benchmark's figures without reading its prose.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def raise_fd_limit() -> int:
    """Raise the soft open-files limit to the hard one (children inherit it); return it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Child:
    """A child process that prints ``READY k=v ...`` once it serves; a context manager.

    Args:
        argv: the command line.
        ready_timeout_s: how long to wait for the READY line.
        env: extra environment variables.

    Raises:
        RuntimeError: the child exited or stayed silent before READY (its stderr is quoted).
    """

    def __init__(self, argv: Sequence[str], *, ready_timeout_s: float = READY_TIMEOUT_S,
                 env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.ready_timeout_s = ready_timeout_s
        self.env = {**os.environ, **(env or {})}
        self.info: dict[str, str] = {}
        self.proc: subprocess.Popen[str] | None = None
        self._stderr: list[str] = []

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> Child:
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=self.env)
        ready = threading.Event()

        def read_stdout() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith("READY") and not ready.is_set():
                    self.info = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
                    ready.set()

        def read_stderr() -> None:  # kept (bounded) for the error message; never blocks the child
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self._stderr.append(line)
                del self._stderr[:-40]

        for target in (read_stdout, read_stderr):
            threading.Thread(target=target, daemon=True).start()
        deadline = time.monotonic() + self.ready_timeout_s
        while not ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{' '.join(self.argv[:3])} did not start:\n"
                                   + "".join(self._stderr))
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``STOP_TIMEOUT_S``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT_S)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def stderr_tail(self) -> str:
        return "".join(self._stderr)


def fake_imap(cert_out: Path, *, initial_messages: int = 0, body_pad_bytes: int = 0) -> Child:
    """``bench/fake_imap.py`` with plain, TLS and control ports (any free ones)."""
    return Child([sys.executable, str(BENCH / "fake_imap.py"), "--control-port", "0",
                  "--cert-out", str(cert_out), "--initial-messages", str(initial_messages),
                  "--body-pad-bytes", str(body_pad_bytes)])


def switchboard_server(data_dir: Path, *, ca_file: Path | None = None,
                       connect_rate_per_s: float | None = None,
                       connect_rate_per_host_per_s: float | None = None,
                       command_rate_per_s: float | None = None,
                       command_idle_close_s: float | None = None,
                       probe_quiet_s: float | None = None) -> Child:
    """``bench/serve.py``: the real server in its own process (engine rates settable)."""
    argv = [sys.executable, str(BENCH / "serve.py"), "--data-dir", str(data_dir)]
    if ca_file is not None:
        argv += ["--imap-ca-file", str(ca_file)]
    if connect_rate_per_s is not None:
        argv += ["--connect-rate-per-s", str(connect_rate_per_s)]
    if connect_rate_per_host_per_s is not None:
        argv += ["--connect-rate-per-host-per-s", str(connect_rate_per_host_per_s)]
    if command_idle_close_s is not None:
        argv += ["--command-idle-close-s", str(command_idle_close_s)]
    if command_rate_per_s is not None:
        argv += ["--command-rate-per-s", str(command_rate_per_s)]
    if probe_quiet_s is not None:
        argv += ["--probe-quiet-s", str(probe_quiet_s)]
    return Child(argv)


class Control:
    """A blocking line client of fake_imap's control port (``inject``, ``drop``, ``idling``)."""

    def __init__(self, port: int, timeout_s: float = 120.0) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self._file = self._sock.makefile("rwb")

    def ask(self, command: str) -> str:
        """Send one command, return its ``OK ...`` text.

        Raises:
            RuntimeError: the server answered ``ERR``.
        """
        self._file.write(command.encode() + b"\n")
        self._file.flush()
        return self._reply(command)

    def ask_many(self, commands: Sequence[str]) -> list[str]:
        """Pipeline ``commands`` in one write; return the replies in order."""
        self._file.write(b"".join(c.encode() + b"\n" for c in commands))
        self._file.flush()
        return [self._reply(c) for c in commands]

    def _reply(self, command: str) -> str:
        line = self._file.readline().decode().strip()
        if not line.startswith("OK"):
            raise RuntimeError(f"control {command!r}: {line!r}")
        return line[2:].strip()

    def close(self) -> None:
        self._file.close()
        self._sock.close()


def proc_rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (``/proc/PID/statm``)."""
    fields = Path(f"/proc/{pid}/statm").read_text().split()
    return int(fields[1]) * PAGE_BYTES


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` (``/proc/PID/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S


def proc_io_bytes(pid: int) -> tuple[int, int]:
    """Bytes ``pid`` has passed to read() and write()-like calls so far (``/proc/PID/io``).

    For an idle server that is its sockets' traffic: TLS records included, TCP/IP headers not.
    """
    values = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(values["rchar"]), int(values["wchar"])


def proc_fds(pid: int) -> int:
    """Open file descriptors of ``pid``."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def percentile(samples: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``samples``; NaN when empty."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def machine() -> str:
    """One line: cores, memory, Python, event loop, OS."""
    mem = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
    try:
        loop = f"uvloop {importlib.metadata.version('uvloop')}"
    except importlib.metadata.PackageNotFoundError:
        loop = "asyncio"
    return (f"{os.cpu_count()} cores, {int(mem) / 1024**2:.1f} GiB RAM, Python "
            f"{platform.python_version()}, {loop}, {platform.system()} {platform.release()}")


def have(binary: str) -> bool:
    return bool(shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin"))


# -- machine-readable results (bench/run.py) ---------------------------------------------------


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json PATH``: also write the figures as JSON (:func:`write_json`)."""
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the figures as JSON to PATH (read by bench/run.py)")


def row(name: str, ours: float | None, unit: str, *, floor: float | None = None,
        floor_name: str = "", vs: float | None = None, vs_unit: str = "x", target: str = "",
        met: bool | None = None) -> dict[str, Any]:
    """One line of ``bench/run.py``'s table: our figure against the floor of the same run.

    Args:
        name: what is measured (``"pymap isolated p50"``).
        ours: our figure, in ``unit``.
        unit: ``"ms"``, ``"frames/s"``, ``"KB"``...
        floor: the floor's or peer's figure in the same run, same unit (``None``: none measured).
        floor_name: what the floor is (``"websockets alone"``).
        vs: the comparison: a ratio (``vs_unit="x"``, higher is better) or a difference
            (``vs_unit="ms"``, ours minus the floor).
        vs_unit: ``"x"`` or ``"ms"``.
        target: the target as text (``">= 0.5x"``), from docs/benchmarks.md.
        met: whether the target is met (``None``: no target).
    """
    return {"name": name, "ours": ours, "unit": unit, "floor": floor, "floor_name": floor_name,
            "vs": vs, "vs_unit": vs_unit, "target": target, "met": met}


def write_json(path: Path | None, benchmark: str, rows: Sequence[dict[str, Any]],
               figures: dict[str, Any]) -> None:
    """Write ``{"benchmark", "argv", "machine", "rows", "figures"}`` to ``path`` (if given).

    NaN (a percentile of no samples) becomes ``null``: JSON has no NaN.
    """
    if path is None:
        return
    document = {"benchmark": benchmark, "argv": sys.argv[1:], "machine": machine(),
                "rows": list(rows), "figures": figures}
    path.write_text(json.dumps(_no_nan(document), indent=1) + "\n")


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value
