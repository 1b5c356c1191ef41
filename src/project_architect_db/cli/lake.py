"""``project-architect-db lake ...``: a local PostgreSQL for a lake's catalog (issue 14).

Example:
    project-architect-db lake serve ./lake-pg            # foreground; Ctrl-C stops it
    project-architect-db lake serve ./lake-pg --detach   # keeps running; `lake stop` stops it
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from project_architect_db.cli._common import Command, ExitCode, Group, JsonOption, console, fail
from project_architect_db.exceptions import ConfigurationError, ProjectArchitectDBError

app = typer.Typer(
    help="A local PostgreSQL for a DuckLake catalog (development, tests, one machine).\n\n"
    "Example: project-architect-db lake serve ./lake-pg",
    no_args_is_help=True,
    cls=Group,
)

FolderArgument = Annotated[
    Path, typer.Argument(help="Where PostgreSQL keeps its data (created if missing).")
]


def _start(folder: Path) -> Any:
    from project_architect_db.testing.postgres import start_local_postgres

    try:
        return start_local_postgres(folder)
    except ConfigurationError as error:
        fail(str(error), ExitCode.USAGE)
    except ProjectArchitectDBError as error:
        fail(str(error), ExitCode.STORAGE)


def _announce(server: Any, folder: Path, json: bool) -> None:
    data_path = folder.expanduser().resolve().parent / f"{folder.name}-data"
    if json:
        from project_architect_db.cli._common import print_json

        print_json(
            {"catalog": server.catalog, "conninfo": server.conninfo, "data_path": str(data_path)}
        )
        return
    out = console()
    out.print(f"PostgreSQL is running with its data in {server.folder}")
    out.print(f"catalog:   [bold]{server.catalog}[/]")
    out.print(f"open with: Database.open({server.catalog!r}, data_path={str(data_path)!r})")


@app.command(cls=Command)
def serve(
    folder: FolderArgument,
    detach: Annotated[
        bool, typer.Option("--detach", help="Leave it running and return (stop: lake stop).")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Start PostgreSQL for a lake's catalog and print the catalog string to open it with."""
    server = _start(folder)
    _announce(server, folder, json)
    if detach:
        return
    stopped = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        console(stderr=True).print("serving; Ctrl-C stops the server (its data stays)")
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        from project_architect_db.testing.postgres import stop_local_postgres

        stop_local_postgres(server)
    console(stderr=True).print("stopped")


@app.command(cls=Command)
def stop(folder: FolderArgument) -> None:
    """Stop the PostgreSQL started by ``lake serve FOLDER --detach``."""
    if not (folder / "postmaster.pid").is_file():
        fail(f"no PostgreSQL is running with its data in {folder}", ExitCode.MISSING_FILE)
    from project_architect_db.testing.postgres import stop_local_postgres

    stop_local_postgres(_start(folder))
    console().print(f"stopped the PostgreSQL of {folder}")
