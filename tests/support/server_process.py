"""Run ``python -m switchboard serve`` as a subprocess that a test can kill -9, restart and read.

The first start takes any free port (the server prints its ``ws://127.0.0.1:<port>/workers``
line first, once listening); restarts reuse that port and the data directory, as an operator's
restart would. Each start writes stderr to its own ``server-<n>.log`` in the log directory.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.dovecot import DovecotServer

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0  # after SIGTERM, before SIGKILL
KILL_TIMEOUT_S = 10.0
LOG_TAIL_CHARS = 3000
LISTENING = re.compile(r"wss?://127\.0\.0\.1:(\d+)/workers")


class ServerProcess:
    """One ``switchboard serve`` process on 127.0.0.1, trusting the Dovecot fixture's CA.

    Args:
        data_dir: The server's ``--data-dir``.
        dovecot: The Dovecot whose CA file the server trusts for IMAP.
        log_dir: Where each start's stderr goes (created if missing).
        args: More ``serve`` arguments, such as ``["--store", dsn, "--node-id", "n1"]``.
        env: Variables added to this process's environment for the server.
        stop_timeout_s: How long :meth:`stop` waits after SIGTERM before it sends SIGKILL.
    """

    def __init__(
        self,
        data_dir: Path,
        dovecot: DovecotServer,
        log_dir: Path,
        *,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        stop_timeout_s: float = STOP_TIMEOUT_S,
    ) -> None:
        self.data_dir = data_dir
        self.dovecot = dovecot
        self.log_dir = log_dir
        self.args = list(args)
        self.env = None if env is None else {**os.environ, **env}
        self.stop_timeout_s = stop_timeout_s
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self.starts = 0
        # The server's first stdout line of the latest start (it names the port, and the node).
        self.first_line = ""

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/workers"

    @property
    def log_path(self) -> Path:
        """The latest start's stderr."""
        return self.log_dir / f"server-{self.starts}.log"

    def start(self) -> None:
        """Start the server and wait for its "listening" line.

        Raises:
            AssertionError: The server did not print that line within START_TIMEOUT_S.
        """
        self.starts += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "switchboard", "serve", "--port", str(self.port),
                 "--data-dir", str(self.data_dir), "--imap-ca-file", str(self.dovecot.ca_file),
                 *self.args],
                stdout=subprocess.PIPE, stderr=log, text=True, env=self.env,
            )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        line = self.proc.stdout.readline()  # the server prints it first; bounded by the timeout
        self.first_line = line
        match = LISTENING.search(line)
        assert match and time.monotonic() < deadline, (line, self.log_tail())
        self.port = int(match.group(1))

    def kill9(self) -> None:
        """SIGKILL the server: no shutdown code runs, as in a crash or an OOM kill."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=KILL_TIMEOUT_S)

    def stop(self) -> None:
        """SIGTERM the server if it runs; SIGKILL it if it has not exited in stop_timeout_s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=KILL_TIMEOUT_S)

    def log_tail(self) -> str:
        """The end of the latest start's stderr ("" before the first start)."""
        path = self.log_path
        return path.read_text()[-LOG_TAIL_CHARS:] if path.exists() else ""
