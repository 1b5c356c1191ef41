"""Bulk writes and reads: ``bulk_create``, ``bulk_upsert``, ``stream`` and ``to_arrow``.

The bulk paths turn validated ``*Create`` records into one Arrow table and insert it with one
``INSERT ... SELECT`` (DuckDB scans Arrow ~400x faster than ``executemany``). ``stream`` reads
rows in batches from one snapshot, holding one batch in memory; ``to_arrow`` hands DuckDB's
columnar result straight to pyarrow, without building Python row objects.

Run it::

    python examples/advanced/bulk_operations.py
    python examples/advanced/bulk_operations.py bulk.duckdb
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator

import pyarrow.compute as pc

import project_architect_db
from project_architect_db import AlreadyExistsError, Database, ProjectArchitectDBError
from project_architect_db.schemas import DocumentCreate, ProjectCreate

PROJECTS = 10_000
DOCUMENTS = 5_000
STATUSES = ("draft", "active", "paused", "completed")
DATABASES = ("postgresql", "duckdb", "sqlite", "mysql")


@contextlib.contextmanager
def database_path() -> Iterator[str]:
    """The database file: the first command-line argument, or one in a temporary folder."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with tempfile.TemporaryDirectory(prefix="padb-example-") as folder:
        yield os.path.join(folder, "example.duckdb")


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    """Print how long the block took."""
    started = time.perf_counter()
    yield
    print(f"{label}: {(time.perf_counter() - started) * 1000:,.1f} ms")


def project(i: int, *, generation: int = 1) -> ProjectCreate:
    """The i-th project of the catalogue."""
    return ProjectCreate(
        name=f"Catalogue project {i:05d}",
        slug=f"catalogue-{i:05d}",
        status=STATUSES[i % len(STATUSES)],
        tags=["bulk", f"batch-{i % 10}"],
        architecture={"database": DATABASES[i % len(DATABASES)], "generation": generation},
    )


async def main() -> None:
    with database_path() as path:
        async with Database.open(path) as db:
            # -- bulk_create ----------------------------------------------------------------
            print("== bulk_create")
            with timed(f"validated {PROJECTS:,} ProjectCreate records"):
                records = [project(i) for i in range(PROJECTS)]
            with timed(f"bulk_create({PROJECTS:,} projects)"):
                ids = await db.projects.bulk_create(records)
            print(f"got {len(ids):,} ids back, in order; count() = {await db.projects.count():,}")
            owner = await db.projects.get(ids[0])
            documents = [
                DocumentCreate(
                    project_id=owner.id,
                    path=f"docs/specs/spec-{i:04d}.md",
                    doc_type="spec",
                    content=f"# Spec {i}\n\nRequirement {i}: the system shall sync offline.\n",
                )
                for i in range(DOCUMENTS)
            ]
            with timed(f"bulk_create({DOCUMENTS:,} documents)"):
                await db.documents.bulk_create(documents)
            try:  # all or nothing: one duplicate slug, and nothing of the batch is written
                await db.projects.bulk_create([project(PROJECTS), project(0)])
            except AlreadyExistsError as error:
                print(f"AlreadyExistsError (nothing written): {str(error)[:90]}...")
            print(f"still {await db.projects.count():,} projects")

            # -- bulk_upsert ----------------------------------------------------------------
            print("\n== bulk_upsert by slug")
            changed = [project(i, generation=2) for i in range(0, PROJECTS, 5)]  # every 5th
            fresh = [project(i) for i in range(PROJECTS, PROJECTS + 500)]
            with timed(f"bulk_upsert({len(changed):,} changed + {len(fresh)} new)"):
                upserted = await db.projects.bulk_upsert(changed + fresh)
            print(f"upserted {upserted:,}; projects now {await db.projects.count():,}")
            print(f"projects at version 2: {await db.projects.count(version=2):,}")
            print(f"generation 2: {await db.projects.count(architecture__generation=2):,}")
            revised = [
                DocumentCreate(
                    project_id=owner.id,
                    path=f"docs/specs/spec-{i:04d}.md",
                    doc_type="spec",
                    content=f"# Spec {i}\n\nRequirement {i}: sync offline, merge on reconnect.\n",
                )
                for i in range(0, DOCUMENTS, 10)
            ]
            with timed(f"documents.bulk_upsert({len(revised)} revised documents)"):
                await db.documents.bulk_upsert(revised)
            history = await db.documents.history(
                (await db.documents.get_by_path(owner.id, "docs/specs/spec-0000.md")).id
            )
            print(f"spec-0000 kept {len(history)} previous version(s): v{history[0].version}")

            # -- stream ---------------------------------------------------------------------
            print("\n== stream(batch_size=2000)")
            databases: Counter[str] = Counter()
            batches = 0
            with timed("streamed every project"):
                async for batch in db.projects.stream(order_by="slug", batch_size=2_000):
                    batches += 1
                    databases.update(p.architecture["database"] for p in batch)
            print(f"{batches} batches, {databases.total():,} projects: {dict(databases)}")

            # -- to_arrow -------------------------------------------------------------------
            print("\n== to_arrow")
            with timed("to_arrow(status='active')"):
                table = await db.projects.to_arrow(status="active", order_by="slug")
            print(f"{table.num_rows:,} rows x {table.num_columns} columns")
            print(f"created_at type: {table.schema.field('created_at').type}")
            versions = pc.value_counts(table["version"]).to_pylist()
            print("versions among active projects:", {v["values"]: v["counts"] for v in versions})


if __name__ == "__main__":
    try:
        project_architect_db.run(main())
    except ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
