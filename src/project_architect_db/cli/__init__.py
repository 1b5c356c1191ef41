"""The ``project-architect-db`` command line (Typer + Rich).

Examples:
    project-architect-db init --database architect.duckdb
    project-architect-db migrate current --database architect.duckdb
    project-architect-db db-analyze --json
"""

from __future__ import annotations

import typer

from project_architect_db.cli import demo, maintenance, migrate, seed

__all__ = ["app", "main"]

app = typer.Typer(
    name="project-architect-db",
    help="Operate project-architect-db databases: create, migrate, seed, inspect, benchmark.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
maintenance.register(app)
app.command("seed")(seed.seed)
app.command("demo")(demo.demo)
app.add_typer(migrate.app, name="migrate")


def main() -> None:
    """Console-script entry point."""
    app()
