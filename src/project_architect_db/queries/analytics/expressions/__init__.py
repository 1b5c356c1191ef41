"""The vocabulary of the analytics builder: fields, time buckets, JSON paths, aggregates, windows.

Every piece is a small frozen dataclass with a hashable :meth:`shape` (its structure without
values: the compiled-SQL cache key is made of these) and a ``build`` method returning the
SQLAlchemy expression. Names coming from users are checked when the query is built; values are
bound parameters. Three things are rendered into the SQL text instead, each validated against a
closed set first, because they are structure, not data: a bucket's unit (``'week'``), a JSON path
(identifier keys only) and a percentile's fraction (a float in (0, 1)).
"""

from __future__ import annotations

from project_architect_db.queries.analytics.expressions._aggregates import (
    Aggregate,
    Ratio,
    avg,
    count,
    count_distinct,
    max_,
    median,
    min_,
    percentile,
    rate,
    ratio,
    sum_,
)
from project_architect_db.queries.analytics.expressions._aggregates import (
    AggregateLike as AggregateLike,
)
from project_architect_db.queries.analytics.expressions._expr import (
    BUCKETS,
    Bucket,
    Duration,
    Expr,
    Field,
    JsonField,
    Resolver,
    as_expr,
    bucket,
    duration,
    json,
)
from project_architect_db.queries.analytics.expressions._shapes import filter_shape, filter_values
from project_architect_db.queries.analytics.expressions._windows import (
    Window,
    lag_change,
    rank,
    running_total,
)

__all__ = [
    "BUCKETS",
    "Aggregate",
    "Bucket",
    "Duration",
    "Expr",
    "Field",
    "JsonField",
    "Ratio",
    "Resolver",
    "Window",
    "as_expr",
    "avg",
    "bucket",
    "count",
    "count_distinct",
    "duration",
    "filter_shape",
    "filter_values",
    "json",
    "lag_change",
    "max_",
    "median",
    "min_",
    "percentile",
    "rank",
    "rate",
    "ratio",
    "running_total",
    "sum_",
]
