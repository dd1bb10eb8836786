"""Retry policy bounds, the retry loop, the dead-letter file and per-key order."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from switchboard.workers.delivery import (
    DeadLetterFile,
    DeliveryError,
    KeyedOrder,
    PermanentError,
    RetryPolicy,
    deliver_to_each,
    deliver_with_retries,
)


def test_delays_are_jittered_under_a_doubling_capped_ceiling() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay_s=1.0, max_delay_s=5.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = [policy.delay_s(attempt, rng) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > ceiling / 2  # jitter spreads over the range
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay_s=-1)


async def test_retry_loop_counts_attempts_and_stops_on_permanent_errors() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise DeliveryError("busy")
        return "ok"

    policy = RetryPolicy(max_attempts=3, base_delay_s=0.1)
    assert await deliver_with_retries(flaky, policy, sleep=sleep) == "ok"
    assert calls == 3 and len(waits) == 2

    async def always() -> None:
        raise DeliveryError("down")

    with pytest.raises(DeliveryError):
        await deliver_with_retries(always, policy, sleep=sleep)

    async def refused() -> None:
        nonlocal calls
        calls += 1
        raise PermanentError("no")

    calls = 0
    with pytest.raises(PermanentError):
        await deliver_with_retries(refused, policy, sleep=sleep)
    assert calls == 1


async def test_deliver_to_each_retries_only_the_targets_not_done(tmp_path: Path) -> None:
    sent: list[str] = []
    failures = {"b": 1, "c": 99}  # b fails once then works; c never works; d refuses for good

    async def send(target: str) -> bool:
        sent.append(target)
        if failures.get(target, 0) > 0:
            failures[target] -= 1
            raise DeliveryError(f"{target} busy")
        return target != "d"

    dead = DeadLetterFile(tmp_path / "dead.jsonl")
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.001)
    accepted = await deliver_to_each(
        ["a", "b", "d", "c"], send, policy, what="test", dead_letter=dead,
        dead_record=lambda pending: {"targets": pending},
    )
    # Attempt 1: a accepted, b busy (the attempt stops there). Attempt 2: b accepted, d refused
    # for good (done), c busy. Attempt 3: only c again, busy again -> dead-lettered.
    assert accepted == 2
    assert sent == ["a", "b", "b", "d", "c", "c"]  # nothing re-sent once done
    [record] = [line for line in (tmp_path / "dead.jsonl").read_text().splitlines() if line]
    assert json.loads(record)["event"] == {"targets": ["c"]}

    failures["c"] = 99
    with pytest.raises(DeliveryError):
        await deliver_to_each(["c"], send, policy, what="test", dead_letter=None,
                              dead_record=lambda pending: {"targets": pending})


async def test_dead_letter_file_appends_whole_lines(tmp_path: Path) -> None:
    dead = DeadLetterFile(tmp_path / "sub" / "dead.jsonl")
    assert dead.records() == []
    await asyncio.gather(*(dead.write({"n": n, "text": "é\n"}, f"e{n}") for n in range(20)))
    records = dead.records()
    assert sorted(r["event"]["n"] for r in records) == list(range(20))
    assert all(r["error"] == f"e{r['event']['n']}" for r in records)
    assert (tmp_path / "sub" / "dead.jsonl").stat().st_mode & 0o777 == 0o600


async def test_keyed_order_serialises_a_key_and_parallelises_keys() -> None:
    order = KeyedOrder()
    log: list[str] = []
    release_a1 = asyncio.Event()
    b_done = asyncio.Event()

    async def job(key: str, name: str, gate: asyncio.Event | None = None) -> None:
        async with order.turn(key):
            if gate is not None:
                await gate.wait()
            log.append(name)
            if key == "b":
                b_done.set()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(job("a", "a1", release_a1))
        tg.create_task(job("a", "a2"))
        tg.create_task(job("b", "b1"))
        await b_done.wait()  # b ran while a1 was still blocked
        assert log == ["b1"]
        release_a1.set()
    assert log == ["b1", "a1", "a2"]
    assert len(order) == 0
