"""The generated :class:`Dataset`, and loading it into a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

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
            view = f"__padb_dataset_{name}"
            connection.register(view, table)
            try:
                connection.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM "{view}"')
            finally:
                connection.unregister(view)


async def load_dataset(db: Transactional, dataset: Dataset) -> None:
    """Insert ``dataset`` into an open database in one transaction, off the event loop.

    Rows go straight to DuckDB (no repositories): the change feed does not report them, and a
    full-text index built earlier must be refreshed afterwards.
    """
    async with db.transaction() as tx:
        await tx.run_native(dataset.load)
