"""`switchboard demo` as a user runs it: one process with pymap, the server and a worker."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys

import pymap  # noqa: F401 - the test extra installs it; a missing one must fail, not skip
import pytest

DEMO = [sys.executable, "-m", "switchboard", "demo"]
TIMEOUT_S = 60.0
SUBJECT = re.compile(r"worker received new message: demouser: 'Switchboard demo message #(\d+)'")


def test_timed_demo_succeeds_and_shows_a_received_message() -> None:
    result = subprocess.run(
        [*DEMO, "--duration", "20"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    received = SUBJECT.findall(out)
    assert received, out
    delivered = re.findall(r"delivered 'Switchboard demo message #(\d+)' to INBOX", out)
    assert set(received) <= set(delivered)
    assert "from Switchboard Demo <demo-sender@example.com>" in out
    assert "to Demo User <demouser@example.com>" in out
    assert re.search(r"dashboard: http://127\.0\.0\.1:\d+/", out)
    assert re.search(r"^\[\d\d:\d\d:\d\d\.\d{3}\] ", out, re.MULTILINE)  # timestamped steps
    assert re.search(r"OK: \d+ of \d+ message\(s\) travelled IMAP -> server -> worker", out)
    assert "Traceback" not in result.stderr
    # "N ms after delivery" counts from the APPEND's completion, which the "delivered" line
    # follows at once: N never exceeds the time between that line and the "received" one.
    for number in received:
        sent = _stamp_ms(out, rf"\] delivered 'Switchboard demo message #{number}'")
        got = _stamp_ms(out, rf"\] worker received new message: .*#{number}'")
        took = re.search(rf"#{number}'.* \((\d+) ms after delivery\)", out)
        assert took, out
        assert int(took.group(1)) <= got - sent + 1, out  # +1: each stamp rounds down


def _stamp_ms(out: str, after: str) -> int:
    """The [HH:MM:SS.mmm] stamp, in ms, of the first line matching ``after``."""
    match = re.search(r"^\[(\d\d):(\d\d):(\d\d)\.(\d{3})" + after, out, re.MULTILINE)
    assert match, (after, out)
    hours, minutes, seconds, millis = map(int, match.groups())
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def test_taken_port_fails_with_one_line() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = subprocess.run(
            [*DEMO, "--duration", "10", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    expected = f"switchboard: error: cannot listen on 127.0.0.1:{port}: address already in use"
    assert lines == [expected]


def test_bad_interval_is_a_usage_error() -> None:
    result = subprocess.run(
        [*DEMO, "--interval", "0"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    assert result.returncode == 2
    assert "--interval: must be greater than 0" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_signal_stops_everything_cleanly(signum: signal.Signals) -> None:
    proc = await asyncio.create_subprocess_exec(
        *DEMO,
        "--port",
        "0",
        "--interval",
        "30",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(TIMEOUT_S):
            while True:  # until the first message went all the way through
                line = (await proc.stdout.readline()).decode()
                assert line, "the demo ended before a message arrived"
                if SUBJECT.search(line):
                    break
            proc.send_signal(signum)
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert out.decode().splitlines()[-1].endswith("] stopped")
    assert err.decode() == ""  # no traceback, no warning about unfinished tasks


async def test_interrupted_timed_run_exits_130() -> None:
    proc = await asyncio.create_subprocess_exec(
        *DEMO,
        "--port",
        "0",
        "--duration",
        "50",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(TIMEOUT_S):
            while "dashboard:" not in (line := (await proc.stdout.readline()).decode()):
                assert line, "the demo ended early"
            proc.send_signal(signal.SIGINT)
            _, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 130
    assert err.decode() == ""


async def test_enter_on_a_terminal_sends_a_message_at_once() -> None:
    primary, secondary = os.openpty()  # the demo's stdin is a terminal: it is interactive
    proc = await asyncio.create_subprocess_exec(
        *DEMO,
        "--port",
        "0",
        "--interval",
        "600",  # the timer alone would not send a second message during this test
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(secondary)
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(TIMEOUT_S):
            while "message #1'" not in (line := (await proc.stdout.readline()).decode()):
                assert line, "the demo ended early"
                seen.append(line)
            assert any("press Enter to send a message now" in s for s in seen)
            os.write(primary, b"\n")
            while True:  # until message #2, sent by the Enter key, reached the worker
                line = (await proc.stdout.readline()).decode()
                assert line, "the demo ended before message #2 arrived"
                match = SUBJECT.search(line)
                if match is not None and match.group(1) == "2":
                    break
            proc.send_signal(signal.SIGINT)
            _, err = await proc.communicate()
    finally:
        os.close(primary)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert err.decode() == ""


def test_without_pymap_says_how_to_install_it() -> None:
    # As if the 'demo' extra were not installed: importing pymap fails.
    code = (
        "import sys; sys.modules['pymap'] = None; from switchboard.cli import main; "
        "sys.exit(main(['demo', '--duration', '5', '--port', '0']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "switchboard: error: the demo's embedded IMAP server needs pymap: "
        "pip install 'switchboard-python[demo]' into this environment "
        "(from a checkout: pip install '.[demo]')"
    ]
