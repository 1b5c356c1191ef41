"""Everyday calls at two sizes 10x apart, each interleaved with raw DuckDB on the same file.

Issue 13, point 2 ("pages"): ``get``, a filtered sorted page of 50, keyset pages, a page of 50
messages, lookups by slug and by path, and (cost documented, no bar) ``offset=10_000``.

    python benchmarks/scale_pages.py SMALL.duckdb LARGE.duckdb [--rounds N] [--json]

Both files are opened read-only (others may read them at the same time). Each round runs every
call once per file, library and raw DuckDB alternating (the order rotates every round), with
the same random arguments; the raw side runs the SQL the library sends, on a cursor of the
library's own DuckDB instance (DuckDB refuses a second instance of a file with another
configuration). A second raw column runs the plain SQL the library sent before this work
(``ORDER BY ... LIMIT 51`` on the table), to show what the rewrite saves.

:func:`measure` takes the two paths and returns :class:`ScaleRow` s, so ``project-architect-db
benchmark --scale`` can call it and print the rows its own way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.models import Project
from project_architect_db.queries.sorting import encode_cursor, parse_order
from project_architect_db.repositories._pages import WINDOW_ROWS

__all__ = ["BARS", "ScaleRow", "measure", "print_rows"]

#: Each call's bar at the large size (ms) and the largest growth allowed from small to large.
BARS: dict[str, tuple[float | None, float | None]] = {
    "get": (2.0, None),
    "page": (10.0, 1.5),
    "keyset page 2": (10.0, 1.5),
    "keyset deep": (10.0, 1.5),
    "messages page": (10.0, 1.5),
    "by slug": (10.0, None),
    "by path": (10.0, None),
    "offset 10000": (None, None),
}

_PROJECT_COLUMNS = (
    "id, name, slug, description, status, phase, owner_id, tags, tech_stack, architecture, "
    "metadata, created_at, updated_at, version"
)
_MESSAGE_COLUMNS = (
    "id, conversation_id, project_id, sequence, role, content, type, token_count, metadata, "
    "created_at"
)
_DOCUMENT_COLUMNS = (
    "id, project_id, path, title, doc_type, content, content_hash, size_bytes, metadata, "
    "created_at, updated_at, version"
)
# The SQL the library sends for each call (see repositories/_pages.py), and what it sent before.
_GET = f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id = $1"
_ORDER = "ORDER BY created_at DESC, id DESC"
# The page's rowids and first key in a window near its start (``repositories/_pages.py``:
# exact when it holds the whole page, as it does here), then its rows from the page's range.
_HIGH, _LOW = "epoch_us(max(created_at))", "epoch_us(min(created_at))"
_SPAN = f"CAST(({_HIGH} - {_LOW}) * least(1.0, $1 / count(*)) AS BIGINT)"
_WINDOW = (
    f"created_at >= (SELECT make_timestamp(greatest({_LOW}, {_HIGH} - {_SPAN})) FROM projects)"
)
_KEYSET_WINDOW = (
    "created_at >= (SELECT make_timestamp(greatest("
    f"{_LOW}, least({_HIGH}, epoch_us($3::TIMESTAMP)) - {_SPAN})) FROM projects)"
)


def _rows_of_page(found: str) -> str:
    return (
        f"WITH projects_page AS MATERIALIZED (SELECT rowid AS r, created_at AS k FROM projects "
        f"{found}) SELECT {_PROJECT_COLUMNS} FROM projects "
        "WHERE created_at >= (SELECT min(k) FROM projects_page) "
        "AND created_at <= (SELECT max(k) FROM projects_page) "
        f"AND rowid IN (SELECT r FROM projects_page) {_ORDER}"
    )


_PAGE = _rows_of_page(f"WHERE status = $2 AND {_WINDOW} {_ORDER} LIMIT 51")
_PAGE_BEFORE = f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE status = $1 {_ORDER} LIMIT 51"
_AFTER = "(created_at < $3 OR created_at = $3 AND id < $4)"
_KEYSET = _rows_of_page(
    f"WHERE status = $2 AND created_at <= $3 AND {_AFTER} AND {_KEYSET_WINDOW} {_ORDER} LIMIT 51"
)
_KEYSET_BEFORE = (
    f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE status = $1 "
    f"AND (created_at < $2 OR created_at = $2 AND id < $3) {_ORDER} LIMIT 51"
)
#: The window's rows for a page of ``limit + 1 + offset`` rows (``_pages.WINDOW_ROWS``).
_ROWS = float(WINDOW_ROWS)
_OFFSET_ROWS = float(WINDOW_ROWS * -(-(51 + 10_000) // 64))
_MESSAGES = (
    f"WITH m AS MATERIALIZED (SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1) "
    f"SELECT {_MESSAGE_COLUMNS} FROM m ORDER BY sequence ASC, id ASC LIMIT 51"
)
_MESSAGES_BEFORE = (
    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 "
    "ORDER BY sequence ASC, id ASC LIMIT 51"
)
_SLUG = f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE slug = $1"
_PATH = (
    f"WITH d AS MATERIALIZED (SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE project_id = $1) "
    f"SELECT {_DOCUMENT_COLUMNS} FROM d WHERE path = $2 ORDER BY id ASC LIMIT 1"
)
_PATH_BEFORE = f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE project_id = $1 AND path = $2"
_OFFSET = _rows_of_page(f"WHERE status = $2 AND {_WINDOW} {_ORDER} LIMIT 51 OFFSET 10000")
_OFFSET_BEFORE = _PAGE_BEFORE + " OFFSET 10000"


@dataclass(frozen=True, slots=True)
class ScaleRow:
    """One call's medians (ms) at both sizes, library and raw DuckDB, and its verdict."""

    call: str
    small_library: float
    small_raw: float
    large_library: float
    large_raw: float
    #: Raw DuckDB running the plain SQL the library sent before issue 13 (``None``: same SQL).
    large_raw_before: float | None
    bar_ms: float | None
    growth_bar: float | None

    @property
    def ratio(self) -> float:
        """Library / raw at the large size."""
        return self.large_library / self.large_raw

    @property
    def growth(self) -> float:
        """Library large / library small."""
        return self.large_library / self.small_library

    @property
    def verdict(self) -> str:
        """``met`` / ``MISSED (...)`` against the bars, or ``documented`` (no bar)."""
        if self.bar_ms is None:
            return "documented"
        missed = []
        if self.large_library > self.bar_ms:
            missed.append(f"> {self.bar_ms:g} ms")
        if self.growth_bar is not None and self.growth > self.growth_bar:
            missed.append(f"growth > {self.growth_bar:g}x")
        return "met" if not missed else "MISSED (" + ", ".join(missed) + ")"


