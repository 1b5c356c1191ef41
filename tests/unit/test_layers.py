"""The layer contracts of pyproject.toml ([tool.importlinter]) hold, and catch a backwards import.

``scripts/test.sh`` runs ``lint-imports`` too; these tests keep a plain ``pytest`` run honest
and prove the check is not vacuous: the same contracts fail on a copy of the package that has
one import running a layer backwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "project_architect_db"


def _lint_imports() -> str:
    found = Path(sys.executable).with_name("lint-imports")
    if not found.exists():  # pragma: no cover - the dev extra installs it
        pytest.fail("lint-imports is missing: pip install -e '.[dev]' (import-linter)")
    return str(found)


def _run(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [_lint_imports(), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    """The package and pyproject.toml copied under ``tmp_path`` (the package under src/)."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        PACKAGE,
        tmp_path / "src" / "project_architect_db",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path / "src" / "project_architect_db"


def test_the_package_keeps_every_layer_contract() -> None:
    result = _run(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "backwards", "message"),
    [
        (
            "core/readers.py",
            "from project_architect_db.repositories import _context",
            "project_architect_db.core is not allowed to import project_architect_db.repositories",
        ),
        (
            "repositories/_reads.py",
            "from project_architect_db import database",
            "project_architect_db.repositories is not allowed to import "
            "project_architect_db.database",
        ),
        (
            "exceptions/_usage.py",
            "from project_architect_db.core import settings",
            "project_architect_db.exceptions is not allowed to import project_architect_db.core",
        ),
    ],
)
def test_a_backwards_import_breaks_the_layer_contract(
    tmp_path: Path, module: str, backwards: str, message: str
) -> None:
    package = _copy(tmp_path)
    target = package / module
    target.write_text(target.read_text() + f"\n{backwards}  # backwards on purpose\n")
    result = _run(tmp_path, tmp_path / "src")
    assert result.returncode == 1, result.stdout + result.stderr
    output = " ".join(result.stdout.split())  # lint-imports wraps long lines
    assert "BROKEN" in output
    assert message in output
    assert module.replace("/", ".").removesuffix(".py") in output


def test_the_cli_may_not_reach_into_the_repositories(tmp_path: Path) -> None:
    package = _copy(tmp_path)
    target = package / "cli" / "_common.py"
    target.write_text(
        target.read_text() + "\nfrom project_architect_db.repositories import changes  # no\n"
    )
    result = _run(tmp_path, tmp_path / "src")
    assert result.returncode == 1, result.stdout + result.stderr
    output = " ".join(result.stdout.split())
    assert "The CLI uses the public API" in output
    assert "project_architect_db.cli._common -> project_architect_db.repositories.changes" in output
