"""Where a repository's statements run: a bound unit of work, or the database's executor."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Executable, Result, Select

from project_architect_db.core.autocommit import AutocommitReader
from project_architect_db.core.locks import IntegrityLocks
from project_architect_db.core.native_write import NativeWrites
from project_architect_db.core.transaction import Transaction, current_transaction
from project_architect_db.repositories._ancestry import Ancestry
from project_architect_db.repositories._lake import LakeIntegrity
from project_architect_db.repositories._native_read import NativeGet, NativeSelects, _Shape
from project_architect_db.repositories._read_records import record_maker, records_of
from project_architect_db.repositories.changes import ChangeHub

if TYPE_CHECKING:
    from project_architect_db.core.executor import Executor

__all__ = ["Reader", "RepositoryContext"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RepositoryContext:
    """What every repository of one database shares.

    Attributes:
        executor: The database's executor (``core/executor.py``): transactions, reads outside
            one, native write units.
        locks: The database's integrity locks (see ``core/locks.py``).
        changes: The change feed hub, fed after each commit.
        bound: The transaction a ``tx.<repository>`` is bound to; ``None`` for ``db.<repo>``.
        ancestry: The ancestors of rows seen, for native creates (``_ancestry.py``).
    """

    executor: Executor[Any]
    locks: IntegrityLocks
    changes: ChangeHub
    bound: Transaction | None = None
    ancestry: Ancestry = field(default_factory=Ancestry)
    #: On a lake, what holds unique keys (``repositories/_lake.py``); ``None`` on a file.
    lake: LakeIntegrity | None = None

    @property
    def writes(self) -> NativeWrites:
        """The executor's native auto-committed write units (``core/native_write.py``)."""
        return self.executor.writes

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """The unit of work a repository call runs in.

        ``tx.<repository>``: the bound transaction. ``db.<repository>``: a new one, which
        joins the caller's transaction in the same task and otherwise commits when the call
        returns.
        """
        if self.bound is not None:
            return _reuse(self.bound)
        return self.executor.transaction()

    def reading(self, *, snapshot: bool = False) -> AbstractAsyncContextManager[Reader]:
        """Where reads run: the caller's transaction, else the executor's auto-commit reader.

        Outside a transaction a lone ``SELECT`` needs no BEGIN/COMMIT (it is atomic on its
        own): one thread hop.

        Args:
            snapshot: The reads must share one snapshot (a page and its total): outside a
                transaction, they get one of their own.
        """
        if self.bound is not None:
            return _in_transaction(_reuse(self.bound))
        if snapshot or current_transaction() is not None:
            return _in_transaction(self.executor.transaction())
        return _outside(self.executor)

    def snapshot(self) -> AbstractAsyncContextManager[Reader]:
        """Reads from one snapshot that span the caller's awaits (``stream()``).

        In a transaction (bound, or the task's own): that transaction. Outside one: a
        read-only transaction of its own that the caller's other calls never join (see
        ``Executor.snapshot``).
        """
        outer = self.bound if self.bound is not None else current_transaction()
        if outer is not None:
            return _in_transaction(_reuse(outer))
        return _in_transaction(self.executor.snapshot())

    async def get_record(self, get: NativeGet, row_id: uuid.UUID) -> Any:
        """The ``Read`` record with ``row_id``, or ``None``.

        Outside a transaction: one native read on a kept connection, inline when its worker
        is idle, the record made inside the read (no reading scope: this is every ``get``'s
        path, and the floor is raw DuckDB's point select). Inside one: SQLAlchemy's path on
        the transaction's connection, which sees its own writes.
        """
        if self.bound is None and current_transaction() is None:
            executor = self.executor
            fetch = get.fetcher(executor.statements, executor.dialect, row_id)
            return await executor.run_native_read(fetch)
        async with self.reading() as reader:
            row = (await reader.execute(get.statement, {"row_id": row_id})).one_or_none()
        return None if row is None else get.schema.model_validate(row._mapping)

    def native_writes(self) -> NativeWrites | None:
        """Where a one-statement write may run natively: only outside any transaction."""
        if self.bound is not None or current_transaction() is not None:
            return None
        if self.lake is not None:  # their statements RETURN rows, which a lake refuses
            return None
        return self.executor.writes

    def bind(self, tx: Transaction) -> RepositoryContext:
        """The same context, bound to ``tx``."""
        return RepositoryContext(
            self.executor,
            self.locks,
            self.changes,
            bound=tx,
            ancestry=self.ancestry,
            lake=self.lake,
        )


