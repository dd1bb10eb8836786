"""Benchmark 2 Switchboard nodes sharing N fake-IMAP accounts on one PostgreSQL, end to end.

Usage::

    .venv/bin/python bench/cluster.py --accounts 20000 [--lease-ttl-s 30] [--peer-run]

Processes, so that their CPU and memory do not mix: ``bench/fake_imap.py`` (TLS), two cluster
nodes (``SwitchboardServer`` with ``store_url``/``node_id``/``lease_ttl_s`` loaded exactly as
``switchboard serve --store postgresql://… --node-id nK`` loads them, and the engine's connect
rates raised as in ``bench/serve.py``: ``switchboard serve`` cannot raise them, and its default
of 10 connections/s per IMAP host would make the set-up take hours), and this process as the
worker (``switchboard.client.aio``) on node 1. PostgreSQL is the machine's, on 127.0.0.1:5432
(trust, user postgres); a scratch database is created and dropped. Steps and figures:

1. ``connect`` + ``watchMailboxes INBOX`` for N accounts through node 1's ``/workers``
   (``bench/capacity.py``'s ``connect_all``); time until the fake server sees N sessions in IDLE,
   then until the two nodes' ``/health`` show the accounts held and idle on both (node 1 adopts
   every account its worker connects; the fair share moves half to node 2 at
   ``max_release_per_round`` per lease round, every TTL/3);
2. RSS per account held, per node (RSS - the node's RSS before the first account) / held;
3. ``kill -9`` of node 2; time until node 1 holds and idles all N (its leases expire after the
   TTL, node 1 takes up to ``max_acquire_per_round`` per round);
4. one message injected into each mailbox: events/s and inject -> ``newMessage`` latency at the
   worker on node 1 (events of accounts node 2 watched cross PostgreSQL NOTIFY).

The single-node peer is ``bench/capacity.py``: run in the same invocation with ``--peer-run``,
else its recorded run (``PEER``). ``python bench/cluster.py node ...`` is the node process itself.
``--json PATH`` writes the figures for ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
from _common import (
    Child,
    Control,
    add_json_option,
    fake_imap,
    machine,
    percentile,
    proc_cpu_s,
    proc_fds,
    proc_rss_bytes,
    raise_fd_limit,
    row,
    write_json,
)
from capacity import (
    INJECT_CHUNK,
    TARGET_KB_PER_ACCOUNT,
    _account,
    connect_all,
    log,
    user,
    wait_idling,
)
from cryptography.fernet import Fernet

from switchboard.client.aio import AsyncClient

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
POLL_S = 2.0  # /health of 10,000 accounts is ~1 MB of JSON: do not poll it in a tight loop
HTTP_TIMEOUT_S = 60.0
# The single-node peer when --peer-run is not given: docs/benchmarks.md, bench/capacity.py
# --accounts 10000 --connect-rate-per-s 400 --command-idle-close-s 5, Tue Nov 24 2026, this VM.
PEER = {"n": 10_000, "kb_per_account": 52.6, "all_idle_s": 93.0, "events_per_s": 809.0,
        "p50_ms": float("nan"), "p99_ms": float("nan"),
        "source": "capacity.py run of 2026-11-24 (docs/benchmarks.md), N=10000"}


# -- the node process --------------------------------------------------------------------------


def serve_node(argv: list[str]) -> None:
    """Run one cluster node until SIGTERM; print ``READY port=P pid=PID`` once listening."""
    from serve import serve_until_signalled

    from switchboard.engine.settings import EngineSettings
    from switchboard.server.config import load_settings

    parser = argparse.ArgumentParser(prog="cluster.py node")
    for name in ("--store", "--node-id", "--data-dir", "--imap-ca-file"):
        parser.add_argument(name, required=True)
    parser.add_argument("--lease-ttl-s", type=float, required=True)
    parser.add_argument("--connect-rate-per-s", type=float, required=True)
    parser.add_argument("--command-idle-close-s", type=float, required=True)
    args = parser.parse_args(argv)
    # The same loader as `switchboard serve` (env SWITCHBOARD_SECRET_KEY is read from it); one
    # worker provisioning N accounts sends 2N commands, beyond the per-session default limit.
    settings = load_settings(environ=os.environ, overrides={
        "port": 0, "data_dir": Path(args.data_dir), "imap_ca_file": Path(args.imap_ca_file),
        "store_url": args.store, "node_id": args.node_id, "lease_ttl_s": args.lease_ttl_s,
        "log_level": "WARNING", "rate_limit_per_s": 1e6, "rate_limit_burst": 1_000_000})
    engine = EngineSettings(connect_rate_per_s=args.connect_rate_per_s,
                            connect_rate_per_host_per_s=args.connect_rate_per_s,
                            command_idle_close_s=args.command_idle_close_s)
    serve_until_signalled(settings, engine, settings.log_level)


def node_child(name: str, dsn: str, key: str, tmp: Path, cert: Path,
               args: argparse.Namespace) -> Child:
    return Child([sys.executable, __file__, "node", "--store", dsn, "--node-id", name,
                  "--data-dir", str(tmp / name), "--imap-ca-file", str(cert),
                  "--lease-ttl-s", str(args.lease_ttl_s),
                  "--connect-rate-per-s", str(args.connect_rate_per_s),
                  "--command-idle-close-s", str(args.command_idle_close_s)],
                 env={"SWITCHBOARD_SECRET_KEY": key})


def health(node: Child) -> tuple[int, int]:
    """(leases held, accounts in the idle state) from the node's ``/health``."""
    url = f"http://127.0.0.1:{node.info['port']}/health"
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:  # our own node
        doc: dict[str, Any] = json.loads(response.read())
    idle = sum(1 for a in doc["accounts"] if a["state"] == "idle")
    return len(doc["node"]["leases"]), idle


