"""The generated :class:`Dataset`, and loading it into a database."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from project_architect_db.core._worker import to_thread
from project_architect_db.datagen._schema import TABLE_NAMES

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    import duckdb


class Transactional(Protocol):
    """What :func:`load_dataset` needs of a database: a unit of work (``Database`` is one)."""

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """Open a unit of work whose ``run_native(fn)`` runs ``fn`` on its DuckDB connection."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """One Arrow table per database table, ready for ``INSERT ... SELECT``.

    Attributes:
        seed: The seed it was generated from.
        now: The reference instant: every timestamp is at or before it.
    """

    seed: int
    now: datetime
    projects: pa.Table
    conversations: pa.Table
    messages: pa.Table
    attachments: pa.Table
    documents: pa.Table
    document_versions: pa.Table
    repositories: pa.Table
    builds: pa.Table
    deployments: pa.Table

    @property
    def tables(self) -> dict[str, pa.Table]:
        """Table name -> Arrow table, parents before children."""
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def row_counts(self) -> dict[str, int]:
        """Table name -> number of rows."""
        return {name: table.num_rows for name, table in self.tables.items()}

    def equals(self, other: Dataset) -> bool:
        """Whether every table of ``other`` holds exactly the same data (and schema)."""
        return all(table.equals(other.tables[name]) for name, table in self.tables.items())

    def load(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Insert every table through ``connection``: one ``INSERT INTO t BY NAME SELECT`` each.

        The tables must exist (``Base.metadata.create_all`` or the migrations). Wrap the call
        in a transaction to make it all-or-nothing; :func:`load_dataset` does.
        """
        for name, table in self.tables.items():
            insert_arrow(connection, name, table)


def insert_arrow(connection: duckdb.DuckDBPyConnection, name: str, rows: pa.Table) -> None:
    """``INSERT INTO name BY NAME SELECT * FROM rows``, the Arrow table found by name.

    DuckDB scans the local variable ``rows`` (a replacement scan), not a view made with
    ``register``: an unregistered view stays in the catalog, holding its Arrow table, until
    the transaction that dropped it ends, so a load of many batches in one transaction kept
    every batch alive (measured: +170 MB per batch of 1M rows).
    """
    connection.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM rows')


async def load_dataset(db: Transactional, dataset: Dataset | Iterable[Dataset]) -> int:
    """Insert ``dataset`` (or batches of one) into an open database in one transaction.

    Rows go straight to DuckDB (no repositories): the change feed does not report them, and a
    full-text index built earlier must be refreshed afterwards. Batches
    (:func:`~project_architect_db.datagen.generate_batches`) are generated one at a time off
    the event loop and dropped once loaded, so memory follows one batch. All or nothing: an
    error (or a cancellation) in any batch leaves the database as it was.

    Returns:
        The rows inserted.
    """
    batches: Iterator[Dataset] = iter((dataset,) if isinstance(dataset, Dataset) else dataset)
    written = 0
    async with db.transaction() as tx:
        while (batch := await to_thread(next, batches, None)) is not None:
            await tx.run_native(batch.load)
            written += sum(batch.row_counts().values())
            del batch  # the next one is made after this one is gone
    return written
