"""A database file with deleted rows, and its whole content read with plain duckdb."""

from __future__ import annotations

from pathlib import Path

import duckdb

from project_architect_db import Database
from project_architect_db.cli.seed import seed_database
from project_architect_db.testing.factories import generate_dataset


async def fragmented(path: Path, extension_directory: Path) -> None:
    """Seed ``path`` and delete most messages and builds: a file full of free blocks."""
    async with Database.open(path, extension_directory=extension_directory) as db:
        await seed_database(db, generate_dataset(3, projects=40))
        assert await db.search.documents("architecture", limit=1)  # builds the fts indexes
    with duckdb.connect(str(path)) as duck:
        duck.execute("CREATE SEQUENCE padb_test_sequence START 10")
        duck.execute("SELECT nextval('padb_test_sequence')")
        duck.execute("CREATE VIEW padb_test_view AS SELECT name FROM projects")
        duck.execute("DELETE FROM messages WHERE sequence % 10 <> 0")
        duck.execute("DELETE FROM builds")
        duck.execute("CHECKPOINT")


def content(path: Path) -> dict[str, tuple[int, int]]:
    """Every table of every schema: (rows, sum of row hashes), read with plain duckdb."""
    with duckdb.connect(str(path), read_only=True) as duck:
        tables = duck.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2"
        ).fetchall()
        result = {}
        for schema, table in tables:
            rows, digest = duck.execute(
                f'SELECT count(*), sum(hash(t)::HUGEINT) FROM "{schema}"."{table}" AS t'
            ).fetchone()  # type: ignore[misc]
            result[f"{schema}.{table}"] = (rows, int(digest or 0))
        return result


def identical(left: Path, right: Path) -> bool:
    """Whether every table holds exactly the same rows in both files (EXCEPT ALL both ways)."""
    with duckdb.connect(":memory:") as duck:
        duck.execute(f"ATTACH '{left}' AS l (READ_ONLY)")
        duck.execute(f"ATTACH '{right}' AS r (READ_ONLY)")
        names = duck.execute(
            "SELECT database_name, schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name IN ('l', 'r') ORDER BY 2, 3"
        ).fetchall()
        left_tables = {(s, t) for d, s, t in names if d == "l"}
        if left_tables != {(s, t) for d, s, t in names if d == "r"}:
            return False
        for schema, table in left_tables:
            for a, b in (("l", "r"), ("r", "l")):
                (extra,) = duck.execute(
                    f'SELECT count(*) FROM (SELECT * FROM {a}."{schema}"."{table}" '
                    f'EXCEPT ALL SELECT * FROM {b}."{schema}"."{table}")'
                ).fetchone()  # type: ignore[misc]
                if extra:
                    return False
        return True
