"""``project-architect-db test`` and ``test-parallel``: the self-check suite on this installation.

The suite (:mod:`project_architect_db.selfcheck`) ships inside the package and runs against the
real DuckDB, the offline fts extension and the Python of the user's environment. Arguments after
the options go to pytest unchanged (``-k search``, ``-x``, ``-v`` ...).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from project_architect_db.cli._common import Command, ExitCode, console, fail

__all__ = ["pytest_command", "register"]

_INI = """[pytest]
addopts = -p no:cacheprovider
xfail_strict = true
"""
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def pytest_command(extra: list[str], *, workers: str | None) -> list[str]:
    """The pytest command line that runs the self-check suite from a neutral folder.

    Raises:
        typer.Exit: pytest (or pytest-xdist when ``workers`` is given) is not installed.
    """
    if importlib.util.find_spec("pytest") is None:
        fail(
            "the self-check suite needs pytest: pip install 'project-architect-db[testing]'",
            ExitCode.USAGE,
        )
    if workers is not None and importlib.util.find_spec("xdist") is None:
        fail(
            "test-parallel needs pytest-xdist: pip install 'project-architect-db[testing]' "
            "(or run `project-architect-db test`)",
            ExitCode.USAGE,
        )
    command = [sys.executable, "-m", "pytest", "--pyargs", "project_architect_db.selfcheck"]
    if workers is not None:
        command += ["-n", workers]
    return [*command, *extra]


def _run(extra: list[str], workers: str | None) -> None:
    command = pytest_command(extra, workers=workers)
    out = console()
    where = "in parallel" if workers is not None else "in one process"
    out.print(f"running the self-check suite {where}: [dim]{' '.join(command[1:])}[/]")
    with tempfile.TemporaryDirectory(prefix="padb-selfcheck-") as folder:
        # A neutral root: the user's own pytest.ini / conftest.py must not change the suite.
        ini = Path(folder) / "pytest.ini"
        ini.write_text(_INI, encoding="utf-8")
        command[3:3] = ["-c", str(ini), "--rootdir", folder]
        try:
            code = subprocess.call(command, cwd=folder)
        except KeyboardInterrupt:
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    if code != 0:
        fail(f"the self-check suite failed (pytest exit code {code})", ExitCode.ERROR)
    out.print("[bold green]self-check passed[/]")


def self_check(ctx: typer.Context) -> None:
    """Run the library's self-check suite against this installation (pytest, one process).

    Extra arguments go to pytest.

    Example: project-architect-db test -k search -v
    """
    _run(list(ctx.args), None)


def self_check_parallel(
    ctx: typer.Context,
    workers: Annotated[
        str, typer.Option("--workers", "-n", help="pytest-xdist workers: a number or 'auto'.")
    ] = "auto",
) -> None:
    """Run the self-check suite on several processes with pytest-xdist.

    Extra arguments go to pytest.

    Example: project-architect-db test-parallel --workers 4
    """
    if workers != "auto" and not (workers.isdigit() and int(workers) > 0):
        fail(f"--workers takes a positive number or 'auto', not {workers!r}", ExitCode.USAGE)
    _run(list(ctx.args), workers)


def register(app: typer.Typer) -> None:
    """Add ``test`` and ``test-parallel`` to ``app``."""
    app.command("test", cls=Command, context_settings=_PASS_THROUGH)(self_check)
    app.command("test-parallel", cls=Command, context_settings=_PASS_THROUGH)(self_check_parallel)
