"""The ``project-architect-db`` command line (Typer + Rich).

Examples:
    project-architect-db init --database architect.duckdb
    project-architect-db migrate current --database architect.duckdb
    project-architect-db db-analyze --json
    project-architect-db benchmark --chart bench.png
    project-architect-db test-parallel
    project-architect-db lake serve ./lake-pg
"""

from __future__ import annotations

import typer

from project_architect_db.cli import (
    backup,
    bench,
    demo,
    lake,
    maintenance,
    migrate,
    portable,
    search,
    seed,
    selftest,
)
from project_architect_db.cli._common import Command, Group

__all__ = ["app", "main"]

app = typer.Typer(
    name="project-architect-db",
    help="Operate project-architect-db databases: create, migrate, seed, inspect, benchmark.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    cls=Group,
)
maintenance.register(app)
backup.register(app)
portable.register(app)
app.command("seed", cls=Command)(seed.seed)
app.command("demo", cls=Command)(demo.demo)
app.command("search", cls=Command)(search.search)
app.command("benchmark", cls=Command)(bench.benchmark)
selftest.register(app)
app.add_typer(migrate.app, name="migrate")
app.add_typer(lake.app, name="lake")


def main() -> None:
    """Console-script entry point (Ctrl-C outside a command's own handling: typer exits 130)."""
    app()
