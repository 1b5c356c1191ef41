"""What a backup is checked against: row counts, schema revision and the library's invariants.

Every check runs on an attached DuckDB database (``alias``), so the same code checks the source
inside the backup's snapshot, the fresh copy, and a backup before it is restored.
"""

from __future__ import annotations

from typing import Any

from project_architect_db.exceptions import StorageError

__all__ = ["broken_invariants", "revision_of", "row_counts"]

#: (name, table, SQL counting the rows that break it): the invariants the repositories keep.
_CHILDREN = (
    ("conversations", "project_id", "projects"),
    ("messages", "conversation_id", "conversations"),
    ("attachments", "message_id", "messages"),
    ("documents", "project_id", "projects"),
    ("document_versions", "document_id", "documents"),
    ("repositories", "project_id", "projects"),
    ("builds", "repository_id", "repositories"),
    ("deployments", "repository_id", "repositories"),
)
_SEQUENCES = (
    ("messages", "conversation_id", "sequence"),
    ("document_versions", "document_id", "version"),
)


def _identifier(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def row_counts(connection: Any, alias: str) -> dict[str, int]:
    """Rows per table (``schema.table``) of the attached database ``alias``."""
    tables = connection.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY ALL",
        [alias],
    ).fetchall()
    rows: dict[str, int] = {}
    for schema, table in tables:
        found = connection.execute(
            f"SELECT count(*) FROM {_identifier(alias)}.{_identifier(schema)}.{_identifier(table)}"
        ).fetchone()
        rows[f"{schema}.{table}"] = int(found[0])
    return rows


def revision_of(connection: Any, alias: str, rows: dict[str, int]) -> str | None:
    """The schema revision (``alembic_version``) of ``alias``; ``None`` when it has none."""
    if "main.alembic_version" not in rows:
        return None
    found = connection.execute(
        f"SELECT min(version_num) FROM {_identifier(alias)}.main.alembic_version"
    ).fetchone()
    return None if found[0] is None else str(found[0])


def broken_invariants(connection: Any, alias: str, rows: dict[str, int]) -> dict[str, int]:
    """Rows breaking each invariant of the library (only the non-zero ones).

    Orphans (a child whose parent row is missing), message sequences and document versions
    that are not 1..n, and duplicate project slugs. Tables the file does not have are skipped.
    """
    db = _identifier(alias)
    checks: dict[str, str] = {}
    for child, column, parent in _CHILDREN:
        if f"main.{child}" in rows and f"main.{parent}" in rows:
            checks[f"orphan {child}"] = (
                f"SELECT count(*) FROM {db}.main.{child} AS c ANTI JOIN {db}.main.{parent} AS p "
                f"ON c.{column} = p.id"
            )
    for table, group, number in _SEQUENCES:
        if f"main.{table}" in rows:
            checks[f"gaps in {table}.{number}"] = (
                f"SELECT count(*) FROM (SELECT {group} FROM {db}.main.{table} GROUP BY {group} "
                f"HAVING min({number}) <> 1 OR max({number}) <> count(*))"
            )
    if "main.projects" in rows:
        checks["duplicate project slugs"] = (
            f"SELECT count(slug) - count(DISTINCT slug) FROM {db}.main.projects"
        )
    broken = {}
    for name, sql in checks.items():
        count = int(connection.execute(sql).fetchone()[0])
        if count:
            broken[name] = count
    return broken


def check_copy(
    connection: Any, alias: str, expected: dict[str, int], revision: str | None, what: str
) -> None:
    """Raise unless ``alias`` has ``expected`` rows, ``revision`` and every invariant.

    Raises:
        StorageError: Something differs; ``what`` names the file in the message.
    """
    rows = row_counts(connection, alias)
    if rows != expected:
        differing = sorted(
            f"{table} ({expected.get(table)} expected, {rows.get(table)} found)"
            for table in set(rows) | set(expected)
            if rows.get(table) != expected.get(table)
        )
        raise StorageError(f"{what} does not hold the expected rows: {', '.join(differing)}.")
    found = revision_of(connection, alias, rows)
    if found != revision:
        raise StorageError(f"{what} is at schema revision {found}, but {revision} was expected.")
    broken = broken_invariants(connection, alias, rows)
    if broken:
        listed = ", ".join(f"{name}: {count}" for name, count in broken.items())
        raise StorageError(f"{what} breaks the library's invariants ({listed}).")
