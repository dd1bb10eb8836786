"""switchboard.extras: the table of optional modules agrees with pyproject.toml, and require()."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from switchboard.errors import SwitchboardError
from switchboard.extras import EXTRA_OF, MissingExtraError, install_hint, is_installed, require

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _requirement_names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        name = requirement.split(";")[0]
        for sep in "<>=!~[ ":
            name = name.split(sep)[0]
        names.add(name.strip().lower())
    return names


def test_every_optional_module_is_in_its_extra_and_in_test_and_not_a_core_dependency() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project["optional-dependencies"]
    core = _requirement_names(project["dependencies"])
    for module, extra in EXTRA_OF.items():
        assert module in _requirement_names(extras[extra]), (module, extra)
        assert module in _requirement_names(extras["test"]), module  # the suite tests it
        assert module not in core, module


def test_require_passes_when_installed_and_names_the_extra_when_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require("asyncpg", "the PostgreSQL store")  # installed in the test venv
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # as if it were not
    assert not is_installed("asyncpg")
    with pytest.raises(MissingExtraError) as raised:
        require("asyncpg", "the PostgreSQL store (--store postgresql://…)")
    assert isinstance(raised.value, SwitchboardError)
    assert (raised.value.module, raised.value.extra) == ("asyncpg", "postgres")
    assert str(raised.value) == (
        "the PostgreSQL store (--store postgresql://…) needs asyncpg: "
        "pip install 'switchboard-python[postgres]' into this environment "
        "(from a checkout: pip install '.[postgres]')"
    )
    assert install_hint("demo").startswith("pip install 'switchboard-python[demo]' ")


def test_require_refuses_a_module_that_is_no_extra() -> None:
    with pytest.raises(KeyError):
        require("json", "anything")

