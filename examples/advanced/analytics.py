"""Analytics on DuckDB's columnar engine: the query builder, prebuilt answers, Parquet export.

1. Seed a realistic dataset through the Arrow fast path of ``project_architect_db.datagen``
   (``generate_dataset`` + ``load_dataset``: one ``INSERT ... SELECT`` per table).
2. Build a query: messages per month (a time bucket) with aggregates and two windows (a running
   total and the month-over-month change), and print the SQL it compiles to.
3. Group projects by a key inside their ``architecture`` JSON column.
4. Ask the prebuilt answers on ``db.analytics`` (portfolio, DORA metrics, most active projects).
5. Export a result to Parquet with DuckDB's ``COPY`` (rows never pass through Python).

Run it::

    python examples/advanced/analytics.py
    python examples/advanced/analytics.py analytics.duckdb
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq

import project_architect_db
from project_architect_db import Database, ProjectArchitectDBError
from project_architect_db.datagen import generate_dataset, load_dataset
from project_architect_db.models import Message, Project
from project_architect_db.queries.analytics import (
    avg,
    bucket,
    count,
    count_distinct,
    json,
    lag_change,
    running_total,
    sum_,
)

# The data's reference instant. By default generated data ends today; pinning it keeps this
# example's output the same every day ("the last 30 days" below are the 30 days before it).
REFERENCE_NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)


@contextlib.contextmanager
def database_path() -> Iterator[str]:
    """The database file: the first command-line argument, or one in a temporary folder."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with tempfile.TemporaryDirectory(prefix="padb-example-") as folder:
        yield os.path.join(folder, "example.duckdb")


def show(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    """Print rows as an aligned text table."""
    if not rows:
        print("  (no rows)")
        return
    names = list(columns or rows[0])

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, date):  # a datetime is a date too
            return value.strftime("%Y-%m-%d")
        return "-" if value is None else str(value)

    table = [[cell(row[name]) for name in names] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in table)) for i, name in enumerate(names)]
    print("  " + "  ".join(name.ljust(width) for name, width in zip(names, widths, strict=True)))
    for line in table:
        print("  " + "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)))


async def main() -> None:
    with database_path() as path, tempfile.TemporaryDirectory(prefix="padb-export-") as exports:
        async with Database.open(path) as db:
            # -- 1. seed through the Arrow fast path ----------------------------------------
            started = time.perf_counter()
            dataset = generate_dataset(
                7, projects=30, messages_per_conversation=25, now=REFERENCE_NOW
            )
            await load_dataset(db, dataset)
            rows = sum(dataset.row_counts().values())
            print(f"Seeded {rows:,} rows in {time.perf_counter() - started:.2f} s:")
            print("  " + ", ".join(f"{k} {v:,}" for k, v in dataset.row_counts().items()))

            # -- 2. the builder: time buckets, aggregates, windows --------------------------
            since = REFERENCE_NOW - timedelta(days=183)
            monthly = (
                db.analytics.query(Message)
                .where(created_at__gte=since, role__in=["user", "assistant"])
                .group_by(month=bucket("created_at", "month"))
                .aggregate(
                    messages=count(),
                    tokens=sum_("token_count"),
                    avg_tokens=avg("token_count"),
                    threads=count_distinct("conversation_id"),
                )
                .window(
                    cumulative=running_total("messages", order_by="month"),
                    change=lag_change("messages", order_by="month"),
                )
                .order_by("month")
            )
            print(f"\n== Messages per month since {since:%Y-%m-%d} (builder + windows)")
            show(await monthly.rows())
            print("\nThe SQL it runs ($n are bound parameters):")
            print("  " + monthly.sql().replace("\n", "\n  "))

            # -- 3. JSON analytics ----------------------------------------------------------
            by_database = (
                db.analytics.query(Project)
                .group_by(json("architecture", "database"))
                .aggregate(count(), avg_version=avg("version"))
                .order_by("-count", "database")
            )
            print("\n== Projects by architecture.database (JSON path)")
            show(await by_database.rows())
            on_aws = await (
                db.analytics.query(Project)
                .where(architecture__cloud="AWS")
                .group_by("status")
                .aggregate(count())
                .order_by("status")
                .rows()
            )
            print("\n== Projects running on AWS, by status")
            show(on_aws)

            # -- 4. prebuilt answers --------------------------------------------------------
            print("\n== db.analytics.portfolio()")
            show(await db.analytics.portfolio().rows())
            print(
                "\n== db.analytics.most_active_projects(5, days=30): messages in the last 30 days"
            )
            active = db.analytics.most_active_projects(5, days=30, now=REFERENCE_NOW)
            show(await active.rows(), ["name", "messages", "tokens"])
            print("\n== db.analytics.cicd_health('project', days=90): builds + DORA (first 5)")
            health = await db.analytics.cicd_health("project", days=90, now=REFERENCE_NOW).rows()
            show(
                health[:5],
                ["name", "builds", "success_rate", "deployments", "median_lead_time_seconds"],
            )
            weekly = await db.analytics.message_activity("week").to_arrow()
            fields = ", ".join(f"{field.name}: {field.type}" for field in weekly.schema)
            print(f"\nmessage_activity('week').to_arrow(): {weekly.num_rows} rows ({fields})")

            # -- 5. export to Parquet -------------------------------------------------------
            target = os.path.join(exports, "messages_per_month.parquet")
            written = await monthly.export(target)
            back = pq.read_table(target)
            print(f"\n== export: wrote {written} rows to {os.path.basename(target)}")
            print(f"  read back with pyarrow: {back.num_rows} rows, columns {back.column_names}")


if __name__ == "__main__":
    try:
        project_architect_db.run(main())
    except ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
