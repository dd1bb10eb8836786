"""Capacity: how many idle TLS accounts one server process holds, at what memory, CPU and speed.

Usage::

    .venv/bin/python bench/capacity.py --accounts 10000

Three processes, so that their CPU and memory do not mix: ``bench/fake_imap.py`` (TLS; its
self-signed certificate, SAN 127.0.0.1, is handed to the server as ``--imap-ca-file``), the real
server (``bench/serve.py``: ``SwitchboardServer`` on uvloop with the engine's connect rates
raised), and this process as the worker (``switchboard.aio``). Steps and figures:

1. ``connect`` + ``watchMailboxes INBOX`` for N accounts (``--concurrency`` in flight); time until
   the fake server sees all N sessions in IDLE;
2. server RSS per account: (RSS - RSS before the first account) / N, when all are idle and
   again in step 3;
3. the steady state: once the engine closed the idle command connections (after 10 s unused)
   RSS and fds again, then over ``--idle-seconds`` (default 60) while idle: server CPU in % of
   one core, the liveness probes (DONEs the fake server received) and their traffic — IMAP
   bytes before TLS (the fake server's count) and the server's socket bytes with TLS
   (``/proc/PID/io``). ``--probe-quiet-s 600`` (the IDLE refresh) turns the probe off;
4. the fake server aborts every connection; time until all N are in IDLE again;
5. one message injected into each of the N mailboxes at once: events/s delivered to the worker
   and the inject -> ``newMessage`` latency p50/p99 under that load.

Targets (docs/benchmarks.md): <= 64 KB per account; 10,000 accounts all idle <= 60 s
and one new mail in each of 10,000 mailboxes all delivered <= 3 s, i.e. >= 167 accounts/s into
IDLE and >= 3,333 events/s (as rates, so that smaller runs compare; fixed latencies weigh more
at small N); idle CPU < 5 %, reconnect <= 120 s. The peer figures on the last line are the
published ones (EmailEngine 1-2 MB per account, "several thousand" per instance), not measured
here. ``--json PATH`` writes the figures for ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from _common import (
    Control,
    add_json_option,
    fake_imap,
    machine,
    percentile,
    proc_cpu_s,
    proc_fds,
    proc_io_bytes,
    proc_rss_bytes,
    raise_fd_limit,
    row,
    switchboard_server,
    write_json,
)

from switchboard.client.aio import AsyncClient, Push
from switchboard.engine.settings import EngineSettings

PASSWORD = "secret"
DEFAULT_PROBE_QUIET_S = EngineSettings().probe_quiet_s
TARGET_KB_PER_ACCOUNT = 64
TARGET_SETUP_PER_S = 10_000 / 60  # accounts into IDLE per second: 10,000 in 60 s
TARGET_BURST_PER_S = 10_000 / 3  # events delivered per second: 10,000 in 3 s
TARGET_IDLE_CPU_PERCENT = 5.0
TARGET_RECONNECT_S = 120.0
PEER_KB_PER_ACCOUNT = 1024  # EmailEngine's published 1-2 MB per account (Redis), lower bound
POLL_INTERVAL_S = 0.5
INJECT_CHUNK = 500
STEADY_EXTRA_FDS = 100  # the server's own descriptors: store, listeners, worker socket, pipes


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def user(i: int) -> str:
    return f"user{i:05d}@bench.example"


async def wait_idling(control: Control, n: int, timeout_s: float, what: str) -> float:
    """Poll fake_imap until ``n`` sessions are in IDLE; return the seconds it took."""
    start = time.monotonic()
    last_log = start
    while True:
        idling = int(await asyncio.to_thread(control.ask, "idling"))
        now = time.monotonic()
        if idling >= n:
            return now - start
        if now - start > timeout_s:
            raise TimeoutError(f"{what}: only {idling}/{n} idle after {timeout_s:.0f} s")
        if now - last_log >= 10:
            log(f"{what}: {idling}/{n} idle after {now - start:.0f} s")
            last_log = now
        await asyncio.sleep(POLL_INTERVAL_S)  # polling a counter in another process


async def wait_fds(pid: int, at_most: int, timeout_s: float) -> None:
    """Poll until ``pid`` holds at most ``at_most`` file descriptors."""
    async with asyncio.timeout(timeout_s):
        while proc_fds(pid) > at_most:  # noqa: ASYNC110 - another process's state
            await asyncio.sleep(POLL_INTERVAL_S)


async def connect_all(client: AsyncClient, n: int, port: int, concurrency: int) -> None:
    semaphore = asyncio.Semaphore(concurrency)
    failures: list[str] = []

    async def one(i: int) -> None:
        auth = {"type": "plain", "username": user(i), "password": PASSWORD}
        async with semaphore:
            resps = await client.send_cmds(
                ("connect", {"host": "127.0.0.1", "port": port, "auth": auth, "ssl": True}),
                ("watchMailboxes", {"account": user(i), "list": ["INBOX"]}),
            )
        for resp in resps:
            if resp[0] == "error" and len(failures) < 5:
                failures.append(f"{user(i)}: {resp[1]}")

    await asyncio.gather(*(one(i) for i in range(n)))
    if failures:
        raise RuntimeError("connect failed: " + "; ".join(failures))


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    n = args.accounts
    cert = tmp / "fake-imap.pem"
    with fake_imap(cert) as imap, switchboard_server(
        tmp / "data", ca_file=cert, connect_rate_per_s=args.connect_rate_per_s,
        connect_rate_per_host_per_s=args.connect_rate_per_s, command_rate_per_s=1e6,
        command_idle_close_s=args.command_idle_close_s, probe_quiet_s=args.probe_quiet_s,
    ) as server:
        control = Control(int(imap.info["control_port"]))
        url = f"ws://127.0.0.1:{server.info['port']}/workers"
        received: dict[str, float] = {}
        all_received = asyncio.Event()
        async with AsyncClient(url, timeout_s=args.timeout_s, max_queue=n + 1000,
                               ping_interval_s=None) as client:

            async def collect() -> None:
                async for push in client.events():
                    account = _account(push)
                    if account is not None and account not in received:
                        received[account] = time.monotonic()
                        if len(received) >= n:
                            all_received.set()

            collector = asyncio.create_task(collect())
            try:
                rss_before = proc_rss_bytes(server.pid)
                log(f"connecting {n} accounts (server pid {server.pid}, RSS "
                    f"{rss_before / 2**20:.0f} MiB)")
                start = time.monotonic()
                await connect_all(client, n, int(imap.info["tls_port"]), args.concurrency)
                connected_s = time.monotonic() - start
                log(f"all connect+watchMailboxes answered after {connected_s:.1f} s")
                await wait_idling(control, n, args.timeout_s, "setup")
                all_idle_s = time.monotonic() - start
                rss_idle = proc_rss_bytes(server.pid)
                fds_idle = proc_fds(server.pid)
                log(f"all {n} idle after {all_idle_s:.1f} s; server RSS {rss_idle / 2**20:.0f} MiB"
                    f", {fds_idle} fds; waiting for the idle command connections to close")
                # Steady state: the engine logs out the command connections watch() opened
                # once unused for command_idle_close_s; then only the IDLE connections remain.
                await wait_fds(server.pid, n + STEADY_EXTRA_FDS, args.timeout_s)
                rss_steady, fds_steady = proc_rss_bytes(server.pid), proc_fds(server.pid)
                log(f"steady: server RSS {rss_steady / 2**20:.0f} MiB, {fds_steady} fds; "
                    f"measuring idle CPU for {args.idle_seconds:.0f} s")
                traffic0 = await asyncio.to_thread(traffic, control)
                io0 = proc_io_bytes(server.pid)
                cpu0, t0 = proc_cpu_s(server.pid), time.monotonic()
                await asyncio.sleep(args.idle_seconds)  # the measurement window itself
                window_s = time.monotonic() - t0
                idle_cpu = (proc_cpu_s(server.pid) - cpu0) / window_s * 100
                io1 = proc_io_bytes(server.pid)
                traffic1 = await asyncio.to_thread(traffic, control)
                idle_probes_per_s = (traffic1[2] - traffic0[2]) / window_s
                idle_imap_bytes_per_s = (sum(traffic1[:2]) - sum(traffic0[:2])) / window_s
                idle_socket_bytes_per_s = (sum(io1) - sum(io0)) / window_s
                log(f"idle CPU {idle_cpu:.2f} %, {idle_probes_per_s:.0f} probes/s, IMAP "
                    f"{idle_imap_bytes_per_s:.0f} B/s, sockets {idle_socket_bytes_per_s:.0f} B/s;"
                    " dropping every IMAP connection")
                start = time.monotonic()
                dropped = int(await asyncio.to_thread(control.ask, "drop"))
                await wait_idling(control, n, args.timeout_s, "reconnect")
                reconnect_s = time.monotonic() - start
                rss_after = proc_rss_bytes(server.pid)
                log(f"{dropped} connections dropped; all idle again after {reconnect_s:.1f} s")
                sent_at: dict[str, float] = {}
                cpu_before = [proc_cpu_s(pid) for pid in (server.pid, imap.pid, os.getpid())]
                users = [user(i) for i in range(n)]
                for i in range(0, n, INJECT_CHUNK):
                    chunk = users[i : i + INJECT_CHUNK]
                    now = time.monotonic()
                    sent_at.update(dict.fromkeys(chunk, now))
                    await asyncio.to_thread(control.ask_many, [f"inject {u}" for u in chunk])
                try:
                    async with asyncio.timeout(args.timeout_s):
                        await all_received.wait()
                except TimeoutError:
                    log(f"only {len(received)}/{n} events arrived")
                cpu_inject = [proc_cpu_s(pid) - before for pid, before in
                              zip((server.pid, imap.pid, os.getpid()), cpu_before, strict=True)]
                engine = await asyncio.to_thread(server_latency, int(server.info["port"]))
                first_sent = min(sent_at.values())
                latencies = [(received[u] - sent_at[u]) * 1000 for u in received]
                last = max(received.values(), default=first_sent)
                rate = len(received) / (last - first_sent) if received else 0.0
            finally:
                collector.cancel()
                await asyncio.gather(collector, return_exceptions=True)
                control.close()
    return {
        "n": n,
        "connected_s": connected_s,
        "all_idle_s": all_idle_s,
        "kb_per_account_all_idle": (rss_idle - rss_before) / n / 1024,
        "kb_per_account": (rss_steady - rss_before) / n / 1024,
        "fds_steady": fds_steady,
        "kb_per_account_after_reconnect": (rss_after - rss_before) / n / 1024,
        "rss_before_mib": rss_before / 2**20,
        "fds_idle": fds_idle,
        "idle_cpu_percent": idle_cpu,
        "idle_probes_per_s": idle_probes_per_s,
        "idle_imap_bytes_per_s": idle_imap_bytes_per_s,
        "idle_socket_bytes_per_s": idle_socket_bytes_per_s,
        "reconnect_s": reconnect_s,
        "events": len(received),
        "events_per_s": rate,
        "burst_all_delivered_s": last - first_sent,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "server_cpu_ms_per_event": cpu_inject[0] * 1000 / max(1, len(received)),
        "imap_cpu_ms_per_event": cpu_inject[1] * 1000 / max(1, len(received)),
        "worker_cpu_ms_per_event": cpu_inject[2] * 1000 / max(1, len(received)),
        "engine_p50_ms": float(engine.get("p50Ms") or "nan"),
        "engine_p95_ms": float(engine.get("p95Ms") or "nan"),
    }


def traffic(control: Control) -> tuple[int, int, int]:
    """The fake server's IMAP bytes received and sent (before TLS) and DONEs received so far."""
    bytes_in, bytes_out, dones = control.ask("traffic").split()
    return int(bytes_in), int(bytes_out), int(dones)


