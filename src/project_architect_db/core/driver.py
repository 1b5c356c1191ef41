"""The ``duckdb+aioduckdb`` SQLAlchemy dialect: duckdb-sqlalchemy's dialect, driven asynchronously.

Registered through the ``sqlalchemy.dialects`` entry point, so::

    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("duckdb+aioduckdb:///architect.duckdb")

gives a working :class:`~sqlalchemy.ext.asyncio.AsyncEngine` for Core and ORM. SQL compilation,
types and reflection are duckdb-sqlalchemy's (see ``docs/architecture.md`` for why that dialect);
this module only replaces the DBAPI layer with :mod:`project_architect_db.core._adapter`.

URL query parameters become DuckDB settings (``?threads=2&memory_limit=1GB``), except
``read_only``. ``connect_args`` may carry ``config`` (a dict of settings), ``read_only`` and
``init_sql`` (statements run on every new connection, e.g. ``LOAD fts``) and
``statement_timeouts`` (a :class:`~project_architect_db.core.timeouts.StatementTimeouts`).
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import threading
from collections.abc import Sequence
from typing import Any

import duckdb
from duckdb_sqlalchemy import Dialect as _SyncDuckDBDialect
from duckdb_sqlalchemy import DuckDBExecutionContext, _register_alembic_support
from sqlalchemy import pool
from sqlalchemy.engine import URL
from sqlalchemy.engine.default import DefaultDialect

from project_architect_db.core._adapter import AsyncAdaptedConnection
from project_architect_db.core._sqlalchemy import (
    await_,
    check_installed_sqlalchemy,
    dbapi_connection,
)
from project_architect_db.core.settings import is_in_memory
from project_architect_db.core.timeouts import StatementTimeouts

__all__ = ["AsyncDuckDBDialect", "DBAPI"]

_TRUE = {"1", "true", "yes", "on"}
_counter = itertools.count(1)


class _PandasIsAbsent:
    """A meta-path finder that answers "not installed" for pandas without searching sys.path."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        """Fail ``import pandas`` at once; defer every other name to the usual finders."""
        if name == "pandas":
            raise ModuleNotFoundError("No module named 'pandas'", name="pandas")


def _stop_duckdb_probing_for_pandas() -> None:
    """Make a failed ``import pandas`` cheap, since DuckDB tries it on every query.

    duckdb 1.5.5 imports pandas on each call that binds parameters (to recognise DataFrames).
    When pandas is not installed, Python does not cache the failed import, and each attempt
    searches sys.path again: measured, ``SELECT $1`` went from ~600 to ~250 us. A finder placed
    first on ``sys.meta_path`` fails that import at once, exactly as it would have failed anyway
    (``sys.modules["pandas"] = None`` would do too, but pyarrow's pandas shim then breaks).
    Nothing changes where pandas is installed.
    """
    if "pandas" in sys.modules or _PandasIsAbsent in sys.meta_path:
        return
    if importlib.util.find_spec("pandas") is None:
        sys.meta_path.insert(0, _PandasIsAbsent)


_stop_duckdb_probing_for_pandas()


class DBAPI:
    """The PEP 249 module face of the async adapter: DuckDB's own exception classes."""

    paramstyle = "numeric_dollar"
    apilevel = "2.0"
    threadsafety = 1
    Error = duckdb.Error
    Warning = duckdb.Warning
    InterfaceError = duckdb.Error
    DatabaseError = duckdb.DatabaseError
    DataError = duckdb.DataError
    OperationalError = duckdb.OperationalError
    IntegrityError = duckdb.IntegrityError
    InternalError = duckdb.InternalError
    ProgrammingError = duckdb.ProgrammingError
    NotSupportedError = duckdb.NotSupportedError
    TransactionException = duckdb.TransactionException
    ParserException = duckdb.ParserException

    @staticmethod
    def Binary(value: Any) -> Any:
        """PEP 249 binary constructor."""
        return value


class _MemoryRoot:
    """Keeps one in-memory database alive for the dialect's (the engine's) lifetime.

    Every ``duckdb.connect(":memory:")`` is a new, empty database, so pooled connections are
    ``cursor()``s of one root connection instead: they share its catalog and data.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._root: duckdb.DuckDBPyConnection | None = None

    def connect(self, database: str, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._root is None:
                self._root = duckdb.connect(database, config=config)
            return self._root.cursor()

    def close(self) -> None:
        with self._lock:
            if self._root is not None:
                self._root.close()
                self._root = None


class AsyncDuckDBExecutionContext(DuckDBExecutionContext):  # type: ignore[misc]
    """Execution context whose streaming cursor fetches batch by batch."""

    def create_server_side_cursor(self) -> Any:
        """A cursor that keeps rows in DuckDB until fetched (``stream()``, ``yield_per``)."""
        return dbapi_connection(self).cursor(server_side=True)


class AsyncDuckDBDialect(_SyncDuckDBDialect):  # type: ignore[misc]
    """duckdb-sqlalchemy's dialect on an asyncio-adapted DuckDB connection."""

    driver = "aioduckdb"
    is_async = True
    supports_statement_cache = True
    supports_server_side_cursors = True
    execution_ctx_cls = AsyncDuckDBExecutionContext
    # Every DuckDB release this package supports has COMMENT ON; checking would open a
    # throwaway database on the event loop during the first connect.
    supports_comments = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._memory_root = _MemoryRoot()

    @classmethod
    def import_dbapi(cls) -> Any:
        """The PEP 249 module SQLAlchemy sees."""
        return DBAPI

    @staticmethod
    def dbapi(**kwargs: Any) -> Any:
        """Legacy alias of :meth:`import_dbapi`."""
        return DBAPI

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        """SQLAlchemy's asyncio engine requires an asyncio-aware pool."""
        return pool.AsyncAdaptedQueuePool

    def initialize(self, connection: Any) -> None:
        """Initialise from the first connection without extra probes."""
        check_installed_sqlalchemy()
        _register_alembic_support()
        DefaultDialect.initialize(self, connection)
        self.supports_comments = True

    def create_connect_args(self, url: URL) -> tuple[Sequence[Any], dict[str, Any]]:
        """``database``, ``read_only`` and DuckDB ``config`` from the URL."""
        query = dict(url.query)
        read_only = str(query.pop("read_only", "false")).lower() in _TRUE
        config = {key: value for key, value in query.items() if isinstance(value, str)}
        return (), {
            "database": url.database or ":memory:",
            "read_only": read_only,
            "config": config,
        }

    def connect(self, *cargs: Any, **cparams: Any) -> AsyncAdaptedConnection:
        """Open a connection on its own worker thread (called by the pool in a greenlet)."""
        database: str = cparams.get("database") or ":memory:"
        read_only = bool(cparams.get("read_only", False))
        config = dict(cparams.get("config") or {})
        init_sql: Sequence[str] = cparams.get("init_sql") or ()
        timeouts: StatementTimeouts | None = cparams.get("statement_timeouts")
        memory_root = self._memory_root

        def opener() -> duckdb.DuckDBPyConnection:
            if is_in_memory(database):
                duck = memory_root.connect(database, config)
            else:
                duck = duckdb.connect(database, read_only=read_only, config=config)
            try:
                # UTC sessions: TIMESTAMPTZ <-> TIMESTAMP casts must not follow the host clock.
                duck.execute("SET TimeZone = 'UTC'")
                for statement in init_sql:
                    duck.execute(statement)
            except BaseException:
                duck.close()
                raise
            return duck

        name = f"padb-duckdb-{next(_counter)}"
        return await_(AsyncAdaptedConnection.create(DBAPI, opener, name, timeouts))

    def on_connect(self) -> None:
        """No per-connection hook beyond :meth:`connect`."""
        return

    def do_begin(self, dbapi_connection: Any) -> None:
        """Lazy BEGIN (sent with the first statement)."""
        dbapi_connection.begin()

    def do_rollback(self, dbapi_connection: Any) -> None:
        """Roll back (free when the transaction ran nothing)."""
        dbapi_connection.rollback()

    def do_commit(self, dbapi_connection: Any) -> None:
        """Commit, raising on an aborted transaction."""
        dbapi_connection.commit()

    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        """Execute without duckdb-sqlalchemy's retry bookkeeping (one hop)."""
        cursor.execute(statement, parameters)

    def do_execute_no_params(self, cursor: Any, statement: str, context: Any = None) -> None:
        """Execute a statement that has no parameters."""
        cursor.execute(statement)

    def do_executemany(
        self, cursor: Any, statement: str, parameters: Any, context: Any = None
    ) -> None:
        """Plain executemany; bulk paths use Arrow through ``AsyncAdaptedConnection.run``."""
        cursor.executemany(statement, parameters)

    def do_terminate(self, dbapi_connection: Any) -> None:
        """Close an invalidated connection."""
        dbapi_connection.terminate()

    def is_disconnect(self, e: Exception, connection: Any, cursor: Any) -> bool:
        """Only a closed or broken connection counts as a disconnect."""
        if isinstance(e, duckdb.ConnectionException):
            return True
        return "connection already closed" in str(e).lower()

    def get_driver_connection(self, connection: Any) -> Any:
        """The raw ``duckdb.DuckDBPyConnection``."""
        return connection.driver_connection

    def close_memory_database(self) -> None:
        """Drop the in-memory database kept for this engine (after ``dispose()``)."""
        self._memory_root.close()
