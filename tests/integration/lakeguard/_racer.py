"""One racing writer process on a raw DuckLake: creates, appends, updates, deletes until a time.

Run as ``python -m tests.integration.lakeguard._racer LAKE_JSON LOG UNTIL SEED guard|bare``.
Every acknowledged write (its lake COMMIT returned) is appended to LOG as one JSON line, so the
test can check that every acknowledged write is present. ``bare`` runs the same units without
the guard, to show the invariants then break. Check-then-write is done in the lake transaction,
as the repositories do; the guard is what makes the check hold until the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import duckdb

from project_architect_db.core.lake import (
    Keys,
    LakeGuard,
    delete_keys,
    insert_keys,
    update_keys,
)
from project_architect_db.exceptions import ConflictError
from tests.integration.lakeguard._lake import Lake

SLUGS = [f"slug-{i}" for i in range(12)]
PATHS = [f"docs/{i}.md" for i in range(4)]
Unit = Callable[[duckdb.DuckDBPyConnection], dict[str, Any] | None]


#: Units each writer runs at the least, however late it started.
MIN_UNITS = 40


class Racer:
    """One process's loop: pick a unit, take its keys (unless bare), run it in a transaction."""

    def __init__(self, lake: Lake, log: Path, seed: int, guard: LakeGuard | None) -> None:
        self.conn = lake.connect()
        self.log = log.open("a", buffering=1)
        self.random = random.Random(seed)
        self.guard = guard

    def write_log(self, entry: dict[str, Any]) -> None:
        self.log.write(json.dumps(entry) + "\n")

    @contextlib.asynccontextmanager
    async def held(self, keys: Keys) -> AsyncIterator[None]:
        if self.guard is None:
            yield
            return
        async with self.guard.hold(exclusive=keys.exclusive, shared=keys.shared):
            yield

    async def run_unit(self, kind: str, keys: Keys, unit: Unit) -> None:
        """Lock, then BEGIN (so the snapshot follows every earlier commit), unit, COMMIT."""
        try:
            async with self.held(keys):
                entry = await asyncio.to_thread(self.transaction, unit)
        except ConflictError:
            entry = {"outcome": "lock-timeout"}
        except duckdb.TransactionException as error:
            entry = {"outcome": "lake-conflict", "error": str(error)[:200]}
        self.write_log({"op": kind, **(entry or {"outcome": "refused"})})

    def transaction(self, unit: Unit) -> dict[str, Any] | None:
        self.conn.execute("BEGIN")
        try:
            entry = unit(self.conn)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        if entry is None:
            self.conn.execute("ROLLBACK")
            return None
        self.conn.execute("COMMIT")
        return entry

    def pick(self, sql: str) -> tuple[Any, ...] | None:
        rows = self.conn.execute(sql).fetchall()
        return self.random.choice(rows) if rows else None

    async def create(self) -> None:
        slug = self.random.choice(SLUGS)

        def unit(conn: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
            if conn.execute("SELECT count(*) FROM projects WHERE slug = ?", [slug]).fetchone()[0]:
                return None
            project = str(uuid.uuid4())
            conn.execute("INSERT INTO projects VALUES (?, ?, 1)", [project, slug])
            for _ in range(2):
                conn.execute(
                    "INSERT INTO conversations VALUES (?, ?)", [str(uuid.uuid4()), project]
                )
            return {"project": project, "slug": slug}

        keys = insert_keys("projects", unique=[("projects", ("slug",), (slug,))]).merge(
            insert_keys("conversations")
        )
        await self.run_unit("create", keys, unit)

    async def message(self) -> None:
        picked = await asyncio.to_thread(self.pick, "SELECT id, project_id FROM conversations")
        if picked is None:
            return
        conversation, project = picked

        def unit(conn: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
            found = "SELECT count(*) FROM conversations WHERE id = ?"
            if not conn.execute(found, [conversation]).fetchone()[0]:
                return None
            sequence = conn.execute(
                "SELECT coalesce(max(sequence), 0) + 1 FROM messages WHERE conversation_id = ?",
                [conversation],
            ).fetchone()[0]
            message = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?)",
                [message, conversation, project, sequence],
            )
            return {"id": message, "project": project, "sequence": sequence}

        keys = insert_keys(
            "messages",
            ancestors=[("conversations", conversation), ("projects", project)],
            numbered_under=("conversations", conversation),
        )
        await self.run_unit("message", keys, unit)

    async def document(self) -> None:
        picked = await asyncio.to_thread(self.pick, "SELECT id FROM projects")
        if picked is None:
            return
        project, path = picked[0], self.random.choice(PATHS)

        def unit(conn: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
            if not conn.execute("SELECT count(*) FROM projects WHERE id = ?", [project]).fetchone()[
                0
            ]:
                return None
            taken = "SELECT count(*) FROM documents WHERE project_id = ? AND path = ?"
            if conn.execute(taken, [project, path]).fetchone()[0]:
                return None
            document = str(uuid.uuid4())
            conn.execute("INSERT INTO documents VALUES (?, ?, ?)", [document, project, path])
            return {"id": document, "project": project}

        keys = insert_keys(
            "documents",
            ancestors=[("projects", project)],
            unique=[("documents", ("project_id", "path"), (project, path))],
        )
        await self.run_unit("document", keys, unit)

    async def update(self) -> None:
        picked = await asyncio.to_thread(self.pick, "SELECT id, version FROM projects")
        if picked is None:
            return
        project, expected = picked

        def unit(conn: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
            row = conn.execute("SELECT version FROM projects WHERE id = ?", [project]).fetchone()
            if row is None or row[0] != expected:
                return None  # someone else won: the caller would get ConflictError
            conn.execute("UPDATE projects SET version = ? WHERE id = ?", [expected + 1, project])
            return {"project": project, "expected": expected}

        await self.run_unit("update", update_keys("projects", project), unit)

    async def delete(self) -> None:
        picked = await asyncio.to_thread(self.pick, "SELECT id FROM projects")
        if picked is None:
            return
        project = picked[0]
        self.write_log({"op": "delete-intent", "project": project})

        def unit(conn: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
            for table in ("messages", "documents", "conversations"):
                conn.execute(f"DELETE FROM {table} WHERE project_id = ?", [project])
            conn.execute("DELETE FROM projects WHERE id = ?", [project])
            return {"project": project}

        await self.run_unit(
            "delete",
            delete_keys(
                "projects", project, cascades_to=("messages", "documents", "conversations")
            ),
            unit,
        )

    async def race(self, until: float) -> None:
        """Race until ``until``, and at least ``MIN_UNITS`` units (up to 2 minutes more).

        On a loaded machine a writer's start-up (imports, extensions, ATTACH) can eat the whole
        race: each writer still runs its share, so the race happens whatever the load.
        """
        units = [self.create, self.message, self.document, self.update, self.delete]
        weights = [15, 40, 15, 20, 10]
        done = 0
        while time.time() < until or (done < MIN_UNITS and time.time() < until + 120):
            await self.random.choices(units, weights)[0]()
            done += 1


async def main(lake: Lake, log: Path, until: float, seed: int, mode: str) -> None:
    guard = await LakeGuard.connect(lake.conninfo, pool_size=1) if mode == "guard" else None
    try:
        await Racer(lake, log, seed, guard).race(until)
    finally:
        if guard is not None:
            await guard.close()


if __name__ == "__main__":
    lake_json, log_path, until_text, seed_text, mode_name = sys.argv[1:6]
    asyncio.run(
        main(
            Lake.from_json(lake_json), Path(log_path), float(until_text), int(seed_text), mode_name
        )
    )