def server_latency(port: int) -> dict[str, Any]:
    """The server's own EXISTS-seen -> fan-out latency summary (``/api/latency``)."""
    url = f"http://127.0.0.1:{port}/api/latency?window_s=120"
    with urllib.request.urlopen(url, timeout=30) as response:  # loopback, our own server
        document: dict[str, Any] = json.loads(response.read())
    return document


def _account(push: Push) -> str | None:
    if push.name != "newMessage" or not isinstance(push.args, dict):
        return None
    account = push.args.get("account")
    return account if isinstance(account, str) else None


def report(args: argparse.Namespace, r: dict[str, float]) -> None:
    n = int(r["n"])

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(f"capacity: {n} TLS accounts (fake_imap), server on one process; {machine()}")
    print(f"connect rate {args.connect_rate_per_s:g}/s (engine default 10/s per host: setup of "
          f"{n} accounts = {3 * n} connections would take >= {3 * n / 10:.0f} s)")
    print(f"  connect+watch answered  {r['connected_s']:8.1f} s")
    setup_target_s = n / TARGET_SETUP_PER_S
    print(f"  all idle                {r['all_idle_s']:8.1f} s   target <= {setup_target_s:.1f}"
          f"  {mark(r['all_idle_s'] <= setup_target_s)}  ({TARGET_SETUP_PER_S:.0f} accounts/s)")
    print(f"  RSS per account         {r['kb_per_account']:8.1f} KB  target <= "
          f"{TARGET_KB_PER_ACCOUNT}  {mark(r['kb_per_account'] <= TARGET_KB_PER_ACCOUNT)}"
          f"  (steady state; server base {r['rss_before_mib']:.0f} MiB, "
          f"{int(r['fds_steady'])} fds)")
    print(f"  RSS per account at the moment all were idle {r['kb_per_account_all_idle']:.1f} KB "
          f"({int(r['fds_idle'])} fds: command connections not yet closed); after the "
          f"reconnect {r['kb_per_account_after_reconnect']:.1f} KB")
    print(f"  idle CPU                {r['idle_cpu_percent']:8.2f} %   target < "
          f"{TARGET_IDLE_CPU_PERCENT:.0f}  {mark(r['idle_cpu_percent'] < TARGET_IDLE_CPU_PERCENT)}"
          f"  (over {args.idle_seconds:.0f} s)")
    per_account = r["idle_socket_bytes_per_s"] / n
    quiet_s = args.probe_quiet_s if args.probe_quiet_s is not None else DEFAULT_PROBE_QUIET_S
    print(f"  idle liveness probes    {r['idle_probes_per_s']:8.1f} /s  (probe after "
          f"{quiet_s:g} s quiet); "
          f"IMAP {r['idle_imap_bytes_per_s']:.0f} B/s before TLS, server sockets "
          f"{r['idle_socket_bytes_per_s']:.0f} B/s with TLS = {per_account:.2f} B/s per account")
    print(f"  reconnect all           {r['reconnect_s']:8.1f} s   target <= "
          f"{TARGET_RECONNECT_S:.0f}  {mark(r['reconnect_s'] <= TARGET_RECONNECT_S)}")
    print(f"  inject 1 per mailbox    {int(r['events'])}/{n} events, {r['events_per_s']:.0f} "
          f"events/s (target >= {TARGET_BURST_PER_S:.0f}: "
          f"{mark(r['events_per_s'] >= TARGET_BURST_PER_S)}), latency p50 {r['p50_ms']:.0f} ms, "
          f"p99 {r['p99_ms']:.0f} ms (inside the "
          f"server, EXISTS seen -> fan-out: p50 {r['engine_p50_ms']:.0f} ms, p95 "
          f"{r['engine_p95_ms']:.0f} ms)")
    print(f"  CPU per event: server {r['server_cpu_ms_per_event']:.2f} ms, fake IMAP "
          f"{r['imap_cpu_ms_per_event']:.2f} ms, worker {r['worker_cpu_ms_per_event']:.2f} ms "
          f"(2 cores shared by the three)")
    ratio = PEER_KB_PER_ACCOUNT / r["kb_per_account"] if r["kb_per_account"] > 0 else 0.0
    print(f"capacity N={n}: {r['kb_per_account']:.1f} KB/account vs peer EmailEngine >= "
          f"{PEER_KB_PER_ACCOUNT} KB (published) = {ratio:.0f}x less; all idle "
          f"{r['all_idle_s']:.0f} s, idle CPU {r['idle_cpu_percent']:.1f} %, reconnect "
          f"{r['reconnect_s']:.0f} s, {r['events_per_s']:.0f} events/s p50 {r['p50_ms']:.0f} ms"
          f" p99 {r['p99_ms']:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=200,
                        help="connect+watch commands in flight at once")
    parser.add_argument("--connect-rate-per-s", type=float, default=300.0,
                        help="engine admission: new IMAP connections per second (global and "
                             "per host)")
    parser.add_argument("--command-idle-close-s", type=float, default=None,
                        help="the engine's command_idle_close_s (default: the engine's, 10)")
    parser.add_argument("--probe-quiet-s", type=float, default=None,
                        help="the engine's probe_quiet_s (default: the engine's, "
                             f"{DEFAULT_PROBE_QUIET_S:g}; 600 = the IDLE refresh: no probe)")
    parser.add_argument("--idle-seconds", type=float, default=60.0,
                        help="idle CPU window, once the idle command connections are closed")
    parser.add_argument("--timeout-s", type=float, default=600.0)
    add_json_option(parser)
    args = parser.parse_args()
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as tmp:
        import uvloop

        result = uvloop.run(run(args, Path(tmp)))
    write_json(args.json, "capacity", result_rows(result), result)
    report(args, result)


