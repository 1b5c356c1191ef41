"""The executor: the one place every statement of a database runs through.

``Database`` builds one :class:`Executor` and hands it to the repositories, search and
analytics. It owns what running a statement needs: the engine, the sessions, the kept native
reader connections, the native write units, the auto-commit reader, the commit lock, one
compiled-statement cache, and the error boundary. Before it, ``Database`` held these and the
layers below reached them through bound methods of the facade (``Database.transaction``,
``Database._autocommit_reader``, ``Database._run_native_read``), so the data flow looped back
up; now nothing below ``database.py`` calls into it.

**Errors are translated here.** Each entry point (:meth:`transaction`, :meth:`reading`,
:meth:`run_native_read`, :meth:`checkpoint`; ``Transaction.execute`` / ``run_native`` and the
native write units) raises the library's errors, so callers hold no ``translating()`` block of
their own.

**Layers.** ``core/`` imports no model, schema, repository, query or migration: the unit of
work a transaction yields (``repositories.UnitOfWork``) comes from a factory, and the schema
check (``migration``) from a ``prepare`` callback, both given by ``Database``, which composes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, TypeVar

import duckdb
from sqlalchemy import text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from project_architect_db.core._callbacks import shielded
from project_architect_db.core.autocommit import AutocommitReader, kept_readers
from project_architect_db.core.driver import AsyncDuckDBDialect
from project_architect_db.core.engine import connection_setup, create_engine, first_connection
from project_architect_db.core.lake import (
    lake_errors,
)
from project_architect_db.core.locks import IntegrityLocks
from project_architect_db.core.native_write import NativeWrites
from project_architect_db.core.point_select import PointSelects, ProcessorFactory
from project_architect_db.core.readers import NativeReaders
from project_architect_db.core.session import Session
from project_architect_db.core.settings import Settings
from project_architect_db.core.statements import StatementCache
from project_architect_db.core.timeouts import StatementTimeouts
from project_architect_db.core.transaction import Transaction, TransactionScope
from project_architect_db.exceptions import (
    DatabaseNotOpenError,
    UnsupportedOnLakeError,
)
from project_architect_db.exceptions._translate import translate, translating

__all__ = ["Executor", "UnitFactory"]

T = TypeVar("T")
TxT = TypeVar("TxT", bound=Transaction)

#: Makes the unit of work of one transaction from its session and the commit lock.
UnitFactory = Callable[[AsyncSession, asyncio.Lock], TxT]


class Executor(Generic[TxT]):
    """Runs every statement of one database (see the module text).

    Args:
        settings: The database's settings.
        locks: The integrity locks each native write unit registers with.
        unit_of_work: Makes the object :meth:`transaction` yields (``UnitOfWork``).
        result_processor: The result processors sessions' point selects make rows with
            (:class:`~project_architect_db.core.point_select.PointSelects`); ``None``:
            SQLAlchemy's.
    """

    def __init__(
        self,
        settings: Settings,
        locks: IntegrityLocks,
        unit_of_work: UnitFactory[TxT],
        result_processor: ProcessorFactory | None = None,
    ) -> None:
        self.settings = settings
        #: The statement timeouts (``db.statement_timeout()`` scopes them).
        self.timeouts = StatementTimeouts(settings.statement_timeout)
        self.locks = locks
        #: The compiled-statement cache of this database (``core/statements.py``).
        self.statements = StatementCache()
        #: The sessions' path for point selects by primary key (``core/point_select.py``).
        self.point_selects = PointSelects(self.statements, processor=result_processor)
        self._unit_of_work = unit_of_work
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._readers: NativeReaders | None = None
        self._autocommit: AsyncEngine | None = None
        self._commit_lock: asyncio.Lock | None = None
        self._closed = False
        #: the open :meth:`snapshot` units (streams), ended by :meth:`close`
        self._snapshots: set[TxT] = set()
        #: Native auto-committed write units (``core/native_write.py``).
        self.writes = NativeWrites(
            self._native_readers, locks, self.commit_lock, timeouts=self.timeouts
        )

    # -- opening and closing ---------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` succeeded and :meth:`close` has not run since."""
        return self._engine is not None

    async def open(self, prepare: Callable[[AsyncEngine], Awaitable[None]] | None = None) -> None:
        """Open the file (or memory), load extensions, then run ``prepare(engine)``.

        Opening an open executor does nothing. ``prepare`` (the schema check) runs before the
        executor counts as open and with no statement timeout; if it raises, the engine is
        disposed and the error propagates. An executor can be opened again after
        :meth:`close`.

        Raises:
            StorageError: The file's folder does not exist.
            DatabaseLockedError: Another process holds the file.
        """
        if self._engine is not None:
            return
        settings = self.settings
        init_sql, config = await connection_setup(settings)
        engine = create_engine(settings, init_sql=init_sql, config=config, timeouts=self.timeouts)
        try:
            # opening is the library's work, not the application's statements: never timed out
            async with self.timeouts.scope(None):
                with translating(), lake_errors(settings):
                    # The first connection surfaces a locked, missing or corrupt file (or an
                    # unreachable lake catalog) right here.
                    await first_connection(engine, settings)
                if prepare is not None:
                    await prepare(engine)
        except BaseException:
            await _dispose(engine)
            raise
        self._engine = engine
        self._closed = False
        self._readers = NativeReaders(engine, keep=kept_readers(settings))
        self._sessions = async_sessionmaker(
            engine,
            class_=Session,
            expire_on_commit=False,
            autoflush=False,
            point_selects=self.point_selects,
        )

    async def drain_commits(self) -> None:
        """Wait until no transaction is committing with after-commit callbacks."""
        lock = self._commit_lock
        if lock is not None:
            async with lock:
                pass

    async def close(self) -> None:
        """Checkpoint the write-ahead log into the file and release it (twice is harmless).

        The compiled statements are forgotten with the engine they were compiled for.
        """
        if self._engine is not None:
            # the writer connection must be back before the readers and the engine close
            await self.writes.committer.finish()
            # open streams end here: their snapshots are rolled back and their connections
            # go back to the pool before it is disposed (the stream's next read then says
            # the database was closed)
            snapshots, self._snapshots = list(self._snapshots), set()
            for tx in snapshots:
                # a connection that fails its rollback is dropped by the pool: close goes on
                with contextlib.suppress(Exception):
                    await shielded(tx.rollback())
        engine, self._engine = self._engine, None
        readers, self._readers = self._readers, None
        self._sessions = None
        self._autocommit = None
        self._closed = True
        if engine is None:
            return
        # compiled for this engine's dialect: a reopened executor has another
        self.statements.clear()
        assert readers is not None  # opened together with the engine
        try:
            await readers.close()
            settings = self.settings
            # a lake has no write-ahead log here: each commit went to the catalog and Parquet
            if not (settings.read_only or settings.in_memory or settings.is_lake):
                # a statement timeout must not leave the write-ahead log unmerged at close
                async with self.timeouts.scope(None):
                    await _checkpoint(engine)
        finally:
            await _dispose(engine)

    def not_open(self) -> DatabaseNotOpenError:
        """The error for using this database while it is not open, saying what to do."""
        if self._closed:
            return DatabaseNotOpenError("The database has been closed; open it again.")
        return DatabaseNotOpenError(
            "The database is not open: use `async with Database.open(...) as db`."
        )

    # -- what runs statements --------------------------------------------------------------
    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine.

        Raises:
            DatabaseNotOpenError: The executor is not open.
        """
        engine = self._engine
        if engine is None:
            raise self.not_open()
        return engine

    @property
    def dialect(self) -> Dialect:
        """The dialect statements are compiled for (the engine's)."""
        return self.engine.dialect

    def session(self) -> AsyncSession:
        """A new SQLAlchemy session (``core.session.Session``) on this database's engine."""
        sessions = self._sessions
        if sessions is None:
            raise self.not_open()
        return sessions()

    def commit_lock(self) -> asyncio.Lock:
        """The lock under which commits with after-commit callbacks run, in commit order."""
        # created on first use: the executor may be built before the loop that uses it
        if self._commit_lock is None:
            self._commit_lock = asyncio.Lock()
        return self._commit_lock

    def transaction(self) -> TransactionScope[TxT]:
        """One unit of work (joins the caller's in the same task); errors translated."""
        return TransactionScope(self._new_unit)

    def _new_unit(self) -> TxT:
        return self._unit_of_work(self.session(), self.commit_lock())

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[TxT]:
        """A read-only unit of work that is never the task's current transaction.

        For reads that span the caller's own awaits (``stream()``: an async generator runs in
        its caller's context): a transaction entered there would be joined by every call the
        caller makes between two batches, and its writes would commit, or roll back, with
        the stream. It is always rolled back: nothing is written through it. :meth:`close`
        rolls back the ones still open, so their connections are back before the engine is
        disposed.
        """
        tx = self._new_unit()
        self._snapshots.add(tx)
        try:
            yield tx
        finally:
            self._snapshots.discard(tx)
            await shielded(tx.rollback())  # nothing to do if close() already ended it

    def reading(self) -> AbstractAsyncContextManager[AutocommitReader]:
        """Where single reads outside a transaction run (see :class:`AutocommitReader`).

        Errors raised inside the block are the library's (translated on the way out).

        Raises:
            DatabaseNotOpenError: The executor is not open.
        """
        engine = self.engine
        autocommit = self._autocommit
        if autocommit is None:
            autocommit = self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        return _Reading(
            AutocommitReader(engine, autocommit, self._native_readers(), self.statements)
        )

    async def run_native_read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn(duckdb_connection)`` outside any transaction, on a kept connection.

        Raises:
            DatabaseNotOpenError: The executor is not open.
        """
        readers = self._native_readers()
        try:  # translating(), spelt out: every get passes here, and a generator costs ~1 us
            return await readers.run(fn)
        except BaseException as error:
            mapped = translate(error)
            if mapped is error:
                raise
            raise mapped from error

    @property
    def readers(self) -> NativeReaders:
        """The kept reader connections (raises ``DatabaseNotOpenError`` when not open)."""
        return self._native_readers()

    def _native_readers(self) -> NativeReaders:
        readers = self._readers
        if readers is None:
            raise self.not_open()
        return readers

    @property
    def is_lake(self) -> bool:
        """Whether this database is a DuckLake lake (``ducklake:postgres:...``)."""
        return self.settings.is_lake

    async def checkpoint(self) -> None:
        """Write the write-ahead log into the database file now.

        Raises:
            UnsupportedOnLakeError: The database is a lake (it has no write-ahead log).
        """
        engine = self.engine
        if self.is_lake:
            raise UnsupportedOnLakeError(
                "A lake has no write-ahead log to checkpoint: every commit is already in its "
                "catalog and Parquet files. Compaction of a lake's small files is DuckLake's "
                "ducklake_merge_adjacent_files(), run on the lake directly."
            )
        await _checkpoint(engine)

    def __repr__(self) -> str:
        state = "open" if self._engine is not None else "closed"
        return f"<Executor {self.settings.database!r} {state}>"


class _Reading:
    """``async with executor.reading()``: lends the reader, closes it, translates errors.

    A class rather than ``@asynccontextmanager``: a point read enters it once per call, and a
    generator-based manager costs a few microseconds more on that path.
    """

    __slots__ = ("_reader",)

    def __init__(self, reader: AutocommitReader) -> None:
        self._reader = reader

    async def __aenter__(self) -> AutocommitReader:
        return self._reader

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        with translating():
            await self._reader.close()
        if exc is not None:
            mapped = translate(exc)
            if mapped is not exc:
                raise mapped from exc


async def _checkpoint(engine: AsyncEngine) -> None:
    with translating():
        async with engine.connect() as connection:
            await connection.execute(text("CHECKPOINT"))


async def _dispose(engine: AsyncEngine) -> None:
    await engine.dispose()
    dialect = engine.sync_engine.dialect
    if isinstance(dialect, AsyncDuckDBDialect):
        dialect.close_memory_database()