@dataclass
class _Side:
    """One file: the library on it, a raw cursor of the same instance, and sample arguments."""

    db: Database
    raw: duckdb.DuckDBPyConnection
    ids: list[uuid.UUID]
    slugs: list[str]
    conversations: list[uuid.UUID]
    paths: list[tuple[uuid.UUID, str]]
    #: Page 1's last row (keyset page 2) and a row half-way through the table (keyset deep).
    page_one_last: tuple[datetime, uuid.UUID]
    middle: tuple[datetime, uuid.UUID]


async def _open(path: Path, rng: random.Random, samples: int) -> _Side:
    db = await Database.open(path, read_only=True, load_fts=False)
    async with db.engine.connect() as conn:
        raw: duckdb.DuckDBPyConnection = await run_native(conn, lambda duck: duck.cursor())
    count = raw.execute("SELECT count(*) FROM projects").fetchone()[0]  # type: ignore[index]
    picks = sorted(rng.sample(range(count), min(samples, count)))
    projects = raw.execute(
        "SELECT id, slug FROM projects WHERE rowid IN (SELECT unnest($1::BIGINT[]))", [picks]
    ).fetchall()
    conversations = raw.execute(
        "SELECT id FROM conversations WHERE rowid IN (SELECT unnest($1::BIGINT[]))", [picks]
    ).fetchall()
    paths = raw.execute(
        "SELECT project_id, path FROM documents WHERE rowid IN (SELECT unnest($1::BIGINT[]))",
        [picks],
    ).fetchall()
    page = raw.execute(_PAGE_BEFORE, ["active"]).fetchall()
    middle = raw.execute(
        "SELECT created_at, id FROM projects WHERE status = 'active' "
        "ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $1",
        [count // 4],
    ).fetchone()
    assert middle is not None
    assert len(page) == 51
    return _Side(
        db,
        raw,
        [row[0] for row in projects],
        [row[1] for row in projects],
        [row[0] for row in conversations],
        [(row[0], row[1]) for row in paths],
        (page[49][11], page[49][0]),
        (middle[0], middle[1]),
    )


def _cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    keys = parse_order(Project, "-created_at")
    return encode_cursor(Project, keys, _Key(created_at, row_id))


@dataclass(frozen=True, slots=True)
class _Key:
    created_at: datetime
    id: uuid.UUID


Timed = Callable[[], Awaitable[Any]]


def _calls(side: _Side, rng: random.Random) -> dict[str, tuple[Timed, Timed, Timed | None]]:
    """Per call: the library call, raw DuckDB with the same SQL, raw with the SQL before."""
    db, raw = side.db, side.raw
    index = rng.randrange(len(side.ids))
    project_id, slug = side.ids[index], side.slugs[index]
    conversation = rng.choice(side.conversations)
    document_project, path = rng.choice(side.paths)
    page_two = _cursor(*side.page_one_last)
    deep = _cursor(*side.middle)

    def sql(text: str, *params: Any) -> Timed:
        async def run() -> Any:
            return raw.execute(text, list(params)).fetchall()

        return run

    return {
        "get": (lambda: db.projects.get(project_id), sql(_GET, project_id), None),
        "page": (
            lambda: db.projects.list(status="active", order_by="-created_at", limit=50),
            sql(_PAGE, _ROWS, "active"),
            sql(_PAGE_BEFORE, "active"),
        ),
        "keyset page 2": (
            lambda: db.projects.list(
                status="active", order_by="-created_at", limit=50, cursor=page_two
            ),
            sql(_KEYSET, _ROWS, "active", *side.page_one_last),
            sql(_KEYSET_BEFORE, "active", *side.page_one_last),
        ),
        "keyset deep": (
            lambda: db.projects.list(
                status="active", order_by="-created_at", limit=50, cursor=deep
            ),
            sql(_KEYSET, _ROWS, "active", *side.middle),
            sql(_KEYSET_BEFORE, "active", *side.middle),
        ),
        "messages page": (
            lambda: db.conversations.messages(conversation, limit=50),
            sql(_MESSAGES, conversation),
            sql(_MESSAGES_BEFORE, conversation),
        ),
        "by slug": (lambda: db.projects.get_by_slug(slug), sql(_SLUG, slug), None),
        "by path": (
            lambda: db.documents.get_by_path(document_project, path),
            sql(_PATH, document_project, path),
            sql(_PATH_BEFORE, document_project, path),
        ),
        "offset 10000": (
            lambda: db.projects.list(
                status="active", order_by="-created_at", limit=50, offset=10_000
            ),
            sql(_OFFSET, _OFFSET_ROWS, "active"),
            sql(_OFFSET_BEFORE, "active"),
        ),
    }


async def _time(call: Timed) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def _measure(small: Path, large: Path, rounds: int, warmup: int) -> list[ScaleRow]:
    rng = random.Random(13)
    sides = {"small": await _open(small, rng, 2000), "large": await _open(large, rng, 2000)}
    samples: dict[tuple[str, str, str], list[float]] = {}
    try:
        for round_number in range(warmup + rounds):
            for size, side in sides.items():
                for name, (library, raw, before) in _calls(side, rng).items():
                    contestants = [("library", library), ("raw", raw)]
                    if before is not None and size == "large":
                        contestants.append(("before", before))
                    shift = round_number % len(contestants)  # rotate who goes first
                    for who, call in contestants[shift:] + contestants[:shift]:
                        elapsed = await _time(call)
                        if round_number >= warmup:
                            samples.setdefault((name, size, who), []).append(elapsed)
    finally:
        for side in sides.values():
            side.raw.close()
            await side.db.close()

    def median(name: str, size: str, who: str) -> float:
        return statistics.median(samples[(name, size, who)])

    rows = []
    for name, (bar, growth) in BARS.items():
        before = samples.get((name, "large", "before"))
        rows.append(
            ScaleRow(
                name,
                median(name, "small", "library"),
                median(name, "small", "raw"),
                median(name, "large", "library"),
                median(name, "large", "raw"),
                statistics.median(before) if before else None,
                bar,
                growth,
            )
        )
    return rows


def measure(small: Path, large: Path, *, rounds: int = 41, warmup: int = 5) -> list[ScaleRow]:
    """Median per call at both sizes, library and raw, interleaved; opens both read-only."""
    return asyncio.run(_measure(Path(small), Path(large), rounds, warmup))


def print_rows(rows: list[ScaleRow], *, small: Path, large: Path) -> None:
    """The rows as a Markdown table, with the load average."""
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"small: {small}  large: {large}  load average (1/5/15 min): {load}")
    print(
        "| call | small lib | small raw | large lib | large raw | ratio | growth "
        "| raw, SQL before | verdict |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        before = "-" if row.large_raw_before is None else f"{row.large_raw_before:.2f}"
        print(
            f"| {row.call} | {row.small_library:.2f} | {row.small_raw:.2f} "
            f"| {row.large_library:.2f} | {row.large_raw:.2f} | {row.ratio:.2f}x "
            f"| {row.growth:.2f}x | {before} | {row.verdict} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("small", type=Path)
    parser.add_argument("large", type=Path)
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    rows = measure(args.small, args.large, rounds=args.rounds, warmup=args.warmup)
    if args.json:
        print(json.dumps([asdict(row) | {"verdict": row.verdict} for row in rows], indent=2))
    else:
        print_rows(rows, small=args.small, large=args.large)
    return 0 if all(not row.verdict.startswith("MISSED") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
