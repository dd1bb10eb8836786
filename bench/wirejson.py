"""The wire's JSON codec: ``switchboard.protocol.wirejson`` against the standard library's ``json``.

Usage::

    .venv/bin/python bench/wirejson.py

In this process, best of ``--repeat`` rounds of CPU time (``time.process_time``), per document:
encoding to UTF-8 bytes (what goes to the socket) and decoding, for a ``newMessage`` push, a
small request, a ``getMessages`` reply of 1000 messages with envelope properties, and one of
1000 raw 10 KB messages. The peer is what the server did before orjson: the standard library's
encoder (compact, ``ensure_ascii=False``, ``allow_nan=False``) then ``str.encode``, and
``json.loads`` with the NaN and overflow checks. The last line gives the ratios for the large
raw reply, the case ``getMessages`` spends its time on.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from typing import Any

from switchboard.protocol import wirejson

STDLIB_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def stdlib_dumpb(value: Any) -> bytes:
    return STDLIB_ENCODER.encode(value).encode("utf-8")


def stdlib_loads(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(name)

    def finite(number: str) -> float:
        value = float(number)
        if math.isinf(value):
            raise ValueError(number)
        return value

    return json.loads(text, parse_constant=refuse, parse_float=finite)


def documents() -> dict[str, Any]:
    envelope = {"mailboxId": "INBOX!200", "threadId": None, "subject": "Grüße from the seed",
                "from": [{"name": "Björn", "email": "bjorn@example.com"}],
                "to": [{"name": "", "email": "user1@example.net"}], "cc": [],
                "date": "2017-01-04T12:00:00Z", "size": 3761, "isUnread": True,
                "isFlagged": False, "preview": "Plain body line 1 " * 5}
    body = ("From: Bench <bench@example.com>\r\nSubject: raw\r\n\r\n"
            + ("x" * 76 + "\r\n") * 128)
    return {
        "push": [["newMessage", {"mailboxId": "INBOX!200", "messageId": "INBOX!200?3",
                                 "account": "user1@example.com", "eventId": 12345}]],
        "request": [["getMessages", {"account": "user1@example.com",
                                     "ids": ["INBOX!200?1", "INBOX!200?2"],
                                     "properties": ["subject", "from"]}, 7]],
        "envelopes x1000": [["messages", {"state": "s", "list": [
            dict(envelope, messageId=f"INBOX!200?{i}") for i in range(1000)]}, 5]],
        "raw 10 KB x1000": [["messages", {"state": None, "list": [
            {"messageId": f"INBOX!200?{i}", "raw": body} for i in range(1000)]}, 6]],
    }


def best_us(run: Callable[[], Any], repeat: int) -> float:
    """Best round's CPU time per call, in µs; a round lasts at least ~20 ms."""
    start = time.process_time()
    run()
    once = max(time.process_time() - start, 1e-6)
    calls = max(1, int(0.02 / once))
    best = math.inf
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(calls):
            run()
        best = min(best, (time.process_time() - start) / calls)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"wirejson vs stdlib json: CPU µs per document, best of {args.repeat}")
    print(f"  {'document':18s} {'bytes':>10s} {'encode stdlib':>14s} {'wirejson':>9s} "
          f"{'decode stdlib':>14s} {'wirejson':>9s}")
    ratios = ""
    for name, value in documents().items():
        data = wirejson.dumpb(value)
        text = data.decode("utf-8")
        if data != stdlib_dumpb(value) or wirejson.loads(text) != stdlib_loads(text):
            raise SystemExit(f"MISMATCH for {name}")
        us = [best_us(lambda v=value: stdlib_dumpb(v), args.repeat),
              best_us(lambda v=value: wirejson.dumpb(v), args.repeat),
              best_us(lambda t=text: stdlib_loads(t), args.repeat),
              best_us(lambda t=text: wirejson.loads(t), args.repeat)]
        print(f"  {name:18s} {len(data):10d} {us[0]:14.1f} {us[1]:9.1f} {us[2]:14.1f} {us[3]:9.1f}")
        ratios = f"encode {us[0] / us[1]:.1f}x, decode {us[2] / us[3]:.1f}x"
    print(f"raw 10 KB x1000, wirejson vs stdlib: {ratios} faster")


if __name__ == "__main__":
    main()
