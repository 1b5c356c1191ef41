"""``Aggregate.from_list()``: a median or percentile computed from each group's list of values."""

from __future__ import annotations

import duckdb
import pytest

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.models import Build
from project_architect_db.queries.analytics import (
    Analytics,
    avg,
    count,
    max_,
    median,
    percentile,
    sum_,
)
from project_architect_db.queries.filters import Eq


def test_a_median_from_lists_renders_list_aggregate_with_its_filter() -> None:
    query = (
        Analytics(Build)
        .group_by("repository_id")
        .aggregate(
            m=median("duration_seconds").where(Eq("status", "success")).from_list(),
            p=percentile("duration_seconds", 0.95).from_list(),
        )
    )
    sql, params = query.compiled()
    assert (
        "list_aggregate(list(builds.duration_seconds) FILTER (WHERE builds.status = $1), "
        "'median') AS m" in sql
    )
    assert "list_aggregate(list(builds.duration_seconds), 'quantile_cont', 0.95) AS p" in sql
    assert params == ["success"]


def test_the_list_form_gives_the_aggregate_s_answer() -> None:
    # the same values through both forms, on DuckDB: nulls skipped, empty groups NULL
    rows = "(1, 1.0), (1, NULL), (1, 4.0), (1, 2.5), (2, NULL), (3, 7.0)"
    sql = f"""SELECT g, median(x), list_aggregate(list(x), 'median'),
                     quantile_cont(x, 0.95), list_aggregate(list(x), 'quantile_cont', 0.95)
              FROM (VALUES {rows}) t(g, x) GROUP BY g ORDER BY g"""
    for _, m, lm, q, lq in duckdb.sql(sql).fetchall():
        assert (m, q) == (lm, lq)


def test_from_list_is_part_of_the_shape() -> None:
    plain = Analytics(Build).group_by("repository_id").aggregate(m=median("duration_seconds"))
    listed = (
        Analytics(Build)
        .group_by("repository_id")
        .aggregate(m=median("duration_seconds").from_list())
    )
    assert plain.shape() != listed.shape()
    assert "median(builds.duration_seconds)" in plain.sql()
    assert "list_aggregate" in listed.sql()


@pytest.mark.parametrize(
    "aggregate",
    [count(), sum_("duration_seconds"), avg("duration_seconds"), max_("duration_seconds")],
    ids=["count", "sum", "avg", "max"],
)
def test_from_list_refuses_what_is_not_a_median_or_percentile(aggregate: object) -> None:
    with pytest.raises(InvalidQueryError, match="median or percentile"):
        aggregate.from_list()  # type: ignore[attr-defined]


def test_from_list_keeps_the_percentile_checks() -> None:
    with pytest.raises(InvalidQueryError, match="strictly between 0 and 1"):
        percentile("duration_seconds", 1.5).from_list()
