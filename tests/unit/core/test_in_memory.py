"""Whether a target is in memory has one answer: ``core.settings.is_in_memory``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import project_architect_db
from project_architect_db.core.extensions import default_extension_directory
from project_architect_db.core.settings import Settings, is_in_memory
from project_architect_db.exceptions import ConfigurationError
from project_architect_db.maintenance import compact

PACKAGE = Path(project_architect_db.__file__).parent
THE_ANSWER = PACKAGE / "core" / "settings.py"


@pytest.mark.parametrize("target", [":memory:", ":memory:shared", "", None])
def test_memory_targets_are_in_memory(target: str | None) -> None:
    assert is_in_memory(target) is True


@pytest.mark.parametrize(
    "target",
    ["architect.duckdb", "memory.duckdb", "data/:memory:", "./:memory:", " :memory:", ":MEMORY:"],
)
def test_file_targets_are_not_in_memory(target: str) -> None:
    assert is_in_memory(target) is False


def test_a_path_object_is_a_file_even_when_named_like_memory(tmp_path: Path) -> None:
    assert is_in_memory(tmp_path / ":memory:") is False
    assert is_in_memory(Path("architect.duckdb")) is False


def test_settings_in_memory_is_the_same_answer() -> None:
    assert Settings(database=":memory:").in_memory is True
    assert Settings(database=":memory:named").in_memory is True
    assert Settings(database="architect.duckdb").in_memory is False


def test_every_caller_gives_the_same_answer_for_a_named_memory_database(tmp_path: Path) -> None:
    # the extension folder of a memory database is the user cache, not a folder named ':memory:x'
    assert default_extension_directory(":memory:x").parts[-2:] == (
        "project-architect-db",
        "extensions",
    )
    beside = default_extension_directory(str(tmp_path / "a.duckdb"))
    assert beside == tmp_path.resolve() / ".padb" / "extensions"


async def test_compacting_an_in_memory_target_is_refused_with_what_to_do() -> None:
    for target in (":memory:", ":memory:x", ""):
        with pytest.raises(ConfigurationError, match="in-memory database has no file"):
            await compact(target)


def _spelt_out(source: str) -> list[int]:
    """Lines that test for ``':memory:'`` themselves (a comparison or ``startswith``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Compare)
            and any(
                isinstance(item, ast.Constant) and item.value == ":memory:"
                for item in (node.left, *node.comparators)
            )
        ) or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("startswith", "endswith")
            and any(isinstance(a, ast.Constant) and ":memory:" in str(a.value) for a in node.args)
        ):
            lines.append(node.lineno)
    return lines


def test_no_module_but_settings_tests_for_memory_itself() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != THE_ANSWER and (lines := _spelt_out(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, f"use core.settings.is_in_memory instead: {offenders}"


def test_the_scan_sees_each_way_of_spelling_the_test() -> None:
    assert _spelt_out('x = db == ":memory:"\n') == [1]
    assert _spelt_out('x = ":memory:" != db\n') == [1]
    assert _spelt_out('x = db.startswith(":memory:")\n') == [1]
    assert _spelt_out('duckdb.connect(":memory:")\n') == []
