"""Running the package's Alembic migrations from code, through the async engine.

Alembic is synchronous. Every operation here checks out one connection of the library's
``AsyncEngine`` and runs Alembic inside ``AsyncConnection.run_sync``, with that connection's
synchronous face handed to ``env.py`` as ``config.attributes["connection"]``. Each statement
still goes through the async driver's worker thread, so the event loop never blocks, and
``:memory:`` databases work (a second engine would see a different, empty database).

Upgrades and downgrades run in **one transaction** that this module begins and commits: Alembic
sees an external transaction and adds none of its own. DuckDB's DDL is transactional, so a
failure in any revision leaves the schema, the data and ``alembic_version`` as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import os
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb_sqlalchemy.alembic_impl  # noqa: F401 - registers Alembic's "duckdb" implementation
from alembic.autogenerate import RevisionContext, compare_metadata
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from project_architect_db.exceptions import (
    ConflictError,
    DatabaseLockedError,
    MigrationError,
    ProjectArchitectDBError,
    QueryCancelledError,
    ReadOnlyError,
    SchemaOutdatedError,
    StorageError,
)
from project_architect_db.exceptions._translate import translate
from project_architect_db.models import Base

__all__ = [
    "SCRIPT_LOCATION",
    "VERSIONS_DIRECTORY",
    "MigrationManager",
    "RevisionInfo",
    "SchemaAction",
    "SchemaState",
    "decide",
]

#: The Alembic script directory inside the package (``env.py``, ``script.py.mako``).
SCRIPT_LOCATION = Path(__file__).resolve().parent
#: Where the library's own revisions live.
VERSIONS_DIRECTORY = SCRIPT_LOCATION / "versions"
#: Revision files are named ``YYYYMMDD_NNNN_slug.py``.
FILE_TEMPLATE = "%(year)d%(month).2d%(day).2d_%(rev)s_%(slug)s"
VERSION_TABLE = "alembic_version"

UPGRADE_COMMAND = "project-architect-db migrate upgrade --database {database}"
LIBRARY_UPGRADE = "pip install -U project-architect-db"

# Errors that say something about the file or the process, not about the migration: they reach
# the caller as they are (a locked file is a DatabaseLockedError whether or not we migrate).
_PASS_THROUGH = (
    MigrationError,
    DatabaseLockedError,
    ReadOnlyError,
    StorageError,
    QueryCancelledError,
    ConflictError,
)

# Parsing the revision files (importing each one) is the slow part of Alembic's start; the
# directory object memoises its revision map, so one per folder set serves the whole process.
# The folders' modification times are part of the key: adding a revision file invalidates it.
_SCRIPT_CACHE: dict[tuple[Any, ...], ScriptDirectory] = {}

# Alembic publishes the running environment as module-level proxies (``alembic.context``,
# ``alembic.op``), so two runs interleaved in one process (two databases opening at once on one
# event loop, or on two loops in two threads) would clobber each other's. One run at a time.
_ALEMBIC_LOCK = threading.Lock()


@contextlib.asynccontextmanager
async def _alembic_turn() -> AsyncIterator[None]:
    """Hold the process-wide Alembic lock without blocking the event loop while waiting."""
    # A thread lock polled, not an asyncio one: the holder may run on another event loop.
    while not _ALEMBIC_LOCK.acquire(blocking=False):  # noqa: ASYNC110
        await asyncio.sleep(0.002)
    try:
        yield
    finally:
        _ALEMBIC_LOCK.release()


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """One revision of the migration history.

    Attributes:
        revision: The revision id (``"0001"``).
        down_revision: The revision(s) it follows; ``None`` for the first.
        message: The first line of the revision's docstring.
        is_current: Whether the database is at this revision.
        is_head: Whether it is the latest revision.
        path: The revision file.
    """

    revision: str
    down_revision: str | tuple[str, ...] | None
    message: str
    is_current: bool
    is_head: bool
    path: Path


@dataclass(frozen=True, slots=True)
class SchemaState:
    """What a database holds, as far as migrations are concerned.

    Attributes:
        tables: Tables and views of the default schema, ``alembic_version`` excluded.
        versions: The rows of ``alembic_version``; ``None`` when that table does not exist.
        read_only: Whether the database was opened read-only.
    """

    tables: frozenset[str]
    versions: tuple[str, ...] | None
    read_only: bool


class SchemaAction(enum.Enum):
    """What :meth:`MigrationManager.ensure_schema` does to a database."""

    NOTHING = "nothing"  # at head
    CREATE = "create"  # empty: build the schema at head
    UPGRADE = "upgrade"  # behind, and the caller asked to upgrade


def decide(
    state: SchemaState,
    *,
    head: str,
    known: Callable[[str], bool],
    upgrade: bool,
    database: str,
) -> SchemaAction:
    """Decide what opening ``state`` needs, or raise why it cannot be opened.

    Args:
        state: What the database holds.
        head: The latest revision of this code.
        known: Whether a revision id belongs to this code's history.
        upgrade: Whether the caller allows migrating an outdated schema.
        database: The database path, for messages.

    Returns:
        ``NOTHING`` at head, ``CREATE`` for an empty database, ``UPGRADE`` for an outdated one
        when ``upgrade`` is true.

    Raises:
        SchemaOutdatedError: The schema is behind (without ``upgrade``, or read-only), or at a
            revision this code does not know (a newer library migrated it).
        MigrationError: Tables exist but no ``alembic_version``: not this library's database.
    """
    versions = state.versions
    if versions is None and state.tables:
        shown = ", ".join(sorted(state.tables)[:5]) + (", ..." if len(state.tables) > 5 else "")
        raise MigrationError(
            f"The database {database} already holds tables ({shown}) but no {VERSION_TABLE} "
            "table, so project-architect-db did not create it and cannot tell which schema it "
            "has. Open a new file for the library. If the file does hold this library's schema "
            "(its version table was lost), mark its revision with `project-architect-db "
            f"migrate stamp <revision> --database {database}` and open it again."
        )
    current = versions[0] if versions and len(versions) == 1 else None
    if versions and set(versions) == {head}:
        return SchemaAction.NOTHING
    unknown = [version for version in versions or () if not known(version)]
    if unknown:
        raise SchemaOutdatedError(
            f"The database {database} is at schema revision {', '.join(unknown)}, which this "
            f"version of project-architect-db does not know (its latest is {head}): a newer "
            f"version of the library migrated it. Upgrade the library (`{LIBRARY_UPGRADE}`) to "
            "open it. (If the revision belongs to another application's Alembic history, this "
            "file is not a project-architect-db database.)",
            current=current or unknown[0],
            head=head,
        )
    empty = not versions and not state.tables
    if state.read_only:
        if empty:
            detail = (
                "has no schema yet, and it was opened read-only, so the schema cannot be "
                "created. Open it writable once (read_only=False) to create it"
            )
        else:
            detail = (
                f"is at schema revision {current or 'base'}, behind this code's {head}, and it "
                "was opened read-only, so it cannot be migrated. Open it writable once to "
                "migrate it (`Database.open(..., upgrade=True)`, or run "
                f"`{UPGRADE_COMMAND.format(database=database)}`)"
            )
        raise SchemaOutdatedError(
            f"The database {database} {detail}; read-only opens work after that.",
            current=current,
            head=head,
        )
    if empty:
        return SchemaAction.CREATE
    if upgrade:
        return SchemaAction.UPGRADE
    raise SchemaOutdatedError(
        f"The database {database} is at schema revision {current or 'base'}, but this version "
        f"of project-architect-db needs revision {head}. Back up the file, then run "
        f"`{UPGRADE_COMMAND.format(database=database)}`, or open it with "
        "`Database.open(..., upgrade=True)`.",
        current=current,
        head=head,
    )


class MigrationManager:
    """Inspect and migrate one database's schema with the package's Alembic revisions.

    Args:
        engine: An ``AsyncEngine`` of the ``duckdb+aioduckdb`` driver (``db.engine``).
        script_location: The Alembic script directory (``env.py``, ``script.py.mako``);
            default the package's.
        version_locations: Folders holding revision files; default the package's ``versions``.
            Tests point this at a temporary copy so they never write into the package.
        metadata: The models to compare with (``check``, autogenerate); default
            ``Base.metadata``.

    Examples:
        >>> import project_architect_db as padb
        >>> from project_architect_db.migration import MigrationManager
        >>> async def main() -> tuple[str | None, str]:
        ...     async with padb.Database.open(":memory:") as db:
        ...         manager = MigrationManager(db.engine)
        ...         return await manager.current(), await manager.head()
        >>> padb.run(main())
        ('0001', '0001')
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        script_location: str | os.PathLike[str] | None = None,
        version_locations: Sequence[str | os.PathLike[str]] | None = None,
        metadata: MetaData | None = None,
    ) -> None:
        self.engine = engine
        self.script_location = (
            Path(script_location).resolve() if script_location is not None else SCRIPT_LOCATION
        )
        default_versions = (
            VERSIONS_DIRECTORY if script_location is None else self.script_location / "versions"
        )
        self.version_locations: tuple[Path, ...] = (
            tuple(Path(location).resolve() for location in version_locations)
            if version_locations
            else (default_versions,)
        )
        self.metadata = metadata if metadata is not None else Base.metadata

    # -- configuration -------------------------------------------------------------------------
    @property
    def database(self) -> str:
        """The database path (``:memory:`` for an in-memory database)."""
        return self.engine.url.database or ":memory:"

    def config(
        self,
        connection: Connection | None = None,
        *,
        version_locations: Sequence[Path] | None = None,
    ) -> Config:
        """The Alembic ``Config`` built in code (no ``alembic.ini``).

        Args:
            connection: The open connection ``env.py`` migrates with.
            version_locations: Folders of revision files; default this manager's.
        """
        locations = tuple(version_locations or self.version_locations)
        config = Config()
        config.set_main_option("script_location", str(self.script_location))
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join(map(str, locations)))
        config.set_main_option("file_template", FILE_TEMPLATE.replace("%", "%%"))
        config.attributes["connection"] = connection
        config.attributes["target_metadata"] = self.metadata
        return config

    def script_directory(self) -> ScriptDirectory:
        """The revision scripts, parsed once per process (and again when a folder changes)."""
        key = (
            self.script_location,
            self.version_locations,
            tuple(_mtime(location) for location in self.version_locations),
        )
        script = _SCRIPT_CACHE.get(key)
        if script is None:
            script = self._new_script_directory(self.version_locations)
            script.revision_map.heads  # noqa: B018 - parse the revision files now, once
            _SCRIPT_CACHE[key] = script
        return script

    def _new_script_directory(self, locations: Sequence[Path]) -> ScriptDirectory:
        for location in locations:
            if not location.is_dir():
                raise MigrationError(f"The revision folder {location} does not exist.")
        return ScriptDirectory(
            str(self.script_location),
            file_template=FILE_TEMPLATE,
            version_locations=[str(location) for location in locations],
            messaging_opts={"quiet": True},  # a library does not print; the CLI reports paths
        )

    # -- reading -------------------------------------------------------------------------------
    async def head(self) -> str:
        """The latest revision of this code (reads no database).

        Raises:
            MigrationError: The revision files are broken or have several heads.
        """
        with self._errors("Reading the revision files"):
            return _single_head(self.script_directory())

    async def current(self) -> str | None:
        """The database's revision; ``None`` when it has none.

        Raises:
            MigrationError: The database holds several revisions (branches).
        """
        state = await self.state()
        versions = state.versions or ()
        if len(versions) > 1:
            raise MigrationError(
                f"The database {self.database} is at several revisions at once "
                f"({', '.join(versions)}); merge the branches with a merge revision."
            )
        return versions[0] if versions else None

    async def state(self) -> SchemaState:
        """What the database holds: its tables, its ``alembic_version`` rows, read-only or not."""
        with self._errors(f"Reading the schema revision of {self.database}"):
            async with self.engine.connect() as connection:
                return await connection.run_sync(_read_state)

    async def history(self) -> list[RevisionInfo]:
        """Every revision, newest first, marking the database's current one and the head."""
        state = await self.state()
        current = set(state.versions or ())
        with self._errors("Reading the revision files"):
            script = self.script_directory()
            heads = set(script.get_heads())
            return [
                RevisionInfo(
                    revision=item.revision,
                    down_revision=_down_revision(item.down_revision),
                    message=item.doc,
                    is_current=item.revision in current,
                    is_head=item.revision in heads,
                    path=Path(item.path),
                )
                for item in script.walk_revisions()
            ]

    async def check(self) -> list[Any]:
        """Compare the database with the models; empty when they agree.

        Returns:
            Alembic's diff tuples (``("add_column", ...)``, ``("remove_index", ...)``, ...); the
            version table and tables the models do not know are left out.
        """
        diffs: list[Any] = []

        def compare(revision: Any, context: MigrationContext) -> list[Any]:
            metadata = context.opts["target_metadata"]
            diffs.extend(compare_metadata(context, metadata))
            return []

        with self._errors(f"Comparing {self.database} with the models"):
            async with _alembic_turn(), self.engine.connect() as connection:
                await connection.run_sync(self._run_env, compare, {"dont_mutate": True})
                await connection.rollback()
        return diffs

    # -- changing ------------------------------------------------------------------------------
    async def upgrade(self, revision: str = "head") -> None:
        """Upgrade to ``revision`` (default the latest) in one transaction.

        Raises:
            MigrationError: A revision failed; nothing was changed.
            ReadOnlyError: The database was opened read-only.
        """
        script = self.script_directory()

        def run(starting: Any, context: MigrationContext) -> Any:
            return script._upgrade_revs(revision, starting)

        await self._migrate(
            f"Upgrading {self.database} to {revision}", run, {"destination_rev": revision}
        )

    async def downgrade(self, revision: str) -> None:
        """Downgrade to ``revision`` (``"base"`` removes the whole schema) in one transaction.

        Raises:
            MigrationError: A revision failed; nothing was changed.
        """
        script = self.script_directory()

        def run(starting: Any, context: MigrationContext) -> Any:
            return script._downgrade_revs(revision, starting)

        await self._migrate(
            f"Downgrading {self.database} to {revision}", run, {"destination_rev": revision}
        )

    async def stamp(self, revision: str) -> None:
        """Record ``revision`` in ``alembic_version`` without running any migration."""
        script = self.script_directory()

        def run(starting: Any, context: MigrationContext) -> Any:
            return script._stamp_revs(revision, starting)

        await self._migrate(
            f"Stamping {self.database} with {revision}",
            run,
            {"destination_rev": revision, "purge": False},
        )

    async def revision(
        self,
        message: str,
        *,
        autogenerate: bool = True,
        directory: str | os.PathLike[str] | None = None,
        rev_id: str | None = None,
    ) -> Path:
        """Write a new revision file and return its path.

        With ``autogenerate`` the operations come from comparing the database (which must be at
        head) with the models; review the file before committing it.

        Args:
            message: What the revision does (its docstring and file name slug).
            autogenerate: Fill in the operations from the models.
            directory: Where to write it; default the first version location (the package's).
            rev_id: The revision id; default the next number (``"0002"``).

        Raises:
            MigrationError: The database is not at head, or Alembic failed.
        """
        with self._errors(f"Writing the revision {message!r}"):
            target, locations = await asyncio.to_thread(self._revision_folders, directory)
            if autogenerate:
                async with _alembic_turn(), self.engine.connect() as connection:
                    path = await connection.run_sync(
                        self._write_revision, message, target, locations, rev_id, True
                    )
                    await connection.rollback()
            else:
                path = await asyncio.to_thread(
                    self._write_revision, None, message, target, locations, rev_id, False
                )
        return path

    async def ensure_schema(self, *, upgrade: bool = False) -> None:
        """Make the database usable by this code, as ``Database.open`` does.

        An empty database gets the schema at head; one at head is left alone; one behind is
        upgraded only when ``upgrade`` is true. See :func:`decide` for the refusals.

        Raises:
            SchemaOutdatedError: Behind (without ``upgrade``), newer than this code, or
                read-only and in need of a migration.
            MigrationError: Not this library's database, or the upgrade failed (unchanged).
        """
        for attempt in range(3):
            state = await self.state()
            with self._errors("Reading the revision files"):
                script = self.script_directory()
                head = _single_head(script)
            action = decide(
                state,
                head=head,
                known=functools.partial(_is_known, script),
                upgrade=upgrade,
                database=self.database,
            )
            if action is SchemaAction.NOTHING:
                return
            try:
                await self.upgrade("head")
            except ConflictError:
                # Another connection of this process migrated it at the same moment; look again.
                if attempt == 2:
                    raise
            else:
                return

    # -- internals -----------------------------------------------------------------------------
    async def _migrate(
        self,
        action: str,
        fn: Callable[[Any, MigrationContext], Any],
        options: dict[str, Any],
    ) -> None:
        with self._errors(action):
            async with _alembic_turn(), self.engine.begin() as connection:
                await connection.run_sync(self._run_env, fn, options)

    def _run_env(
        self,
        connection: Connection,
        fn: Callable[[Any, MigrationContext], Any],
        options: dict[str, Any],
        *,
        config: Config | None = None,
        script: ScriptDirectory | None = None,
    ) -> None:
        """Run ``env.py`` on ``connection`` (inside ``run_sync``) with ``fn`` choosing the steps."""
        script = script or self.script_directory()
        with EnvironmentContext(
            config or self.config(connection),
            script,
            fn=fn,
            as_sql=False,
            starting_rev=None,
            tag=None,
            **options,
        ):
            script.run_env()

    def _revision_folders(
        self, directory: str | os.PathLike[str] | None
    ) -> tuple[Path, tuple[Path, ...]]:
        target = Path(directory).resolve() if directory is not None else self.version_locations[0]
        target.mkdir(parents=True, exist_ok=True)
        locations = self.version_locations
        if target not in locations:
            locations = (*locations, target)
        return target, locations

    def _write_revision(
        self,
        connection: Connection | None,
        message: str,
        target: Path,
        locations: Sequence[Path],
        rev_id: str | None,
        autogenerate: bool,
    ) -> Path:
        config = self.config(connection, version_locations=locations)
        script = self._new_script_directory(locations)
        revision_context = RevisionContext(
            config,
            script,
            {
                "message": message,
                "autogenerate": autogenerate,
                "sql": False,
                "head": "head",
                "splice": False,
                "branch_label": None,
                "version_path": str(target),
                "rev_id": rev_id or _next_revision_id(script),
                "depends_on": None,
            },
        )
        if autogenerate:

            def retrieve(revision: Any, context: MigrationContext) -> list[Any]:
                revision_context.run_autogenerate(revision, context)
                return []

            assert connection is not None
            self._run_env(
                connection,
                retrieve,
                {
                    "dont_mutate": True,
                    "template_args": revision_context.template_args,
                    "revision_context": revision_context,
                },
                config=config,
                script=script,
            )
        scripts = [item for item in revision_context.generate_scripts() if item is not None]
        if len(scripts) != 1:  # pragma: no cover - one head, one version path
            raise MigrationError(f"Alembic wrote {len(scripts)} revision files instead of one.")
        return Path(scripts[0].path)

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn every failure into the library's errors, naming what was being done."""
        try:
            yield
        except ProjectArchitectDBError as error:
            if isinstance(error, _PASS_THROUGH):
                raise
            raise MigrationError(
                f"{action} failed; the database was left as it was: {error}"
            ) from error
        except Exception as error:
            mapped = translate(error)
            if isinstance(mapped, _PASS_THROUGH):
                raise mapped from error
            detail = str(mapped) if mapped is not error else f"{type(error).__name__}: {error}"
            raise MigrationError(
                f"{action} failed; the database was left as it was: {detail}"
            ) from error


