"""The ``duckdb+aioducklake`` dialect: the library's DuckDB dialect on a DuckLake catalog.

A lake is opened as an in-memory DuckDB whose pooled connections are cursors of one root
connection (as ``:memory:`` is) with the lake ATTACHed to it and made the default catalog
(``USE``). SQL, types and the DBAPI layer are the file dialect's; what differs is DDL:
DuckLake refuses PRIMARY KEY, UNIQUE, CHECK and FOREIGN KEY constraints, so ``CREATE TABLE``
leaves every table constraint out (``NOT NULL`` stays: DuckLake keeps it), and no statement
has a ``RETURNING`` clause (DuckLake refuses it). Indexes and
constraint operations of the migrations are left out by the migration environment
(``migration/env.py``), keyed on :attr:`AsyncDuckLakeDialect.is_lake`; the models keep their
primary keys, which the ORM needs to identify rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from duckdb_sqlalchemy import DuckDBCompiler, DuckDBDDLCompiler
from sqlalchemy.engine import URL

from project_architect_db.core.driver import AsyncDuckDBDialect

__all__ = ["AsyncDuckLakeDialect", "LakeCompiler", "LakeDDLCompiler"]


class LakeCompiler(DuckDBCompiler):  # type: ignore[misc]
    """SQL for a lake: a table's FROM hint ``AT (...)`` is DuckLake's time travel clause.

    ``select(t).with_hint(t, "AT (VERSION => 3)")`` reads ``t`` as of snapshot 3 (the
    repositories' ``as_of`` pages, ``repositories/_as_of.py``); any other hint is dropped.
    """

    def format_from_hint_text(self, sqltext: str, table: Any, hint: str, iscrud: bool) -> str:
        """``<table> AT (...)``; PostgreSQL's ``ONLY`` and others as its compiler has them."""
        if hint.startswith("AT ("):
            return f"{sqltext} {hint}"
        return str(super().format_from_hint_text(sqltext, table, hint, iscrud))


class LakeDDLCompiler(DuckDBDDLCompiler):  # type: ignore[misc]
    """DDL for a DuckLake table: columns and ``NOT NULL`` only."""

    def create_table_constraints(self, table: Any, **kw: Any) -> str:
        """No table constraint: DuckLake refuses them all (see the module text)."""
        return ""


class AsyncDuckLakeDialect(AsyncDuckDBDialect):
    """The async DuckDB dialect whose DDL suits a DuckLake catalog."""

    driver = "aioducklake"
    supports_statement_cache = True
    ddl_compiler = LakeDDLCompiler
    statement_compiler = LakeCompiler
    # DuckLake refuses RETURNING on INSERT, UPDATE and DELETE: SQLAlchemy then never adds one
    # of its own, and the repositories read written rows back instead (repositories/_lake.py).
    insert_returning = False
    update_returning = False
    delete_returning = False
    insert_executemany_returning = False
    update_returning_multifrom = False
    delete_returning_multifrom = False
    #: What the migration environment and the repositories ask to choose the lake's path.
    is_lake = True

    def create_connect_args(self, url: URL) -> tuple[Sequence[Any], dict[str, Any]]:
        """As the file dialect's, without the ``lake`` parameter (it is no DuckDB setting)."""
        return super().create_connect_args(url.difference_update_query(["lake"]))
