"""Unit tests for the pure parts of switchboard.demo.run: options, subjects, the verdict."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.demo.run import DemoOptions, sample_subject, verdict


def test_default_options_run_until_interrupted() -> None:
    options = DemoOptions()
    assert options.duration_s is None
    assert options.port is None
    assert options.interval_s > 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration_s": 0},
        {"duration_s": -1},
        {"interval_s": 0},
        {"port": -1},
        {"port": 65536},
    ],
)
def test_options_refuse_impossible_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        DemoOptions(**kwargs)


def test_sample_subjects_are_distinct() -> None:
    subjects = {sample_subject(n) for n in range(1, 101)}
    assert len(subjects) == 100
    assert sample_subject(3) == "Switchboard demo message #3"


def test_verdict_success_needs_one_received_message() -> None:
    status, line = verdict(delivered=4, received=1, duration_s=20)
    assert status == 0
    assert line == "OK: 1 of 4 message(s) travelled IMAP -> server -> worker in 20 s"


def test_verdict_nothing_received() -> None:
    status, line = verdict(delivered=4, received=0, duration_s=20)
    assert status == 1
    assert line == "FAILED: none of the 4 delivered message(s) reached the worker in 20 s"
    assert "\n" not in line


def test_verdict_nothing_delivered() -> None:
    status, line = verdict(delivered=0, received=0, duration_s=2.5)
    assert status == 1
    assert line == "FAILED: no message could be delivered to the IMAP server in 2.5 s"