def result_rows(r: dict[str, float]) -> list[dict[str, Any]]:
    """The figures with a target, as rows for ``bench/run.py`` (no floor: nothing to compare)."""
    n = int(r["n"])
    setup_rate = n / r["all_idle_s"] if r["all_idle_s"] > 0 else 0.0
    return [
        row(f"N={n}: set-up, all in IDLE", setup_rate, "accounts/s",
            target=f">= {TARGET_SETUP_PER_S:.0f}/s (10,000 in 60 s)",
            met=setup_rate >= TARGET_SETUP_PER_S),
        row(f"N={n}: 1 mail per mailbox at once, all delivered", r["events_per_s"], "events/s",
            target=f">= {TARGET_BURST_PER_S:.0f}/s (10,000 in 3 s)",
            met=r["events_per_s"] >= TARGET_BURST_PER_S),
        row(f"N={n}: RSS per idle account", r["kb_per_account"], "KB",
            target=f"<= {TARGET_KB_PER_ACCOUNT} KB",
            met=r["kb_per_account"] <= TARGET_KB_PER_ACCOUNT),
        row(f"N={n}: CPU while idle", r["idle_cpu_percent"], "% of a core",
            target=f"< {TARGET_IDLE_CPU_PERCENT:g} %",
            met=r["idle_cpu_percent"] < TARGET_IDLE_CPU_PERCENT),
        row(f"N={n}: reconnect all", r["reconnect_s"], "s", target=f"<= {TARGET_RECONNECT_S:g} s",
            met=r["reconnect_s"] <= TARGET_RECONNECT_S),
    ]


if __name__ == "__main__":
    main()
