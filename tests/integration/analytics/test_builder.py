"""The builder on real DuckDB: JSON paths, joins, windows, results, export and its failures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from project_architect_db import Database
from project_architect_db.exceptions import InvalidQueryError, ProjectArchitectDBError
from project_architect_db.models import Message, Project
from project_architect_db.queries.analytics import (
    Analytics,
    bucket,
    count,
    count_distinct,
    json,
    lag_change,
    rank,
    running_total,
    sum_,
)
from project_architect_db.queries.filters import Eq, In

from ._expected import counter, group, trunc
from .conftest import Dataset

Loaded = tuple[Database, Dataset]


async def test_projects_count_by_a_json_path_of_their_architecture(loaded: Loaded) -> None:
    db, data = loaded
    rows = await (
        db.analytics.query(Project)
        .where(architecture__cloud="aws")
        .group_by(json("architecture", "database"))
        .aggregate(count())
        .order_by("database")
        .rows()
    )
    expected = counter(({"d": p["architecture"]["database"]} for p in data.projects), "d")
    assert [(r["database"], r["count"]) for r in rows] == sorted(
        (k[0], v) for k, v in expected.items()
    )


async def test_joins_follow_declared_relationships(loaded: Loaded) -> None:
    db, data = loaded
    rows = await (
        db.analytics.query(Project)
        .join("repositories", "builds")
        .where(Eq("status", "failure"), on="builds")
        .group_by(project="id")
        .aggregate(failures=count(), repos=count_distinct("repositories.id"))
        .rows()
    )
    failures = [b for b in data.builds if b["status"] == "failure"]
    expected = {
        pid: (len(items), len({b["repository_id"] for b in items}))
        for pid, items in group(failures, "project_id").items()
    }
    assert {r["project"]: (r["failures"], r["repos"]) for r in rows} == expected


async def test_windows_give_running_totals_ranks_and_period_changes(loaded: Loaded) -> None:
    db, data = loaded
    rows = await (
        db.analytics.query(Message)
        .where(role__in=["user", "assistant"])
        .group_by("role", bucket("created_at", "week"))
        .aggregate(count(), sum_("token_count").as_("tokens"))
        .window(
            running=running_total("count", order_by="week", partition_by="role"),
            change=lag_change("count", order_by="week", partition_by="role"),
            place=rank("tokens", partition_by="week"),
        )
        .order_by("role", "week")
        .rows()
    )
    chosen = [m for m in data.messages if m["role"] in ("user", "assistant")]
    cells = group(({**m, "week": trunc(m["created_at"], "week")} for m in chosen), "role", "week")
    for role in ("user", "assistant"):
        mine = [r for r in rows if r["role"] == role]
        weeks = sorted(w for (r, w) in cells if r == role)
        assert [r["week"] for r in mine] == weeks
        total, previous = 0, None
        for row in mine:
            n = len(cells[(role, row["week"])])
            total += n
            assert (row["count"], row["running"]) == (n, total)
            assert row["change"] == (None if previous is None else n - previous)
            previous = n
    for row in rows:
        tokens = {
            r: sum(m["token_count"] for m in c) for (r, w), c in cells.items() if w == row["week"]
        }
        assert row["place"] == 1 + sum(t > row["tokens"] for t in tokens.values())


async def test_having_keeps_groups_whose_aggregates_match(loaded: Loaded) -> None:
    db, data = loaded
    rows = await (
        db.analytics.query(Message)
        .group_by("conversation_id")
        .aggregate(count())
        .having(count__gte=6)
        .rows()
    )
    expected = {
        k: len(v) for k, v in group(data.messages, "conversation_id").items() if len(v) >= 6
    }
    assert {r["conversation_id"]: r["count"] for r in rows} == expected


async def test_same_shape_with_other_values_reuses_the_compiled_sql(loaded: Loaded) -> None:
    db, data = loaded
    base = db.analytics.query(Project).group_by("phase").aggregate(count())
    first = base.where(In("status", ["draft", "active"]))
    second = base.where(In("status", ["paused", "completed"]))
    assert first.sql() == second.sql()
    assert first.compiled()[1] != second.compiled()[1]
    got = {r["phase"]: r["count"] for r in await second.rows()}
    chosen = [p for p in data.projects if p["status"] in ("paused", "completed")]
    assert got == {k[0]: v for k, v in counter(chosen, "phase").items()}


async def test_to_arrow_returns_utc_timestamps(loaded: Loaded) -> None:
    db, _ = loaded
    table = await db.analytics.projects_created("month").to_arrow()
    assert table.schema.field("period").type == pa.timestamp("us", "UTC")
    assert sum(table.column("count").to_pylist()) == 6


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
async def test_export_writes_the_result_with_copy(loaded: Loaded, tmp_path: Path, fmt: str) -> None:
    db, data = loaded
    target = tmp_path / f"it's out.{fmt}"  # a quote in the name is escaped, not injected
    query = db.analytics.query(Project).where(status="active").group_by("phase").aggregate(count())
    written = await query.export(target, format=fmt)  # type: ignore[arg-type]
    back = duckdb.sql(
        f"SELECT phase, count FROM '{str(target).replace(chr(39), chr(39) * 2)}'"
    ).fetchall()
    actives = [p for p in data.projects if p["status"] == "active"]
    assert written == len(back)
    assert dict(back) == {k[0]: v for k, v in counter(actives, "phase").items()}


async def test_export_refuses_a_missing_folder_a_directory_and_unknown_formats(
    loaded: Loaded, tmp_path: Path
) -> None:
    db, _ = loaded
    query = db.analytics.portfolio()
    with pytest.raises(InvalidQueryError, match="does not exist"):
        await query.export(tmp_path / "nope" / "x.parquet")
    with pytest.raises(InvalidQueryError, match="directory"):
        await query.export(tmp_path)
    with pytest.raises(InvalidQueryError, match="format"):
        await query.export(tmp_path / "x.json", format="json")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match="NUL"):
        await query.export(str(tmp_path / "x\x00.csv"), format="csv")


@pytest.mark.skipif(importlib.util.find_spec("polars") is not None, reason="polars installed")
async def test_to_polars_without_polars_names_the_extra(loaded: Loaded) -> None:
    db, _ = loaded
    with pytest.raises(ProjectArchitectDBError, match=r"project-architect-db\[polars\]"):
        await db.analytics.portfolio().to_polars()


async def test_an_unbound_query_cannot_run() -> None:
    with pytest.raises(InvalidQueryError, match="not bound"):
        await Analytics(Project).group_by("status").aggregate(count()).rows()


async def test_an_invalid_enum_value_is_a_query_error(loaded: Loaded) -> None:
    db, _ = loaded
    with pytest.raises(InvalidQueryError):
        await db.analytics.query(Project).where(status="nonsense").aggregate(count()).rows()