async def watch_children(children: dict[str, Child], expected_dead: set[str]) -> None:
    """Raise, quoting its stderr, as soon as a child dies that should not have."""
    while True:
        for name, child in children.items():
            proc = child.proc
            if name not in expected_dead and proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n"
                                   + child.stderr_tail())
        await asyncio.sleep(1.0)  # another process's state


async def until(what: str, check: Callable[[], bool], timeout_s: float) -> float:
    """Poll ``check`` (another process's state) until true; return the seconds it took."""
    start = time.monotonic()
    while not await asyncio.to_thread(check):
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"{what}: not reached after {timeout_s:.0f} s")
        await asyncio.sleep(POLL_S)
    return time.monotonic() - start


# -- the end-to-end benchmark ------------------------------------------------------------------


async def run(args: argparse.Namespace, tmp: Path, dsn: str) -> dict[str, Any]:
    n: int = args.accounts
    cert = tmp / "fake-imap.pem"
    key = Fernet.generate_key().decode()  # every node must seal credentials with one key
    r: dict[str, Any] = {"n": n}
    with fake_imap(cert) as imap, node_child("n1", dsn, key, tmp, cert, args) as n1, \
            node_child("n2", dsn, key, tmp, cert, args) as n2:
        control = Control(int(imap.info["control_port"]))
        base = {"n1": proc_rss_bytes(n1.pid), "n2": proc_rss_bytes(n2.pid)}
        received: dict[str, float] = {}
        pushes = 0
        all_received = asyncio.Event()
        url = f"ws://127.0.0.1:{n1.info['port']}/workers"
        async with AsyncClient(url, timeout_s=args.timeout_s, max_queue=n + 1000,
                               ping_interval_s=None) as client:

            async def collect() -> None:
                nonlocal pushes
                async for push in client.events():
                    account = _account(push)
                    if account is None:
                        continue
                    pushes += 1
                    if account not in received:
                        received[account] = time.monotonic()
                        if len(received) >= n:
                            all_received.set()

            collector = asyncio.create_task(collect())
            killed: set[str] = set()
            watchdog = asyncio.create_task(
                watch_children({"fake_imap": imap, "n1": n1, "n2": n2}, killed))
            main = asyncio.current_task()
            assert main is not None
            watchdog.add_done_callback(lambda t: None if t.cancelled() else main.cancel())
            try:
                log(f"connecting {n} accounts through n1 (pids n1 {n1.pid}, n2 {n2.pid}, "
                    f"TTL {args.lease_ttl_s:g} s)")
                start = time.monotonic()
                await connect_all(client, n, int(imap.info["tls_port"]), args.concurrency)
                r["connected_s"] = time.monotonic() - start
                await wait_idling(control, n, args.timeout_s, "setup")
                r["all_idle_s"] = time.monotonic() - start
                log(f"all {n} idle after {r['all_idle_s']:.1f} s; n1/n2 hold "
                    f"{health(n1)[0]}/{health(n2)[0]}; waiting for the spread")
                share = -(-n // 2)
                progress = {"t": time.monotonic()}

                def spread() -> bool:
                    (h1, i1), (h2, i2) = health(n1), health(n2)
                    if time.monotonic() - progress["t"] >= 30:
                        log(f"spread: n1 {h1} held/{i1} idle, n2 {h2} held/{i2} idle")
                        progress["t"] = time.monotonic()
                    r["held"] = (h1, h2)
                    return (h1 + h2 == n and i1 == h1 and i2 == h2
                            and abs(h1 - share) <= 1 and abs(h2 - share) <= 1)

                await until("spread", spread, args.timeout_s)
                r["spread_s"] = time.monotonic() - start
                for name, node, held in (("n1", n1, r["held"][0]), ("n2", n2, r["held"][1])):
                    rss = proc_rss_bytes(node.pid)
                    r[f"{name}_kb"] = (rss - base[name]) / max(1, held) / 1024
                    r[f"{name}_rss_mib"] = rss / 2**20
                    r[f"{name}_fds"] = proc_fds(node.pid)
                log(f"spread {r['held'][0]}/{r['held'][1]} after {r['spread_s']:.1f} s; RSS "
                    f"n1 {r['n1_rss_mib']:.0f} MiB, n2 {r['n2_rss_mib']:.0f} MiB"
                    f"; injecting one message per account")

                sent_at: dict[str, float] = {}
                cpu0 = proc_cpu_s(n1.pid), proc_cpu_s(n2.pid)
                users = [user(i) for i in range(n)]
                for i in range(0, n, INJECT_CHUNK):
                    chunk = users[i : i + INJECT_CHUNK]
                    sent_at.update(dict.fromkeys(chunk, time.monotonic()))
                    await asyncio.to_thread(control.ask_many, [f"inject {u}" for u in chunk])
                try:
                    async with asyncio.timeout(args.timeout_s):
                        await all_received.wait()
                except TimeoutError:
                    log(f"only {len(received)}/{n} events arrived")
                first, last = min(sent_at.values()), max(received.values(), default=0.0)
                latencies = [(received[u] - sent_at[u]) * 1000 for u in received]
                r.update(events=len(received), pushes=pushes,
                         events_per_s=len(received) / (last - first) if received else 0.0,
                         p50_ms=percentile(latencies, 50), p99_ms=percentile(latencies, 99),
                         n1_cpu_ms_per_event=(proc_cpu_s(n1.pid) - cpu0[0]) * 1000
                         / max(1, len(received)),
                         n2_cpu_ms_per_event=(proc_cpu_s(n2.pid) - cpu0[1]) * 1000
                         / max(1, len(received)))
                log(f"{len(received)}/{n} events, {r['events_per_s']:.0f}/s, p50 "
                    f"{r['p50_ms']:.0f} ms p99 {r['p99_ms']:.0f} ms; kill -9 n2")
                pushes_before_kill = pushes

                start = time.monotonic()
                assert n2.proc is not None
                killed.add("n2")
                n2.proc.kill()
                n2.proc.wait()

                def taken_over() -> bool:
                    held, idle = health(n1)
                    return held == n and idle == n

                await until("takeover", taken_over, args.timeout_s)
                await wait_idling(control, n, args.timeout_s, "takeover")
                r["takeover_s"] = time.monotonic() - start
                rss = proc_rss_bytes(n1.pid)
                r["n1_all_kb"] = (rss - base["n1"]) / n / 1024
                r["n1_all_rss_mib"] = rss / 2**20
                r["pushes_after_kill"] = pushes - pushes_before_kill
                log(f"n1 holds and idles all {n} {r['takeover_s']:.1f} s after the kill")
                if n1.stderr_tail():
                    log("n1's last log lines:\n" + n1.stderr_tail()[-3000:])
            except asyncio.CancelledError:
                if watchdog.done() and watchdog.exception() is not None:
                    raise RuntimeError("a child died") from watchdog.exception()
                raise
            finally:
                for task in (collector, watchdog):
                    task.cancel()
                await asyncio.gather(collector, watchdog, return_exceptions=True)
                control.close()
    return r


async def run_peer(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """``bench/capacity.py``'s run at the same N, connect rate and close delay: one node."""
    import capacity

    peer_args = argparse.Namespace(
        accounts=args.accounts, concurrency=args.concurrency,
        connect_rate_per_s=args.connect_rate_per_s,
        command_idle_close_s=args.command_idle_close_s, idle_seconds=args.peer_idle_seconds,
        probe_quiet_s=None, timeout_s=args.timeout_s)
    result: dict[str, Any] = dict(await capacity.run(peer_args, tmp))
    result["source"] = f"capacity.py in this run, N={args.accounts}"
    return result


def report(args: argparse.Namespace, r: dict[str, Any], peer: dict[str, Any]) -> None:
    n = r["n"]
    h1, h2 = r["held"]
    print(f"cluster: 2 nodes, {n} TLS accounts (fake_imap), PostgreSQL on loopback, lease TTL "
          f"{args.lease_ttl_s:g} s; {machine()}")
    print(f"connect rate {args.connect_rate_per_s:g}/s per node, command connections closed "
          f"after {args.command_idle_close_s:g} s unused")
    print(f"  connect+watch answered (n1)   {r['connected_s']:8.1f} s")
    print(f"  all idle (fake server count)  {r['all_idle_s']:8.1f} s   single node: "
          f"{peer['all_idle_s']:.1f} s ({peer['source']})")
    print(f"  spread {h1}/{h2}, all idle      {r['spread_s']:8.1f} s   (n1 adopts what its "
          f"worker connects; the fair share moves 100 per round of TTL/3)")
    print(f"  RSS per account held: n1 {r['n1_kb']:.1f} KB ({r['n1_rss_mib']:.0f} MiB, "
          f"{r['n1_fds']} fds; its RSS peaked holding all N first), n2 {r['n2_kb']:.1f} KB "
          f"({r['n2_rss_mib']:.0f} MiB, {r['n2_fds']} fds); single node "
          f"{peer['kb_per_account']:.1f} KB")
    print(f"  inject 1 per mailbox   {r['events']}/{n} events ({r['pushes']} pushes), "
          f"{r['events_per_s']:.0f} events/s, latency p50 {r['p50_ms']:.0f} ms, p99 "
          f"{r['p99_ms']:.0f} ms at the worker on n1 (half recorded by n2); CPU per event n1 "
          f"{r['n1_cpu_ms_per_event']:.2f} ms, n2 {r['n2_cpu_ms_per_event']:.2f} ms; single "
          f"node {peer['events_per_s']:.0f} events/s p50 {peer['p50_ms']:.0f} ms p99 "
          f"{peer['p99_ms']:.0f} ms")
    print(f"  kill -9 n2 -> n1 holds+idles all {n}  {r['takeover_s']:8.1f} s   (TTL "
          f"{args.lease_ttl_s:g} s; n1 then {r['n1_all_kb']:.1f} KB/account, "
          f"{r['n1_all_rss_mib']:.0f} MiB; {r['pushes_after_kill']} pushes announced again)")
    kb_ratio = peer["kb_per_account"] / r["n2_kb"] if r["n2_kb"] > 0 else float("nan")
    ev_ratio = r["events_per_s"] / peer["events_per_s"] if peer["events_per_s"] else float("nan")
    print(f"cluster N={n} vs single node ({peer['source']}): RSS/account n2 {r['n2_kb']:.1f} KB vs "
          f"{peer['kb_per_account']:.1f} KB = {kb_ratio:.2f}x; events/s {r['events_per_s']:.0f} vs "
          f"{peer['events_per_s']:.0f} = {ev_ratio:.2f}x; takeover of {h2} accounts "
          f"{r['takeover_s']:.0f} s (TTL {args.lease_ttl_s:g} s)")


async def scratch_database(args: argparse.Namespace, tmp: Path) -> None:
    name = f"sbbench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        peer = await run_peer(args, tmp / "peer") if args.peer_run else PEER
        result = await run(args, tmp, f"postgresql://postgres@127.0.0.1:5432/{name}")
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
    report(args, result, peer)
    write_json(args.json, "cluster", result_rows(result, peer), {"cluster": result, "peer": peer})


def result_rows(r: dict[str, Any], peer: dict[str, Any]) -> list[dict[str, Any]]:
    """Node 2's memory and the burst against the single node, and the takeover, as rows."""
    n = r["n"]
    single = f"one node, {peer['source']}"
    return [
        row(f"cluster N={n}: RSS per account held, node 2", r["n2_kb"], "KB",
            floor=peer["kb_per_account"], floor_name=single,
            vs=peer["kb_per_account"] / r["n2_kb"] if r["n2_kb"] > 0 else None,
            target=f"<= {TARGET_KB_PER_ACCOUNT} KB", met=r["n2_kb"] <= TARGET_KB_PER_ACCOUNT),
        row(f"cluster N={n}: 1 mail per mailbox at once", r["events_per_s"], "events/s",
            floor=peer["events_per_s"], floor_name=single,
            vs=r["events_per_s"] / peer["events_per_s"] if peer["events_per_s"] else None),
        row(f"cluster N={n}: kill -9 of node 2, node 1 holds and idles all", r["takeover_s"], "s"),
    ]


def main() -> None:
    if sys.argv[1:2] == ["node"]:
        serve_node(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--lease-ttl-s", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=200,
                        help="connect+watch commands in flight at once")
    parser.add_argument("--connect-rate-per-s", type=float, default=300.0,
                        help="engine admission per node: new IMAP connections per second")
    parser.add_argument("--command-idle-close-s", type=float, default=5.0,
                        help="the engine's command_idle_close_s (5: fds stay under 20,000)")
    parser.add_argument("--peer-run", action="store_true",
                        help="run bench/capacity.py (one node) at the same N first")
    parser.add_argument("--peer-idle-seconds", type=float, default=5.0)
    parser.add_argument("--timeout-s", type=float, default=1800.0)
    add_json_option(parser)
    args = parser.parse_args()
    raise_fd_limit()
    import uvloop

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "peer").mkdir()
        uvloop.run(scratch_database(args, Path(tmp)))


if __name__ == "__main__":
    main()
