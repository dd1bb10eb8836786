"""Unit tests for switchboard.cli.demo: the ``demo`` command's options."""

from __future__ import annotations

import argparse

import pytest

from switchboard.cli.demo import add_demo_command


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="switchboard")
    add_demo_command(top.add_subparsers())
    return top


def test_defaults() -> None:
    args = parser().parse_args(["demo"])
    assert args.duration is None
    assert args.port is None
    assert args.interval == 5.0
    assert callable(args.func)


def test_values() -> None:
    args = parser().parse_args(["demo", "--duration", "20", "--port", "0", "--interval", "0.5"])
    assert (args.duration, args.port, args.interval) == (20.0, 0, 0.5)


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--duration", "0"],
        ["demo", "--duration", "-3"],
        ["demo", "--duration", "nan"],
        ["demo", "--interval", "soon"],
        ["demo", "--port", "http"],
    ],
)
def test_bad_values_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        parser().parse_args(argv)
    assert exc_info.value.code == 2
    assert "switchboard demo: error:" in capsys.readouterr().err