def _read_state(connection: Connection) -> SchemaState:
    read_only = connection.exec_driver_sql(
        "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).scalar()
    names = connection.exec_driver_sql(
        "SELECT table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name = current_schema() "
        "UNION ALL SELECT view_name FROM duckdb_views() "
        "WHERE NOT internal AND database_name = current_database() "
        "AND schema_name = current_schema()"
    ).scalars()
    tables = frozenset(names)
    versions: tuple[str, ...] | None = None
    if VERSION_TABLE in tables:
        rows = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalars()
        versions = tuple(sorted(rows))
    return SchemaState(
        tables=tables - {VERSION_TABLE}, versions=versions, read_only=bool(read_only)
    )


def _down_revision(value: str | Sequence[str] | None) -> str | tuple[str, ...] | None:
    return value if value is None or isinstance(value, str) else tuple(value)


def _single_head(script: ScriptDirectory) -> str:
    heads = script.get_heads()
    if len(heads) != 1:
        raise MigrationError(
            f"The revision history has {len(heads)} heads ({', '.join(heads) or 'none'}); "
            "it needs exactly one (write a merge revision)."
        )
    return heads[0]


def _is_known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.revision_map.get_revision(revision) is not None
    except (ResolutionError, CommandError):
        return False


def _next_revision_id(script: ScriptDirectory) -> str:
    numbers = [
        int(item.revision)
        for item in script.walk_revisions()
        if isinstance(item, Script) and re.fullmatch(r"\d+", item.revision)
    ]
    return f"{max(numbers, default=0) + 1:04d}"


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1