class Reader:
    """The one interface repository reads use, in a transaction or outside one.

    In a transaction every read takes SQLAlchemy's path on its connection (it must see the
    transaction's own writes). Outside one, :meth:`rows` runs natively: the
    statement is compiled once into the executor's statement cache and runs in one hop on a
    kept connection (``repositories/_native_read.py``); :meth:`execute` runs on the auto-commit
    connection. Errors are the library's (the executor translates them).
    """

    __slots__ = ("_autocommit", "_tx")

    def __init__(self, tx: Transaction | None, autocommit: AutocommitReader | None) -> None:
        self._tx = tx
        self._autocommit = autocommit

    async def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        """Run a SQLAlchemy statement."""
        if self._tx is not None:
            return await self._tx.execute(statement, parameters)
        assert self._autocommit is not None
        return await self._autocommit.execute(statement, parameters)

    async def records(self, statement: Select[Any], schema: type[BaseModel]) -> list[Any]:
        """Every row ``statement`` selects as a ``schema`` record, made as ``get`` makes one.

        Outside a transaction the records are made inside the native read, from DuckDB's
        tuples (``_read_records.record_maker``: no row objects, no validation of values that
        already have their field's type), so the executor translates a stored value the
        schema refuses, as it does for ``get``. In a transaction: from the processed rows.
        """
        if self._tx is not None:
            return records_of(schema, (await self._tx.execute(statement)).all())
        reader = self._autocommit
        assert reader is not None
        selects = NativeSelects(reader.dialect, reader.statements)
        prepared = selects.prepare(statement)
        if prepared is None:  # not cacheable, or a value its type refuses: SQLAlchemy's path
            return records_of(schema, (await reader.execute(statement)).all())
        shape, fetch = prepared
        make = record_maker(schema, shape.keys, shape.processors)
        return await reader.run_native(lambda duck: list(map(make, fetch(duck))))

    @property
    def native(self) -> bool:
        """Whether its reads run natively (outside a transaction): :meth:`compiled_records`."""
        return self._tx is None

    async def compiled_records(
        self, shape: _Shape, parameters: list[Any], schema: type[BaseModel]
    ) -> list[Any]:
        """The rows of a statement compiled elsewhere (``_page_shapes``), as ``schema`` records.

        Only where :attr:`native` (a transaction's reads take SQLAlchemy's path).
        """
        reader = self._autocommit
        assert reader is not None
        make = record_maker(schema, shape.keys, shape.processors)
        sql, prepared = shape.sql, shape.prepared

        def fetch(duck: Any) -> list[Any]:
            if prepared is not None:
                return list(map(make, prepared.rows(duck, parameters)))
            return list(map(make, duck.execute(sql, parameters).fetchall()))

        return await reader.run_native(fetch)

    async def run_native(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(duckdb_connection)`` where this reader reads (its transaction, if any)."""
        if self._tx is not None:
            return await self._tx.run_native(fn)
        reader = self._autocommit
        assert reader is not None
        return await reader.run_native(fn)

    async def rows(self, statement: Select[Any]) -> Sequence[Any]:
        """Every row ``statement`` selects (each with ``_mapping`` and attributes)."""
        if self._tx is not None:
            return (await self._tx.execute(statement)).all()
        reader = self._autocommit
        assert reader is not None
        selects = NativeSelects(reader.dialect, reader.statements)
        prepared = selects.prepare(statement)
        if prepared is None:  # not cacheable, or a value its type refuses: SQLAlchemy's path
            return (await reader.execute(statement)).all()
        shape, fetch = prepared
        return selects.rows(shape, await reader.run_native(fetch))


@asynccontextmanager
async def _in_transaction(scope: AbstractAsyncContextManager[Transaction]) -> AsyncIterator[Reader]:
    async with scope as tx:
        yield Reader(tx, None)


class _outside:
    """``reading()`` outside a transaction: the executor's reader, behind :class:`Reader`.

    A class rather than ``@asynccontextmanager``: every point read enters it.
    """

    __slots__ = ("_scope",)

    def __init__(self, executor: Executor[Any]) -> None:
        self._scope = executor.reading()

    async def __aenter__(self) -> Reader:
        return Reader(None, await self._scope.__aenter__())

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._scope.__aexit__(*exc_info)


@asynccontextmanager
async def _reuse(tx: Transaction) -> AsyncIterator[Transaction]:
    tx._check_open()
    yield tx
