"""Building the :class:`~sqlalchemy.ext.asyncio.AsyncEngine` for a DuckDB database."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.dialects import registry
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from project_architect_db.core._adapter import AsyncAdaptedConnection
from project_architect_db.core._sqlalchemy import check_installed_sqlalchemy
from project_architect_db.core._worker import to_thread
from project_architect_db.core.extensions import default_extension_directory, install_extension
from project_architect_db.core.lake import (
    FIRST_OPEN_ATTEMPTS,
    check_data_path,
    install_lake_extensions,
    is_first_open_race,
    lake_init_sql,
)
from project_architect_db.core.settings import Settings
from project_architect_db.core.timeouts import StatementTimeouts
from project_architect_db.exceptions import StorageError

__all__ = [
    "DRIVER_NAME",
    "LAKE_DRIVER_NAME",
    "connection_setup",
    "create_engine",
    "first_connection",
    "native_connection",
    "run_native",
]

T = TypeVar("T")

#: ``create_async_engine("duckdb+aioduckdb:///file.duckdb")`` selects the async driver.
DRIVER_NAME = "duckdb+aioduckdb"
#: The same driver with a lake's DDL (``core/lake/_dialect.py``); its database is in memory.
LAKE_DRIVER_NAME = "duckdb+aioducklake"

# The entry point registers the driver for installed copies; this covers a source checkout.
registry.register("duckdb.aioduckdb", "project_architect_db.core.driver", "AsyncDuckDBDialect")
registry.register(
    "duckdb.aioducklake", "project_architect_db.core.lake._dialect", "AsyncDuckLakeDialect"
)


def create_engine(
    settings: Settings,
    *,
    init_sql: list[str] | None = None,
    config: dict[str, Any] | None = None,
    timeouts: StatementTimeouts | None = None,
) -> AsyncEngine:
    """An async engine on ``settings.database`` with the pool and DuckDB settings applied.

    Its statements run under ``timeouts`` (by default a fixed ``settings.statement_timeout``).
    """
    check_installed_sqlalchemy()
    if timeouts is None:
        timeouts = StatementTimeouts(settings.statement_timeout)
    duck_config: dict[str, Any] = dict(config or {})
    if settings.threads is not None:
        duck_config["threads"] = settings.threads
    if settings.memory_limit is not None:
        duck_config["memory_limit"] = settings.memory_limit
    if settings.is_lake:  # attached by init_sql to an in-memory DuckDB (core/lake/_open.py)
        # the catalog string rides along in the URL, for messages (MigrationManager.database)
        url = URL.create(LAKE_DRIVER_NAME, database=":memory:", query={"lake": settings.database})
    else:
        url = URL.create(DRIVER_NAME, database=settings.database)
    return create_async_engine(
        url,
        connect_args={
            # a lake is made read-only by its ATTACH; its in-memory root is not
            "read_only": settings.read_only and not settings.is_lake,
            "config": duck_config,
            "init_sql": list(init_sql or ()),
            "statement_timeouts": timeouts,
        },
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout,
        echo=settings.echo,
    )


async def native_connection(connection: AsyncConnection) -> AsyncAdaptedConnection:
    """The adapted DuckDB connection under ``connection`` (checked out from the pool)."""
    raw = await connection.get_raw_connection()
    adapted: object = raw.dbapi_connection
    if not isinstance(adapted, AsyncAdaptedConnection):  # pragma: no cover - misuse
        raise TypeError("run_native needs a connection of the duckdb+aioduckdb driver")
    return adapted


async def run_native(connection: AsyncConnection, fn: Callable[[Any], T]) -> T:
    """Run ``fn(duckdb_connection)`` off the event loop, inside ``connection``'s transaction.

    For work SQLAlchemy has no words for: scanning an Arrow table into ``INSERT ... SELECT``,
    ``COPY ... TO``, Arrow record-batch readers. A pending BEGIN is sent first, so the work is
    part of the same unit of work as the statements around it.
    """
    adapted = await native_connection(connection)
    return await adapted.run(fn)


def _missing_folder(database: str) -> str | None:
    """The folder that should hold ``database`` when it does not exist, else ``None``."""
    folder = os.path.dirname(os.path.abspath(os.path.expanduser(database)))
    return None if os.path.isdir(folder) else folder


async def connection_setup(settings: Settings) -> tuple[list[str], dict[str, Any]]:
    """What each new connection runs, and its DuckDB settings; extensions installed first.

    Raises:
        StorageError: A database file's folder (or a lake's data path) is unusable.
        ExtensionError: An extension's wheel is missing.
    """
    init_sql: list[str] = []
    config: dict[str, Any] = {"autoinstall_known_extensions": False}
    if settings.is_lake:
        await to_thread(check_data_path, settings)
    elif not settings.in_memory:
        folder = await to_thread(_missing_folder, settings.database)
        if folder is not None:
            raise StorageError(
                f"Cannot create or open {settings.database}: the folder {folder} does not "
                "exist (or is not a folder). Create it first, or choose another path."
            )
    # a lake's extensions live in the user's cache folder, as those of ":memory:"
    directory = settings.extension_directory or default_extension_directory(
        ":memory:" if settings.is_lake else settings.database
    )
    if settings.load_fts:  # search's stemmer, on a file and on a lake alike
        await to_thread(install_extension, "fts", directory)
        init_sql.append("LOAD fts")
    if settings.is_lake:
        await to_thread(install_lake_extensions, directory, settings)
        init_sql.extend(lake_init_sql(settings))
    if init_sql:
        config["extension_directory"] = str(directory)
    return init_sql, config


async def first_connection(engine: AsyncEngine, settings: Settings) -> None:
    """Open the first connection; on a fresh lake, again after losing the catalog race.

    Processes opening a fresh lake at the same instant race to create DuckLake's catalog; the
    losers' ATTACH fails while the winner's catalog is committed (``is_first_open_race``), and
    opening again attaches it. Waits grow (50 ms, 100 ms, ...) with jitter so the retries of
    several losers do not meet again.
    """
    for attempt in range(1, FIRST_OPEN_ATTEMPTS + 1):
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        except Exception as error:
            last = attempt == FIRST_OPEN_ATTEMPTS
            if last or not settings.is_lake or not is_first_open_race(error):
                raise
            await asyncio.sleep(0.05 * attempt * (1 + random.random()))
