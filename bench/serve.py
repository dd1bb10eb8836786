"""Run the real Switchboard server for a benchmark, with the engine's connect rates settable.

``switchboard serve`` does not expose :class:`~switchboard.engine.settings.EngineSettings`, and
its default admission control (50 new connections/s overall, 10/s per IMAP host) would make
10,000 accounts on one host take at least 3,000 s to connect. This launcher builds the same
server as ``switchboard serve`` (:func:`switchboard.cli.serve.build_server`) with higher rates
(and, for a worker that provisions thousands of accounts at once, the per-session command rate
limit), on uvloop like ``switchboard serve``, and prints ``READY port=P pid=PID`` once
listening.

Run: ``python bench/serve.py --data-dir D --imap-ca-file CERT --connect-rate-per-s 400``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from switchboard.cli.loop import run_async, run_until_signalled
from switchboard.cli.serve import build_server
from switchboard.engine.settings import EngineSettings
from switchboard.server.config import ServerSettings

DEFAULTS = EngineSettings()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--imap-ca-file", type=Path)
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--connect-rate-per-s", type=float, default=DEFAULTS.connect_rate_per_s)
    parser.add_argument("--connect-rate-per-host-per-s", type=float,
                        default=DEFAULTS.connect_rate_per_host_per_s)
    parser.add_argument("--command-idle-close-s", type=float,
                        default=DEFAULTS.command_idle_close_s)
    parser.add_argument("--command-rate-per-s", type=float,
                        help="per-session command rate limit (when the server has one)")
    parser.add_argument("--probe-quiet-s", type=float, default=DEFAULTS.probe_quiet_s,
                        help="probe an IDLE quiet this long (>= the IDLE refresh: no probe)")
    args = parser.parse_args()
    settings = ServerSettings(port=args.port, data_dir=args.data_dir,
                              imap_ca_file=args.imap_ca_file, log_level=args.log_level)
    names = {f.name for f in dataclasses.fields(ServerSettings)}
    if args.command_rate_per_s is not None and "rate_limit_per_s" in names:
        # One worker provisioning thousands of accounts sends thousands of commands at once.
        settings = dataclasses.replace(
            settings, rate_limit_per_s=args.command_rate_per_s,
            rate_limit_burst=max(1, int(args.command_rate_per_s)))
    engine = EngineSettings(connect_rate_per_s=args.connect_rate_per_s,
                            connect_rate_per_host_per_s=args.connect_rate_per_host_per_s,
                            command_idle_close_s=args.command_idle_close_s,
                            probe_quiet_s=args.probe_quiet_s)
    serve_until_signalled(settings, engine, args.log_level)


def serve_until_signalled(
    settings: ServerSettings, engine: EngineSettings, log_level: str
) -> None:
    """Serve on uvloop, print ``READY port=P pid=PID`` once listening, stop on SIGINT/SIGTERM."""

    async def serve() -> None:
        import logging

        logging.basicConfig(level=log_level,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # The same composition as `switchboard serve` (a cluster node when store_url is set).
        async with build_server(settings, engine_settings=engine) as server:
            await run_until_signalled(
                ready=lambda: print(f"READY port={server.port} pid={os.getpid()}", flush=True))

    run_async(serve)


if __name__ == "__main__":
    main()
