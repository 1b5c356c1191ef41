"""Raw DuckLake for the guard's tests: tables shaped like ours, without constraints.

Used by the test process and by the racing worker processes (``_racer.py``), so it imports
nothing from pytest.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from project_architect_db.core.extensions import install_extension

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS projects (id VARCHAR, slug VARCHAR, version INTEGER)",
    "CREATE TABLE IF NOT EXISTS conversations (id VARCHAR, project_id VARCHAR)",
    "CREATE TABLE IF NOT EXISTS messages "
    "(id VARCHAR, conversation_id VARCHAR, project_id VARCHAR, sequence INTEGER)",
    "CREATE TABLE IF NOT EXISTS documents (id VARCHAR, project_id VARCHAR, path VARCHAR)",
)


@dataclass(frozen=True)
class Lake:
    """Where a lake lives: its catalog conninfo, its data folder, the extension folder."""

    conninfo: str
    data_path: str
    extension_directory: str

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with the lake attached as ``lake`` and in use."""
        directory = Path(self.extension_directory)
        for name in ("ducklake", "postgres"):
            install_extension(name, directory)
        conn = duckdb.connect(
            config={
                "extension_directory": str(directory),
                "autoinstall_known_extensions": False,
                "memory_limit": "512MB",
                "threads": 1,
            }
        )
        conn.execute("LOAD ducklake; LOAD postgres")
        conn.execute(
            f"ATTACH 'ducklake:postgres:{self.conninfo}' AS lake (DATA_PATH '{self.data_path}')"
        )
        conn.execute("USE lake")
        return conn

    def as_json(self) -> str:
        """The lake as one command-line argument for a worker process."""
        return json.dumps([self.conninfo, self.data_path, self.extension_directory])

    @classmethod
    def from_json(cls, text: str) -> Lake:
        """The lake a worker was given."""
        return cls(*json.loads(text))


def create_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """The four tables (idempotent)."""
    for statement in SCHEMA:
        conn.execute(statement)


@dataclass
class Acks:
    """What the workers' logs say was acknowledged (committed and reported)."""

    projects: set[str] = field(default_factory=set)
    messages: dict[str, str] = field(default_factory=dict)  # id -> project
    documents: dict[str, str] = field(default_factory=dict)
    updates: Counter[tuple[str, int]] = field(default_factory=Counter)
    delete_intents: set[str] = field(default_factory=set)
    outcomes: Counter[str] = field(default_factory=Counter)

    @classmethod
    def read(cls, logs: list[Path]) -> Acks:
        """Every line of every worker log (a killed worker's last line may be cut: skipped)."""
        acks = cls()
        for log in logs:
            for line in log.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                acks.add(entry)
        return acks

    def add(self, entry: dict[str, Any]) -> None:
        kind = entry["op"]
        self.outcomes[f"{kind}:{entry.get('outcome', 'ok')}"] += 1
        if entry.get("outcome", "ok") != "ok":
            return
        if kind == "create":
            self.projects.add(entry["project"])
        elif kind == "message":
            self.messages[entry["id"]] = entry["project"]
        elif kind == "document":
            self.documents[entry["id"]] = entry["project"]
        elif kind == "update":
            self.updates[(entry["project"], entry["expected"])] += 1
        elif kind == "delete-intent":
            self.delete_intents.add(entry["project"])


def violations(
    conn: duckdb.DuckDBPyConnection, acks: Acks, *, exact_versions: bool
) -> dict[str, int]:
    """Every broken invariant, counted (all zero on a sound lake).

    ``exact_versions``: every committed update was acknowledged (no worker was killed), so a
    project's version is exactly 1 + its acknowledged updates.
    """

    def one(sql: str) -> int:
        row = conn.execute(sql).fetchone()
        return int(row[0] or 0) if row else 0

    found = {
        "duplicate_slugs": one(
            "SELECT count(*) FROM (SELECT slug FROM projects GROUP BY slug HAVING count(*) > 1)"
        ),
        "duplicate_documents": one(
            "SELECT count(*) FROM (SELECT project_id, path FROM documents "
            "GROUP BY ALL HAVING count(*) > 1)"
        ),
        "sequence_twins": one(
            "SELECT sum(n - d) FROM (SELECT count(*) AS n, count(DISTINCT sequence) AS d "
            "FROM messages GROUP BY conversation_id)"
        ),
        "sequence_gaps": one(
            "SELECT sum(m - d) FROM (SELECT max(sequence) AS m, count(DISTINCT sequence) AS d "
            "FROM messages GROUP BY conversation_id)"
        ),
        "orphan_conversations": one(
            "SELECT count(*) FROM conversations WHERE project_id NOT IN (SELECT id FROM projects)"
        ),
        "orphan_messages": one(
            "SELECT count(*) FROM messages WHERE conversation_id NOT IN "
            "(SELECT id FROM conversations) OR project_id NOT IN (SELECT id FROM projects)"
        ),
        "orphan_documents": one(
            "SELECT count(*) FROM documents WHERE project_id NOT IN (SELECT id FROM projects)"
        ),
        "lost_updates": sum(n - 1 for n in acks.updates.values() if n > 1),
    }
    found.update(_missing_acks(conn, acks))
    found["wrong_versions"] = _wrong_versions(conn, acks, exact=exact_versions)
    return found


def _ids(conn: duckdb.DuckDBPyConnection, sql: str) -> set[str]:
    return {row[0] for row in conn.execute(sql).fetchall()}


def _missing_acks(conn: duckdb.DuckDBPyConnection, acks: Acks) -> dict[str, int]:
    """Acknowledged rows that are gone, though nobody tried to delete their project."""
    spared = acks.delete_intents
    projects = _ids(conn, "SELECT id FROM projects")
    messages = _ids(conn, "SELECT id FROM messages")
    documents = _ids(conn, "SELECT id FROM documents")
    return {
        "missing_projects": len(acks.projects - projects - spared),
        "missing_messages": sum(
            1
            for row, project in acks.messages.items()
            if row not in messages and project not in spared
        ),
        "missing_documents": sum(
            1
            for row, project in acks.documents.items()
            if row not in documents and project not in spared
        ),
    }


def _wrong_versions(conn: duckdb.DuckDBPyConnection, acks: Acks, *, exact: bool) -> int:
    acked: Counter[str] = Counter()
    for (project, _expected), count in acks.updates.items():
        acked[project] += count
    wrong = 0
    for project, version in conn.execute("SELECT id, version FROM projects").fetchall():
        committed = version - 1
        wrong += committed != acked[project] if exact else committed < acked[project]
    return wrong
