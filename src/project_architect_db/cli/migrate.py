"""``project-architect-db migrate ...``: the schema's Alembic history, from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from project_architect_db.cli._common import (
    Command,
    DatabaseOption,
    Group,
    JsonOption,
    confirm,
    console,
    fail,
    migration_engine,
    print_json,
    require_file,
    run,
)

app = typer.Typer(
    help="Upgrade, downgrade and inspect the schema.\n\n"
    "Example: project-architect-db migrate upgrade --database architect.duckdb",
    no_args_is_help=True,
    cls=Group,
)


@app.command(cls=Command)
def upgrade(
    database: DatabaseOption = "architect.duckdb",
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Upgrade the schema (to the latest revision by default)."""
    from project_architect_db.migration import MigrationManager

    require_file(database)

    async def main() -> tuple[str | None, str | None]:
        async with migration_engine(database) as engine:
            manager = MigrationManager(engine)
            await manager.refuse_newer()
            before = await manager.current()
            await manager.upgrade(revision)
            return before, await manager.current()

    before, after = run(main)
    console().print(f"schema: {before or 'empty'} -> [bold green]{after}[/]")


@app.command(cls=Command)
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, or 'base' for none.")],
    database: DatabaseOption = "architect.duckdb",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Downgrade the schema to an earlier revision (asks first unless --yes: it drops data).

    Example: project-architect-db migrate downgrade base --database architect.duckdb --yes
    """
    from project_architect_db.cli import _downgrade
    from project_architect_db.migration import MigrationManager
    from project_architect_db.migration.manager._failures import _errors

    require_file(database)

    async def planned() -> tuple[str | None, list[_downgrade.Step]]:
        async with migration_engine(database) as engine:
            manager = MigrationManager(engine)
            await manager.refuse_newer()
            before = await manager.current()
            with _errors(f"Downgrading {database} to {revision}"):
                return before, _downgrade.plan(manager.script_directory(), before, revision)

    before, steps = run(planned)
    if steps:
        out = console(stderr=True)
        out.print(f"Downgrading {database} to {revision} undoes:", markup=False)
        for line in _downgrade.describe(steps):
            out.print(line, markup=False)
        tables = sorted({table for step in steps for table in step.tables})
        lost = f"tables {', '.join(tables)} and every row in them" if tables else "data"
        confirm(
            f"Downgrade {database} to {revision}? This can delete {lost}; back the file up first",
            yes,
        )

    async def main() -> str | None:
        async with migration_engine(database) as engine:
            manager = MigrationManager(engine)
            await manager.refuse_newer()
            if await manager.current() != before:
                fail(
                    f"{database} changed while the downgrade waited for confirmation: nothing "
                    "was changed; run the command again"
                )
            await manager.downgrade(revision)
            return await manager.current()

    console().print(f"schema now at: [bold]{run(main) or 'base (no tables)'}[/]")


@app.command(cls=Command)
def current(database: DatabaseOption = "architect.duckdb", as_json: JsonOption = False) -> None:
    """Show the database's revision and the code's latest one."""
    from project_architect_db.migration import MigrationManager

    require_file(database)

    async def main() -> tuple[str | None, str]:
        async with migration_engine(database) as engine:
            manager = MigrationManager(engine)
            await manager.refuse_newer()  # "behind" would be wrong: exit 5, upgrade the library
            return await manager.current(), await manager.head()

    revision, head = run(main)
    if as_json:
        print_json({"current": revision, "head": head, "up_to_date": revision == head})
        return
    state = "[green]up to date[/]" if revision == head else "[yellow]behind[/]"
    shown = revision or "base (no schema)"
    console().print(f"current: [bold]{shown}[/]  head: [bold]{head}[/]  ({state})")


@app.command(cls=Command)
def history(database: DatabaseOption = "architect.duckdb", as_json: JsonOption = False) -> None:
    """List every revision, marking the current one and the head."""
    from rich.table import Table

    from project_architect_db.migration import MigrationManager

    require_file(database)

    async def main() -> list[object]:
        async with migration_engine(database) as engine:
            manager = MigrationManager(engine)
            await manager.refuse_newer()
            return list(await manager.history())

    revisions = run(main)
    if as_json:
        print_json([vars(r) if hasattr(r, "__dict__") else _as_dict(r) for r in revisions])
        return
    table = Table("revision", "follows", "message", "")
    for info in revisions:
        marks = " ".join(
            mark
            for mark, on in (("current", info.is_current), ("head", info.is_head))  # type: ignore[attr-defined]
            if on
        )
        table.add_row(info.revision, str(info.down_revision or "-"), info.message, marks)  # type: ignore[attr-defined]
    console().print(table)


def _as_dict(info: object) -> dict[str, object]:
    fields = ("revision", "down_revision", "message", "is_current", "is_head", "path")
    return {name: getattr(info, name) for name in fields}


@app.command(cls=Command)
def revision(
    message: Annotated[str, typer.Argument(help="What the revision changes.")],
    database: DatabaseOption = "architect.duckdb",
    directory: Annotated[
        Path | None, typer.Option(help="Write the file here instead of the package.")
    ] = None,
    autogenerate: Annotated[
        bool, typer.Option(help="Compare the models with the database.")
    ] = True,
) -> None:
    """Write a new revision file (autogenerated from the models by default)."""
    from project_architect_db.migration import MigrationManager

    require_file(database)

    async def main() -> Path:
        async with migration_engine(database) as engine:
            manager = MigrationManager(engine)
            await manager.refuse_newer()
            return await manager.revision(message, autogenerate=autogenerate, directory=directory)

    console().print(f"wrote [bold]{run(main)}[/]")


@app.command(cls=Command)
def check(database: DatabaseOption = "architect.duckdb") -> None:
    """Exit 1 when the models and the database schema differ."""
    from project_architect_db.migration import MigrationManager

    require_file(database)

    async def main() -> list[object]:
        async with migration_engine(database) as engine:
            return list(await MigrationManager(engine).check())

    differences = run(main)
    if differences:
        for difference in differences:
            console().print(f"[yellow]differs:[/] {difference}")
        raise typer.Exit(1)
    console().print("[green]the schema matches the models[/]")


@app.command(cls=Command)
def stamp(
    revision: Annotated[str, typer.Argument(help="The revision the schema already matches.")],
    database: DatabaseOption = "architect.duckdb",
) -> None:
    """Record that the schema is at ``revision`` without running any migration.

    For a database whose tables were made outside this library (check them first with
    ``migrate check``).
    """
    from project_architect_db.migration import MigrationManager

    require_file(database)

    async def main() -> str | None:
        async with migration_engine(database) as engine:
            manager = MigrationManager(engine)
            await manager.refuse_newer()
            await manager.stamp(revision)
            return await manager.current()

    console().print(f"schema stamped at [bold]{run(main) or 'base (no schema)'}[/]")
