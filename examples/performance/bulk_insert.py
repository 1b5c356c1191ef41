"""Bulk insert: the Arrow path (``bulk_create``) against the ORM (``session.add_all``).

Both insert the same validated ``ProjectCreate`` records into a fresh table:

* **Arrow path**: ``await db.projects.bulk_create(records)`` builds one Arrow column per field
  and runs one ``INSERT INTO projects BY NAME SELECT * FROM <arrow table>``.
* **ORM**: ``tx.session.add_all([Project(...), ...])`` in one ``db.transaction()``; SQLAlchemy
  flushes the objects as batched ``INSERT`` statements at commit. The ORM objects are built
  before the clock starts, so only the insert is timed.

Each path runs a small warm-up batch first (statement compilation, first-use imports). The
Arrow path is then timed over three rounds and the best one counts (machines under load are
noisy); the ORM round takes long enough to be stable on its own. The ratio is printed at the
end.

Run it::

    python examples/performance/bulk_insert.py            # 2,000 rows per round
    python examples/performance/bulk_insert.py bulk.duckdb
    ROWS=20000 python examples/performance/bulk_insert.py
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator

from sqlalchemy import func, select

import project_architect_db
from project_architect_db import Database, ProjectArchitectDBError
from project_architect_db.models import Project
from project_architect_db.schemas import ProjectCreate

ROWS = int(os.environ.get("ROWS", "2000"))
ARROW_ROUNDS = 3  # cheap: take the best of three
ORM_ROUNDS = 1  # ~0.6 ms per row: one round is long enough to be stable


@contextlib.contextmanager
def database_path() -> Iterator[str]:
    """The database file: the first command-line argument, or one in a temporary folder."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with tempfile.TemporaryDirectory(prefix="padb-example-") as folder:
        yield os.path.join(folder, "example.duckdb")


def records(prefix: str, count: int) -> list[ProjectCreate]:
    """``count`` validated project records with unique slugs."""
    return [
        ProjectCreate(
            name=f"{prefix} project {i}",
            status="active" if i % 2 else "draft",
            tags=["bulk", "perf"],
            tech_stack=["python", "duckdb"],
            description=f"row {i}",
            architecture={"database": "duckdb", "replicas": i % 5},
        )
        for i in range(count)
    ]


def orm_objects(batch: list[ProjectCreate]) -> list[Project]:
    """The same records as ORM instances."""
    return [Project(**record.model_dump()) for record in batch]


async def arrow_insert(db: Database, batch: list[ProjectCreate]) -> float:
    started = time.perf_counter()
    await db.projects.bulk_create(batch)
    return time.perf_counter() - started


async def orm_insert(db: Database, objects: list[Project]) -> float:
    started = time.perf_counter()
    async with db.transaction() as tx:
        tx.session.add_all(objects)
    return time.perf_counter() - started


async def main() -> None:
    with database_path() as path:
        async with Database.open(path) as db:
            print(f"Inserting {ROWS:,} projects per round\n")
            await arrow_insert(db, records("warm-arrow", 50))
            await orm_insert(db, orm_objects(records("warm-orm", 50)))

            arrow_times: list[float] = []
            for round_number in range(1, ARROW_ROUNDS + 1):
                batch = records(f"arrow{round_number}", ROWS)
                arrow_times.append(await arrow_insert(db, batch))
                print(f"Arrow bulk_create round {round_number}: {arrow_times[-1] * 1000:8.1f} ms")
            orm_times: list[float] = []
            for round_number in range(1, ORM_ROUNDS + 1):
                objects = orm_objects(records(f"orm{round_number}", ROWS))
                orm_times.append(await orm_insert(db, objects))
                print(f"ORM add_all round {round_number}:       {orm_times[-1] * 1000:8.1f} ms")

            arrow, orm = min(arrow_times), min(orm_times)
            print(f"\nArrow bulk_create : {arrow * 1000:8.1f} ms  ({ROWS / arrow:>10,.0f} rows/s)")
            print(f"ORM add_all       : {orm * 1000:8.1f} ms  ({ROWS / orm:>10,.0f} rows/s)")
            print(f"ratio: the Arrow path is {orm / arrow:.1f}x faster")

            async with db.session() as session:
                stored = await session.scalar(select(func.count()).select_from(Project))
            expected = (ARROW_ROUNDS + ORM_ROUNDS) * ROWS + 100
            print(f"rows stored: {stored:,} (expected {expected:,})")
            by_arrow = await db.projects.get_by_slug("arrow1-project-7")
            by_orm = await db.projects.get_by_slug("orm1-project-7")
            ignored = {"id", "name", "slug", "created_at", "updated_at"}
            same = by_arrow.model_dump(exclude=ignored) == by_orm.model_dump(exclude=ignored)
            print(f"row 7 of each path holds the same values (besides ids, names, times): {same}")


if __name__ == "__main__":
    try:
        project_architect_db.run(main())
    except ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
