import asyncio

import pytest

from switchboard.engine.admission import AdmissionControl, RateBucket


class FakeTime:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_bucket_burst_then_rate():
    bucket = RateBucket(10.0, burst=5)
    waits = [bucket.reserve(0.0) for _ in range(8)]
    assert waits[:5] == [0.0] * 5
    assert waits[5:] == pytest.approx([0.1, 0.2, 0.3])


def test_bucket_refills_after_quiet_period():
    bucket = RateBucket(2.0, burst=1)
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0) == pytest.approx(0.5)
    assert bucket.idle_at(10.0)
    assert bucket.reserve(10.0) == 0.0


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (1.0, 0)])
def test_bucket_rejects_bad_arguments(rate, burst):
    with pytest.raises(ValueError):
        RateBucket(rate, burst)


async def test_global_rate_paces_a_burst_of_many_hosts():
    t = FakeTime()
    admission = AdmissionControl(50.0, 10.0, clock=t.clock, sleep=t.sleep)
    start = t.now
    # 500 accounts on 500 hosts reconnect at once, one after another on the fake clock.
    for i in range(500):
        await admission.admit(f"host{i}.example")
    elapsed = t.now - start
    # 50 may go at once, the other 450 at 50/s.
    assert elapsed == pytest.approx(9.0, abs=0.05)
    assert admission.admitted == 500


async def test_per_host_rate_applies_to_one_host():
    t = FakeTime()
    admission = AdmissionControl(1000.0, 10.0, clock=t.clock, sleep=t.sleep)
    start = t.now
    for _ in range(30):
        await admission.admit("IMAP.example.com")
    assert t.now - start == pytest.approx(2.0, abs=0.05)


async def test_concurrent_callers_get_distinct_slots():
    t = FakeTime()
    started = asyncio.Event()

    async def frozen_sleep(seconds: float) -> None:
        # The clock stands still: every caller reserves at the same instant.
        t.sleeps.append(seconds)
        await started.wait()

    admission = AdmissionControl(5.0, 100.0, clock=t.clock, sleep=frozen_sleep)
    waiting = asyncio.gather(*(admission.admit(f"h{i}") for i in range(15)))
    await asyncio.sleep(0)  # let every admit() run up to its sleep
    assert sorted(t.sleeps) == pytest.approx([0.2 * k for k in range(1, 11)])
    started.set()
    await waiting
    assert admission.admitted == 15


async def test_idle_host_buckets_are_forgotten():
    t = FakeTime()
    admission = AdmissionControl(1000.0, 1000.0, clock=t.clock, sleep=t.sleep, max_tracked_hosts=4)
    for i in range(4):
        await admission.admit(f"h{i}")
    t.now += 100
    await admission.admit("new-host")
    assert len(admission._hosts) == 1


def test_admission_rejects_bad_rates():
    t = FakeTime()
    with pytest.raises(ValueError):
        AdmissionControl(10.0, 0.0, clock=t.clock, sleep=t.sleep)
