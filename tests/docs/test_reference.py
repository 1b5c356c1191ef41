"""The docstring examples run (doctest), and docs/api is what the docstrings say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import project_architect_db

ROOT = Path(__file__).resolve().parents[2]
#: Test modules, the CLI entry script and Alembic scripts (which only run inside Alembic).
_SKIP_PREFIXES = (
    "project_architect_db.selfcheck.test_",
    "project_architect_db.__main__",
    "project_architect_db.migration.env",
    "project_architect_db.migration.versions",
)


def _modules() -> list[str]:
    names = ["project_architect_db"]
    for info in pkgutil.walk_packages(project_architect_db.__path__, "project_architect_db."):
        if not info.name.startswith(_SKIP_PREFIXES):
            names.append(info.name)
    return sorted(names)


def _tests(module: ModuleType) -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [test for test in finder.find(module) if test.examples]


MODULES_WITH_EXAMPLES = [name for name in _modules() if _tests(importlib.import_module(name))]


def test_the_package_has_docstring_examples_to_run() -> None:
    assert len(MODULES_WITH_EXAMPLES) >= 10


@pytest.mark.parametrize("name", MODULES_WITH_EXAMPLES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in _tests(module):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} docstring example(s) of {name} failed"
    assert results.attempted > 0


def test_api_reference_is_generated_from_the_current_docstrings() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_api_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_api_reference_check_notices_a_stale_or_extra_page(tmp_path: Path) -> None:
    copy = tmp_path / "api"
    shutil.copytree(ROOT / "docs" / "api", copy)
    page = copy / "project_architect_db.search.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nhand edit\n", encoding="utf-8")
    (copy / "old_module.md").write_text("# gone\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_api_docs.py"), "--check", "--out", str(copy)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "project_architect_db.search.md" in done.stdout
    assert "old_module.md" in done.stdout
