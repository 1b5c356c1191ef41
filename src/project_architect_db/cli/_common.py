"""What every command shares: the database option, exit codes, error reporting, async running."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.core import TyperCommand, TyperGroup, TyperOption

from project_architect_db.core.settings import is_in_memory, is_lake
from project_architect_db.exceptions import (
    ConfigurationError,
    DatabaseLockedError,
    ProjectArchitectDBError,
    ReadOnlyError,
    SchemaOutdatedError,
    StorageError,
)

__all__ = [
    "Command",
    "DatabaseOption",
    "Group",
    "ExitCode",
    "INTERRUPTED_MESSAGE",
    "JsonOption",
    "console",
    "fail",
    "migration_engine",
    "print_json",
    "require_file",
    "require_schema",
    "run",
]

T = TypeVar("T")


class ExitCode(enum.IntEnum):
    """Distinct exit codes, so scripts can tell failures apart."""

    OK = 0
    ERROR = 1
    USAGE = 2
    MISSING_FILE = 3
    LOCKED = 4
    OUTDATED_SCHEMA = 5
    READ_ONLY = 6
    STORAGE = 7
    INTERRUPTED = 130


DatabaseOption = Annotated[
    str,
    typer.Option(
        "--database",
        "-d",
        envvar="PADB_DATABASE",
        help="DuckDB file, :memory:, or a lake 'ducklake:postgres:<conninfo>' (its data "
        "folder from PADB_DATA_PATH); also PADB_DATABASE.",
        show_default=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


class _FlagOption(TyperOption):
    """An on/off flag: typer's Rich help prints no ``<bool>`` type after it."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def _plain_flags(params: list[Any]) -> list[Any]:
    # typer's Rich help prints a type after every option, `<bool>` after an on/off flag too
    # (`--yes <bool>` reads as if it took a value), and it reads no metavar for options: the
    # flags become a subclass that shows none. Nothing else about them changes.
    for param in params:
        if type(param) is TyperOption and param.is_flag:
            param.__class__ = _FlagOption
    return params


class Command(TyperCommand):
    """A command whose help shows no type after plain flags (``--yes``, ``--json``, ``--help``)."""

    def get_params(self, ctx: Any) -> Any:
        return _plain_flags(super().get_params(ctx))


class Group(TyperGroup):
    """A command group whose help shows no type after plain flags."""

    def get_params(self, ctx: Any) -> Any:
        return _plain_flags(super().get_params(ctx))


def console(stderr: bool = False) -> Any:
    """A Rich console (imported lazily: the CLI starts fast)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> NoReturn:
    """Print ``message`` (plain text, never Rich markup) to stderr and exit with ``code``."""
    from rich.markup import escape

    console(stderr=True).print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(int(code))


def _code_for(error: ProjectArchitectDBError) -> ExitCode:
    if isinstance(error, DatabaseLockedError):
        return ExitCode.LOCKED
    if isinstance(error, SchemaOutdatedError):
        return ExitCode.OUTDATED_SCHEMA
    if isinstance(error, ReadOnlyError):
        return ExitCode.READ_ONLY
    if isinstance(error, StorageError):
        return ExitCode.STORAGE
    if isinstance(error, ConfigurationError):
        return ExitCode.USAGE
    return ExitCode.ERROR


INTERRUPTED_MESSAGE = (
    "interrupted: work that had not committed was rolled back; the database file is intact"
)


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run an async command on uvloop; library errors and Ctrl-C become clean exits."""
    from project_architect_db._runner import run as run_loop

    coroutine = main()
    try:
        return run_loop(coroutine)
    except ProjectArchitectDBError as error:
        fail(str(error), _code_for(error))
    except KeyboardInterrupt:
        coroutine.close()  # never started if the signal came first: no "never awaited" warning
        # plain write: importing Rich while handling Ctrl-C could be interrupted again
        sys.stderr.write(INTERRUPTED_MESSAGE + "\n")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def path_exists(database: str) -> bool:
    """Whether ``database`` exists; a path the OS refuses (too long, ...) is a usage error."""
    try:
        return Path(database).expanduser().exists()
    except OSError as error:
        fail(f"cannot use the path {database[:100]!r}: {error.strerror}", ExitCode.USAGE)


