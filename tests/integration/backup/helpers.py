"""Helpers of the backup tests: data to back up, and tables compared with plain duckdb."""

from __future__ import annotations

from pathlib import Path

import duckdb

from project_architect_db import Database


async def fill(db: Database, projects: int = 20) -> None:
    """Projects with conversations, messages and documents (so every invariant is exercised)."""
    for number in range(projects):
        project = await db.projects.create({"name": f"Project {number}"})
        conversation = await db.conversations.create({"project_id": project.id})
        for turn in range(3):
            await db.conversations.add_message(
                conversation.id, {"role": "user", "content": f"message {number}/{turn}"}
            )
        await db.documents.create(
            {"project_id": project.id, "path": f"doc{number}.md", "content": f"body {number}"}
        )


def differences(left: Path, right: Path) -> dict[str, int]:
    """Rows in one file and not the other, per table (EXCEPT ALL both ways), plain duckdb."""
    found: dict[str, int] = {}
    with duckdb.connect(":memory:") as duck:
        duck.execute(f"ATTACH '{left}' AS l (READ_ONLY)")
        duck.execute(f"ATTACH '{right}' AS r (READ_ONLY)")
        tables = {
            database: sorted(
                f"{schema}.{table}"
                for schema, table in duck.execute(
                    "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?",
                    [database],
                ).fetchall()
            )
            for database in ("l", "r")
        }
        assert tables["l"] == tables["r"]
        assert tables["l"], "no tables compared"
        for table in tables["l"]:
            count = duck.execute(
                f"SELECT (SELECT count(*) FROM (FROM l.{table} EXCEPT ALL FROM r.{table})) + "
                f"(SELECT count(*) FROM (FROM r.{table} EXCEPT ALL FROM l.{table}))"
            ).fetchone()[0]
            if count:
                found[table] = count
    return found


def count(path: Path, table: str) -> int:
    """Rows of ``table`` in the file at ``path`` (read-only, plain duckdb)."""
    with duckdb.connect(str(path), read_only=True) as duck:
        return int(duck.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
