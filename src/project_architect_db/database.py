"""The :class:`Database` facade: the one object an application holds.

It opens a DuckDB file (or ``:memory:``), hands out transactions, sessions and the engine, and
closes cleanly (checkpointing the write-ahead log). It is the only module that knows every layer.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Self, TypeVar

import duckdb
import pydantic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from project_architect_db.core._worker import to_thread
from project_architect_db.core.autocommit import AutocommitReader, kept_readers
from project_architect_db.core.driver import AsyncDuckDBDialect
from project_architect_db.core.engine import create_engine
from project_architect_db.core.extensions import default_extension_directory, install_extension
from project_architect_db.core.locks import IntegrityLocks
from project_architect_db.core.native_write import NativeWrites
from project_architect_db.core.readers import NativeReaders
from project_architect_db.core.session import Session
from project_architect_db.core.settings import Settings
from project_architect_db.core.timeouts import StatementTimeouts, TimeoutScope
from project_architect_db.core.transaction import TransactionScope
from project_architect_db.exceptions import (
    ConfigurationError,
    DatabaseNotOpenError,
    StorageError,
)
from project_architect_db.exceptions._translate import translating
from project_architect_db.exceptions._usage import sync_with
from project_architect_db.migration import MigrationManager
from project_architect_db.queries.analytics.answers import AnalyticsAnswers
from project_architect_db.repositories._context import RepositoryContext
from project_architect_db.repositories.changes import ChangeHub, Subscription
from project_architect_db.repositories.code_repositories import CodeRepositoryRepository
from project_architect_db.repositories.conversations import ConversationRepository
from project_architect_db.repositories.documents import DocumentRepository
from project_architect_db.repositories.projects import ProjectRepository
from project_architect_db.repositories.unit_of_work import RepositorySet, UnitOfWork
from project_architect_db.search import SearchService

__all__ = ["Database"]

T = TypeVar("T")


def _missing_folder(database: str) -> str | None:
    """The folder that should hold ``database`` when it does not exist, else ``None``."""
    folder = os.path.dirname(os.path.abspath(os.path.expanduser(database)))
    return None if os.path.isdir(folder) else folder


class Database:
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

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._closed = False
        self.locks = IntegrityLocks()
        self.change_hub = ChangeHub()
        self._commit_lock: asyncio.Lock | None = None
        self._autocommit_engine: AsyncEngine | None = None
        self._readers: NativeReaders | None = None
        self._timeouts = StatementTimeouts(settings.statement_timeout)
        self._context = RepositoryContext(
            self.transaction,
            self.locks,
            self.change_hub,
            read=self._autocommit_reader,
            writes=NativeWrites(self._native_readers, self.locks, self._get_commit_lock),
        )
        self._repositories = RepositorySet(self._context)
        self._search = SearchService(self.transaction, read_only=settings.read_only)
        # one per database: it remembers the answers it has built (see answers/_base.py)
        self._analytics = AnalyticsAnswers(self.transaction, self._run_native_read)

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
            **options: Any other :class:`Settings` field (``pool_size``, ``load_fts``, ...).

        Raises:
            ConfigurationError: An argument is invalid.
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
        try:
            if settings is None:
                resolved = Settings(**overrides)
            else:
                resolved = Settings(**(settings.model_dump() | overrides))
        except pydantic.ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, item['loc'])) or 'settings'}: {item['msg']}"
                for item in error.errors()
            )
            raise ConfigurationError(f"Invalid database settings: {problems}.") from error
        if resolved.read_only and resolved.in_memory:
            raise ConfigurationError(
                "An in-memory database cannot be opened read-only: it starts empty. Give a "
                "file path, or drop read_only."
            )
        return cls(resolved)

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
        if self._engine is not None:
            return
        settings = self.settings
        if not settings.in_memory:
            folder = await to_thread(_missing_folder, settings.database)
            if folder is not None:
                raise StorageError(
                    f"Cannot create or open {settings.database}: the folder {folder} does not "
                    "exist (or is not a folder). Create it first, or choose another path."
                )
        init_sql: list[str] = []
        config: dict[str, Any] = {"autoinstall_known_extensions": False}
        if settings.load_fts:
            directory = settings.extension_directory or default_extension_directory(
                settings.database
            )
            await to_thread(install_extension, "fts", directory)
            config["extension_directory"] = str(directory)
            init_sql.append("LOAD fts")
        engine = create_engine(settings, init_sql=init_sql, config=config, timeouts=self._timeouts)
        try:
            # opening is the library's work, not the application's statements: never timed out
            async with self._timeouts.scope(None):
                with translating():
                    # The first connection surfaces a locked, missing or corrupt file right here.
                    async with engine.connect() as connection:
                        await connection.execute(text("SELECT 1"))
                await MigrationManager(engine).ensure_schema(upgrade=settings.upgrade)
        except BaseException:
            await self._dispose(engine)
            raise
        self._engine = engine
        self._readers = NativeReaders(engine, keep=kept_readers(settings))
        self._sessions = async_sessionmaker(
            engine, class_=Session, expire_on_commit=False, autoflush=False
        )

    async def close(self) -> None:
        """End the change feeds, checkpoint the write-ahead log into the file and release it.

        Every open ``db.changes()`` iterator delivers what was already queued, then its
        ``async for`` ends normally (see :meth:`changes`). A transaction committing when
        ``close()`` starts is delivered in full first; later commits are not delivered.
        """
        await self._end_change_feeds()
        await self._search.close()
        engine, self._engine = self._engine, None
        readers, self._readers = self._readers, None
        self._autocommit_engine = None
        self._closed = True
        try:
            if readers is not None:
                await readers.close()
            if engine is not None and not self.settings.read_only and not self.settings.in_memory:
                # a statement timeout must not leave the write-ahead log unmerged at close
                async with self._timeouts.scope(None):
                    with translating():
                        async with engine.connect() as connection:
                            await connection.execute(text("CHECKPOINT"))
        finally:
            if engine is not None:
                await self._dispose(engine)

    async def _end_change_feeds(self) -> None:
        # under the commit lock, so a transaction publishing right now is delivered whole
        # (publishing happens inside that lock); ended even if close() is cancelled here
        lock = self._commit_lock
        try:
            if lock is not None:
                async with lock:
                    pass
        finally:
            self.change_hub.close()

    @staticmethod
    async def _dispose(engine: AsyncEngine) -> None:
        await engine.dispose()
        dialect = engine.sync_engine.dialect
        if isinstance(dialect, AsyncDuckDBDialect):
            dialect.close_memory_database()

    # -- what the application uses ---------------------------------------------------------
    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy :class:`~sqlalchemy.ext.asyncio.AsyncEngine` for custom queries."""
        if self._engine is None:
            raise DatabaseNotOpenError(self._not_open())
        return self._engine

    def _not_open(self) -> str:
        if self._closed:
            return "The database has been closed; open it again."
        return "The database is not open: use `async with Database.open(...) as db`."

    def session(self) -> AsyncSession:
        """A new :class:`~sqlalchemy.ext.asyncio.AsyncSession` (use it with ``async with``)."""
        self.engine  # noqa: B018 - raises a clear error when the database is not open
        assert self._sessions is not None
        return self._sessions()

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
        return self._timeouts.scope(seconds)

    def transaction(self) -> TransactionScope[UnitOfWork]:
        """One unit of work: commits when the block succeeds, rolls back when it raises.

        The yielded object exposes every repository (``tx.projects``, ``tx.conversations``,
        ``tx.documents``, ``tx.code_repositories``) on this one transaction. Nested use in the same
        task joins the outer transaction (DuckDB has no SAVEPOINT).
        """
        return TransactionScope(self._new_transaction)

    def _new_transaction(self) -> UnitOfWork:
        return UnitOfWork(self.session(), self._context, commit_lock=self._get_commit_lock())

    def _get_commit_lock(self) -> asyncio.Lock:
        # created on first use: an asyncio.Lock made outside a running loop binds lazily anyway,
        # but the database may be constructed before the loop that uses it
        if self._commit_lock is None:
            self._commit_lock = asyncio.Lock()
        return self._commit_lock

    @asynccontextmanager
    async def _autocommit_reader(self) -> AsyncIterator[AutocommitReader]:
        """Where single reads outside a transaction run (see :class:`AutocommitReader`)."""
        engine = self.engine
        autocommit = self._autocommit_engine
        if autocommit is None:
            autocommit = self._autocommit_engine = engine.execution_options(
                isolation_level="AUTOCOMMIT"
            )
        reader = AutocommitReader(engine, autocommit, self._native_readers())
        with translating():
            try:
                yield reader
            finally:
                await reader.close()

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

    async def _run_native_read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn(duckdb_connection)`` outside any transaction, on a kept connection."""
        return await self._native_readers().run(fn)

    def _native_readers(self) -> NativeReaders:
        if self._readers is None:
            raise DatabaseNotOpenError(self._not_open())
        return self._readers

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
        if self._engine is None:
            raise DatabaseNotOpenError(
                f"{self._not_open()} A change feed only delivers what is committed while the "
                "database is open: subscribe after opening it, before the writes to follow."
            )
        return self.change_hub.subscribe(
            aggregates=aggregates, project_id=project_id, max_queue=max_queue
        )

    async def checkpoint(self) -> None:
        """Write the write-ahead log into the database file now."""
        with translating():
            async with self.engine.connect() as connection:
                await connection.execute(text("CHECKPOINT"))

    def __repr__(self) -> str:
        state = "open" if self._engine is not None else "closed"
        return f"<Database {self.settings.database!r} {state}>"