def stdin_is_terminal() -> bool:
    """Whether someone can answer a question on stdin."""
    return sys.stdin.isatty()


def confirm(question: str, yes: bool) -> None:
    """Go on when ``yes`` or when the user answers yes; otherwise exit having changed nothing.

    Nobody can answer on a stdin that is not a terminal (a script, a CI job): the command then
    refuses instead of waiting for an answer that never comes, and says to pass ``--yes``.
    """
    if yes:
        return
    if not stdin_is_terminal():
        fail(
            f"this needs a confirmation ({question}) and stdin is not a terminal to ask on: "
            "pass --yes (-y) to go ahead without asking. Nothing was changed.",
            ExitCode.USAGE,
        )
    if not typer.confirm(question, default=False):
        console(stderr=True).print("aborted: nothing was changed")
        raise typer.Exit(int(ExitCode.ERROR))


def require_file(database: str) -> None:
    """Refuse a missing database file (only ``init`` creates one); a lake is always there."""
    if is_lake(database):  # its catalog is checked when it is attached
        return
    if is_in_memory(database):
        fail("this command needs a database file, not :memory:", ExitCode.USAGE)
    if not path_exists(database):
        fail(
            f"no database at {database}: create it with `project-architect-db init "
            f"--database {database}`",
            ExitCode.MISSING_FILE,
        )


def refuse_empty_file(database: str) -> None:
    """Refuse a 0-byte file (``touch``-ed, not yet a database) with the command that makes one."""
    try:
        empty = Path(database).expanduser().stat().st_size == 0
    except OSError:
        return  # missing or unreadable: the command's own checks say so
    if empty:
        fail(
            f"{database} is an empty file, not a database yet: create the schema with "
            f"`project-architect-db init --database {database}`",
            ExitCode.OUTDATED_SCHEMA,
        )


async def require_schema(database: str, *, any_revision: bool = False) -> None:
    """Refuse a file that does not hold this library's schema (at the latest revision).

    Commands that read or write the tables call this first, so an empty DuckDB file, a file
    made by plain duckdb and an outdated one get the command that fixes them, not a raw error.

    Args:
        database: The database file.
        any_revision: Accept the schema at any revision this code knows (or a newer one).

    Raises:
        SchemaOutdatedError: No schema yet (run ``init``), or behind (run ``migrate upgrade``).
        MigrationError: Tables, but not this library's (no ``alembic_version``).
    """
    import functools

    from project_architect_db.migration import MigrationManager, decide
    from project_architect_db.migration.manager._scripts import _is_known

    async with migration_engine(database) as engine:
        manager = MigrationManager(engine)
        state = await manager.state()
    if not state.versions and not state.tables:
        raise SchemaOutdatedError(
            f"{database} is a DuckDB file without the project-architect-db schema: create it "
            f"with `project-architect-db init --database {database}` (or `project-architect-db "
            f"migrate upgrade --database {database}`)."
        )
    if any_revision and state.versions is not None:
        return
    decide(
        state,
        head=await manager.head(),
        known=functools.partial(_is_known, manager.script_directory()),
        upgrade=False,
        database=database,
    )


@asynccontextmanager
async def migration_engine(database: str) -> AsyncIterator[AsyncEngine]:
    """An engine on ``database`` that does not check the schema (migrations need that)."""
    from pydantic import ValidationError as SettingsError

    from project_architect_db.core.engine import connection_setup, create_engine
    from project_architect_db.core.lake import lake_errors
    from project_architect_db.core.settings import Settings
    from project_architect_db.exceptions._translate import translating

    try:
        settings = Settings(database=database, load_fts=False)
    except SettingsError as error:
        fail(f"invalid database {database[:100]!r}: {error.errors()[0]['msg']}", ExitCode.USAGE)
    init_sql, config = await connection_setup(settings)  # a lake: its ATTACH
    engine = create_engine(settings, init_sql=init_sql, config=config)
    try:
        with translating(), lake_errors(settings):
            async with engine.connect():
                pass
        yield engine
    finally:
        await engine.dispose()


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
