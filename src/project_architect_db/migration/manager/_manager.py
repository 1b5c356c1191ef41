"""The :class:`MigrationManager`: inspecting and migrating one database's schema."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb_sqlalchemy.alembic_impl  # noqa: F401 - registers Alembic's "duckdb" implementation
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from project_architect_db.core._worker import to_thread
from project_architect_db.exceptions import ConflictError, MigrationError
from project_architect_db.migration.manager._failures import _errors
from project_architect_db.migration.manager._revisions import (
    _remove_if_empty,
    _revision_folders,
    _write_revision,
)
from project_architect_db.migration.manager._scripts import (
    _SCRIPT_CACHE,
    FILE_TEMPLATE,
    _alembic_turn,
    _down_revision,
    _is_known,
    _mtime,
    _single_head,
)
from project_architect_db.migration.manager._state import (
    RevisionInfo,
    SchemaAction,
    SchemaState,
    _read_state,
    decide,
    refuse_unknown,
)
from project_architect_db.models import Base


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
        ('0003', '0003')
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        script_location: str | os.PathLike[str] | None = None,
        version_locations: Sequence[str | os.PathLike[str]] | None = None,
        metadata: MetaData | None = None,
    ) -> None:
        # The defaults are read from the public module when called, so a folder patched there
        # (as the tests do with VERSIONS_DIRECTORY) applies to every manager made afterwards.
        from project_architect_db.migration import manager as defaults

        self.engine = engine
        self.script_location = (
            Path(script_location).resolve()
            if script_location is not None
            else defaults.SCRIPT_LOCATION
        )
        default_versions = (
            defaults.VERSIONS_DIRECTORY
            if script_location is None
            else self.script_location / "versions"
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
        """The database path (``:memory:`` for an in-memory database; a lake's catalog string)."""
        url = self.engine.url
        lake = url.query.get("lake")
        if isinstance(lake, str):
            return lake
        return url.database or ":memory:"

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
        with _errors("Reading the revision files"):
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
        with _errors(f"Reading the schema revision of {self.database}"):
            async with self.engine.connect() as connection:
                return await connection.run_sync(_read_state)

    async def history(self) -> list[RevisionInfo]:
        """Every revision, newest first, marking the database's current one and the head."""
        state = await self.state()
        current = set(state.versions or ())
        with _errors("Reading the revision files"):
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

        with _errors(f"Comparing {self.database} with the models"):
            async with _alembic_turn(), self.engine.connect() as connection:
                await connection.run_sync(self._run_env, compare, {"dont_mutate": True})
                await connection.rollback()
        return diffs

    # -- changing ------------------------------------------------------------------------------
    async def refuse_newer(self) -> None:
        """Raise if a newer library migrated the database (a revision this code does not know).

        Raises:
            SchemaOutdatedError: The database is at an unknown revision: upgrade the library.
        """
        state = await self.state()
        with _errors("Reading the revision files"):
            script = self.script_directory()
            head = _single_head(script)
        refuse_unknown(
            state.versions,
            head=head,
            known=functools.partial(_is_known, script),
            database=self.database,
        )

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
            rev_id: The revision id; default the next number (``"0004"``).

        Raises:
            MigrationError: The database is not at head, or Alembic failed.
        """
        with _errors(f"Writing the revision {message!r}"):
            target, locations, created = await to_thread(_revision_folders, self, directory)
            try:
                if autogenerate:
                    async with _alembic_turn(), self.engine.connect() as connection:
                        path = await connection.run_sync(
                            _write_revision, self, message, target, locations, rev_id, True
                        )
                        await connection.rollback()
                else:
                    path = await to_thread(
                        _write_revision, None, self, message, target, locations, rev_id, False
                    )
            except BaseException:
                if created:  # a failed revision leaves no empty folder behind
                    await to_thread(_remove_if_empty, target)
                raise
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
            with _errors("Reading the revision files"):
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
        with _errors(action):
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
