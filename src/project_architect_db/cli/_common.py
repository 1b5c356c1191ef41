"""What every command shares: the database option, exit codes, error reporting, async running."""

from __future__ import annotations

import asyncio
import enum
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from project_architect_db.exceptions import (
    ConfigurationError,
    DatabaseLockedError,
    ProjectArchitectDBError,
    ReadOnlyError,
    SchemaOutdatedError,
    StorageError,
)

__all__ = [
    "DatabaseOption",
    "ExitCode",
    "INTERRUPTED_MESSAGE",
    "JsonOption",
    "console",
    "fail",
    "migration_engine",
    "print_json",
    "require_file",
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
        help="DuckDB file (or :memory:); also PADB_DATABASE.",
        show_default=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


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


def require_file(database: str) -> None:
    """Refuse a missing database file (only ``init`` creates one)."""
    if database.startswith(":memory:"):
        fail("this command needs a database file, not :memory:", ExitCode.USAGE)
    if not path_exists(database):
        fail(
            f"no database at {database}: create it with `project-architect-db init "
            f"--database {database}`",
            ExitCode.MISSING_FILE,
        )


@asynccontextmanager
async def migration_engine(database: str) -> AsyncIterator[AsyncEngine]:
    """An engine on ``database`` that does not check the schema (migrations need that)."""
    from pydantic import ValidationError as SettingsError

    from project_architect_db.core.engine import create_engine
    from project_architect_db.core.settings import Settings
    from project_architect_db.exceptions._translate import translating

    try:
        settings = Settings(database=database, load_fts=False)
    except SettingsError as error:
        fail(f"invalid database {database[:100]!r}: {error.errors()[0]['msg']}", ExitCode.USAGE)
    engine = create_engine(settings)
    try:
        with translating():
            async with engine.connect():
                pass
        yield engine
    finally:
        await engine.dispose()


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


async def gather_all(*awaitables: Awaitable[Any]) -> list[Any]:
    """``asyncio.gather`` that cancels the rest when one fails."""
    return list(await asyncio.gather(*awaitables))
