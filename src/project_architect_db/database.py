"""The :class:`Database` facade: the one object an application holds.

It opens a DuckDB file (or ``:memory:``), hands out transactions, sessions and the engine, and
closes cleanly (checkpointing the write-ahead log). It is the only module that knows every layer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from pathlib import Path
from typing import Any, Self

import pydantic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from project_architect_db.core.driver import AsyncDuckDBDialect
from project_architect_db.core.engine import create_engine
from project_architect_db.core.extensions import default_extension_directory, install_extension
from project_architect_db.core.settings import Settings
from project_architect_db.core.transaction import Transaction, TransactionScope
from project_architect_db.exceptions import ConfigurationError, ProjectArchitectDBError
from project_architect_db.exceptions._translate import translating

__all__ = ["Database"]


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

    async def connect(self) -> None:
        """Open the file, load extensions and check the schema (done by ``async with``)."""
        if self._engine is not None:
            return
        settings = self.settings
        init_sql: list[str] = []
        config: dict[str, Any] = {"autoinstall_known_extensions": False}
        if settings.load_fts:
            directory = settings.extension_directory or default_extension_directory(
                settings.database
            )
            await asyncio.to_thread(install_extension, "fts", directory)
            config["extension_directory"] = str(directory)
            init_sql.append("LOAD fts")
        engine = create_engine(settings, init_sql=init_sql, config=config)
        try:
            with translating():
                # The first connection surfaces a locked, missing or corrupt file right here.
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except BaseException:
            await self._dispose(engine)
            raise
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)

    async def close(self) -> None:
        """Checkpoint the write-ahead log into the file and release it."""
        engine, self._engine = self._engine, None
        self._closed = True
        if engine is None:
            return
        try:
            if not self.settings.read_only and not self.settings.in_memory:
                with translating():
                    async with engine.connect() as connection:
                        await connection.execute(text("CHECKPOINT"))
        finally:
            await self._dispose(engine)

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
            raise ProjectArchitectDBError(
                "The database is not open: use `async with Database.open(...) as db`."
                if not self._closed
                else "The database has been closed; open it again."
            )
        return self._engine

    def session(self) -> AsyncSession:
        """A new :class:`~sqlalchemy.ext.asyncio.AsyncSession` (use it with ``async with``)."""
        self.engine  # noqa: B018 - raises a clear error when the database is not open
        assert self._sessions is not None
        return self._sessions()

    def transaction(self) -> TransactionScope[Transaction]:
        """One unit of work: commits when the block succeeds, rolls back when it raises.

        Nested use in the same task joins the outer transaction (DuckDB has no SAVEPOINT).
        """
        return TransactionScope(self._new_transaction)

    def _new_transaction(self) -> Transaction:
        return Transaction(self.session())

    async def checkpoint(self) -> None:
        """Write the write-ahead log into the database file now."""
        with translating():
            async with self.engine.connect() as connection:
                await connection.execute(text("CHECKPOINT"))

    def __repr__(self) -> str:
        state = "open" if self._engine is not None else "closed"
        return f"<Database {self.settings.database!r} {state}>"
