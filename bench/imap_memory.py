"""Measure RSS per idle TLS IMAP connection: ImapConnection on stock asyncio vs uvloop.

Usage::

    .venv/bin/python bench/imap_memory.py --connections 1000

What it does: starts a fake IMAP server over TLS in a *separate process* (its memory must not
count), then for each stack runs a fresh measuring process that opens N connections, each
doing LOGIN, SELECT INBOX and IDLE, and reports (VmRSS after - VmRSS before) / N from
``/proc/self/status``. Stacks:

* ``asyncio+16KiB`` - stock asyncio with switchboard.imap.tls's 16 KiB TLS read buffer (ours);
* ``uvloop``        - uvloop's native TLS (ours when uvloop is installed);
* ``asyncio+256KiB`` - the comparison peer: stock asyncio's default 256 KiB buffer, obtained
  by setting our small-buffer protocol's ``max_size`` back to asyncio's default in that
  measuring process only.

The server is ``bench/fake_imap.py``'s ``FakeImapServer``. The last line prints the ratio
peer / ours; ``--json PATH`` writes the figures for ``bench/run.py``. Target: <= 64 KB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import add_json_option, row, write_json

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

TARGET_BYTES_PER_CONNECTION = 64 * 1024
OPEN_CONCURRENCY = 50  # handshakes in flight at once; 2 cores do ~400 handshakes/s
USERNAME, PASSWORD = "bench", "bench-password"
STACKS = ("asyncio+16KiB", "uvloop", "asyncio+256KiB")


# --------------------------------------------------------------------------- the server side


async def _serve(directory: Path) -> None:
    from bench.fake_imap import FakeImapServer

    server = FakeImapServer(password=PASSWORD)
    await server.start()
    ca_file = directory / "fake-imap-cert.pem"
    ca_file.write_bytes(server.cert_pem)
    info = {
        "port": server.tls_port,
        "ca_file": str(ca_file),
        "username": USERNAME,  # the fake server takes any user name
        "password": PASSWORD,
        "server": "bench/fake_imap.py",
    }
    print(json.dumps(info), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until parent ends


# ------------------------------------------------------------------------- the client side


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def _measure(stack: str, n: int, info: dict[str, str]) -> dict[str, object]:
    from switchboard.imap import tls
    from switchboard.imap.connection import ImapConnection

    if stack == "asyncio+256KiB":
        # The comparison peer: asyncio's own default buffer size, in this process only.
        tls._SmallBufferSSLProtocol.max_size = asyncio.sslproto.SSLProtocol.max_size
    context = tls.default_ssl_context(info["ca_file"])
    semaphore = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one() -> ImapConnection:
        async with semaphore:
            conn = await ImapConnection.open(
                "127.0.0.1", int(info["port"]), ssl_context=context, connect_timeout_s=60
            )
            await conn.login(info["username"], info["password"])
            await conn.select("INBOX")
            await conn.idle_start()
            return conn

    warm = await one()  # imports, the CA store, first-use allocations: not per connection
    gc.collect()
    before = _rss_bytes()
    conns = await asyncio.gather(*(one() for _ in range(n)))
    gc.collect()
    after = _rss_bytes()
    for conn in [*conns, warm]:
        await conn.close()
    return {"stack": stack, "n": n, "per_connection": (after - before) / n}


def _run_measure(stack: str, n: int, info: dict[str, str]) -> dict[str, object]:
    if stack == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(_measure(stack, n, info))
    return asyncio.run(_measure(stack, n, info))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--serve", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--measure", metavar="STACK", help=argparse.SUPPRESS)
    parser.add_argument("--server-info", help=argparse.SUPPRESS)
    add_json_option(parser)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.serve:
        asyncio.run(_serve(Path(args.serve)))
        return
    if args.measure:
        print(json.dumps(_run_measure(args.measure, args.connections,
                                      json.loads(args.server_info))))
        return

    with tempfile.TemporaryDirectory() as directory:
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", directory],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            assert server.stdout is not None
            info_line = server.stdout.readline()
            info = json.loads(info_line)
            results: dict[str, float] = {}
            for stack in STACKS:
                out = subprocess.run(
                    [sys.executable, __file__, "--measure", stack, "--connections",
                     str(args.connections), "--server-info", info_line],
                    capture_output=True, text=True, check=False, timeout=600,
                )
                if out.returncode != 0:
                    raise SystemExit(f"{stack} failed:\n{out.stderr}")
                results[stack] = float(json.loads(out.stdout)["per_connection"])
        finally:
            if server.stdin is not None:
                server.stdin.close()
            server.wait(timeout=10)
    print(f"RSS per idle TLS IMAP connection (LOGIN+SELECT+IDLE), N={args.connections}, "
          f"server: {info['server']} in its own process, Python {sys.version.split()[0]}")
    print(f"{'stack':<16} {'KB/conn':>8}  target <= {TARGET_BYTES_PER_CONNECTION // 1024} KB")
    for stack in STACKS:
        kb = results[stack] / 1024
        verdict = "ok" if results[stack] <= TARGET_BYTES_PER_CONNECTION else "over"
        note = "  (peer: asyncio default)" if stack == "asyncio+256KiB" else f"  {verdict}"
        print(f"{stack:<16} {kb:>8.1f}{note}")
    peer = results["asyncio+256KiB"]
    small, uv = peer / results["asyncio+16KiB"], peer / results["uvloop"]
    write_json(args.json, "imap_memory", [
        row(f"RSS per idle TLS connection, {stack}, N={args.connections}", results[stack] / 1024,
            "KB", floor=peer / 1024, floor_name="asyncio's default 256 KiB TLS buffer",
            vs=peer / results[stack], target=f"<= {TARGET_BYTES_PER_CONNECTION // 1024} KB",
            met=results[stack] <= TARGET_BYTES_PER_CONNECTION)
        for stack in ("uvloop", "asyncio+16KiB")
    ], {"connections": args.connections, "bytes_per_connection": results})
    print(f"ratio peer/ours: asyncio+256KiB / asyncio+16KiB = {small:.1f}x,"
          f" asyncio+256KiB / uvloop = {uv:.1f}x")


if __name__ == "__main__":
    main()
