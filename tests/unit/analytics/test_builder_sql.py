"""Generated SQL of every builder feature, snapshot-tested (``snapshots/<test>/<param>/out.sql``).

Regenerate after an intended change with ``PADB_UPDATE_SNAPSHOTS=1 pytest tests/unit/analytics``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.models import Build, Conversation, Deployment, Message, Project
from project_architect_db.queries.analytics import (
    Analytics,
    avg,
    bucket,
    cache_info,
    count,
    count_distinct,
    duration,
    json,
    lag_change,
    max_,
    median,
    min_,
    percentile,
    rank,
    rate,
    ratio,
    running_total,
    sum_,
)
from project_architect_db.queries.analytics._execute import Runnable
from project_architect_db.queries.analytics.answers import AnalyticsAnswers
from project_architect_db.queries.filters import Eq, In, JsonPathEq, Range

SNAPSHOTS = Path(__file__).parent / "snapshots"
SINCE = datetime(2026, 1, 1, tzinfo=UTC)

CASES: dict[str, Callable[[], Analytics]] = {
    "group_by_fields": lambda: Analytics(Project).group_by("status", "phase").aggregate(count()),
    "where_keywords_and_filters": lambda: (
        Analytics(Project)
        .where(In("status", ["draft", "active"]), created_at__gte=SINCE, name__contains="a")
        .group_by("phase")
        .aggregate(count())
    ),
    "bucket_hour": lambda: (
        Analytics(Message).group_by(bucket("created_at", "hour")).aggregate(count())
    ),
    "bucket_day": lambda: (
        Analytics(Message).group_by(bucket("created_at", "day")).aggregate(count())
    ),
    "bucket_week": lambda: (
        Analytics(Message).group_by(bucket("created_at", "week")).aggregate(count())
    ),
    "bucket_month": lambda: (
        Analytics(Message).group_by(bucket("created_at", "month")).aggregate(count())
    ),
    "all_aggregates": lambda: (
        Analytics(Message)
        .group_by("role")
        .aggregate(
            count(),
            count_distinct("conversation_id"),
            sum_("token_count"),
            avg("token_count"),
            min_("token_count"),
            max_("token_count"),
            median("token_count"),
            percentile("token_count", 0.95),
            p99=percentile("token_count", 0.99),
        )
    ),
    "filtered_aggregate_and_rate": lambda: (
        Analytics(Build)
        .group_by("repository_id")
        .aggregate(
            failures=count().where(Eq("status", "failure")),
            success_rate=rate(
                Eq("status", "success"), among=(In("status", ["success", "failure"]),)
            ),
            per_day=ratio(count(), 30),
        )
    ),
    "duration": lambda: (
        Analytics(Deployment)
        .group_by("environment")
        .aggregate(lead=median(duration("commit_at", "finished_at")))
    ),
    "json_group_and_filter": lambda: (
        Analytics(Project)
        .where(JsonPathEq("architecture", ("cloud",), "aws"))
        .group_by(json("architecture", "database"))
        .aggregate(count())
    ),
    "windows": lambda: (
        Analytics(Message)
        .group_by("role", bucket("created_at", "week"))
        .aggregate(count())
        .window(
            running_total("count", order_by="week", partition_by="role"),
            rank("count", partition_by="week"),
            lag_change("count", order_by="week", partition_by="role"),
        )
    ),
    "having_order_limit": lambda: (
        Analytics(Message)
        .group_by("conversation_id")
        .aggregate(count())
        .having(count__gte=10)
        .order_by("-count")
        .limit(5)
    ),
    "join_chain": lambda: (
        Analytics(Project)
        .join("conversations", "messages")
        .where(Eq("role", "user"), on="messages")
        .group_by("name", "conversations.phase")
        .aggregate(count())
    ),
    "join_many_to_one": lambda: (
        Analytics(Build).join("repository").group_by(url="repository.url").aggregate(count())
    ),
    "select_top_n": lambda: (
        Analytics(Conversation)
        .select("id", "title", "message_count")
        .where(Range("message_count", gte=1))
        .order_by("-message_count")
        .limit(10)
    ),
}

ANSWERS = AnalyticsAnswers()
ANSWER_CASES: dict[str, Callable[[], Runnable]] = {
    "portfolio": ANSWERS.portfolio,
    "message_activity": ANSWERS.message_activity,
    "reply_latency": ANSWERS.reply_latency,
    "dora": lambda: ANSWERS.dora(now=SINCE),
    "cicd_health": lambda: ANSWERS.cicd_health(now=SINCE),
    "project_health": ANSWERS.project_health,
    "project_health_all": lambda: ANSWERS.project_health(limit=None),
    "flakiest_repositories": ANSWERS.flakiest_repositories,
}


def check_snapshot(test: str, param: str, sql: str) -> None:
    path = SNAPSHOTS / test / param / "out.sql"
    text = sql.strip() + "\n"
    if os.environ.get("PADB_UPDATE_SNAPSHOTS") or not path.exists():
        if not os.environ.get("PADB_UPDATE_SNAPSHOTS"):
            pytest.fail(f"missing snapshot {path}; run with PADB_UPDATE_SNAPSHOTS=1")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_builder_sql_matches_its_snapshot(case: str) -> None:
    check_snapshot("test_builder_sql_matches_its_snapshot", case, CASES[case]().sql())


@pytest.mark.parametrize("case", sorted(ANSWER_CASES))
def test_answer_sql_matches_its_snapshot(case: str) -> None:
    check_snapshot("test_answer_sql_matches_its_snapshot", case, ANSWER_CASES[case]().sql())


def test_values_are_bound_never_rendered() -> None:
    query = Analytics(Project).where(name="x'); DROP TABLE projects; --").aggregate(count())
    sql, params = query.compiled()
    assert "DROP" not in sql
    assert params == ["x'); DROP TABLE projects; --"]


def test_a_second_query_of_the_same_shape_hits_the_cache() -> None:
    def build(status: str) -> Analytics:
        return Analytics(Deployment).where(status=status).group_by("environment").aggregate(count())

    build("success").sql()
    before = cache_info()
    _, params = build("failure").compiled()
    after = cache_info()
    assert after["hits"] == before["hits"] + 1
    assert after["misses"] == before["misses"]
    assert params == ["failure"]


def test_booleans_are_part_of_the_shape_because_they_render_as_literals() -> None:
    def build(flag: bool) -> Analytics:
        return Analytics(Deployment).where(caused_incident=flag).aggregate(count())

    assert "= true" in build(True).sql()
    assert "= false" in build(False).sql()


def test_builder_steps_return_new_builders() -> None:
    base = Analytics(Project).group_by("status")
    narrowed = base.where(status="active")
    assert base is not narrowed
    assert "WHERE" not in base.aggregate(count()).sql()


def test_an_unknown_field_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidQueryError, match=r"no field 'colour'.*Valid fields: .*status"):
        Analytics(Project).group_by("colour")
    with pytest.raises(InvalidQueryError, match="no field"):
        Analytics(Project).where(colour="red")
    with pytest.raises(InvalidQueryError, match="no field"):
        Analytics(Message).aggregate(sum_("tokens"))


def test_a_bad_bucket_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match="hour, day, week, month"):
        bucket("created_at", "fortnight")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match="not a timestamp"):
        Analytics(Project).group_by(bucket("name", "day"))


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, float("nan"), "0.9", True])
def test_a_bad_percentile_is_refused(fraction: object) -> None:
    with pytest.raises(InvalidQueryError, match="between 0 and 1"):
        percentile("token_count", fraction)  # type: ignore[arg-type]


def test_bad_json_paths_relationships_orders_and_limits_are_refused() -> None:
    with pytest.raises(InvalidQueryError, match="JSON keys"):
        Analytics(Project).group_by(json("architecture", "a'b"))
    with pytest.raises(InvalidQueryError, match="not a JSON field"):
        Analytics(Project).group_by(json("name", "a"))
    with pytest.raises(InvalidQueryError, match=r"no relationship 'builds_x'.*Valid"):
        Analytics(Project).join("builds_x")
    with pytest.raises(InvalidQueryError, match="not an output"):
        Analytics(Project).group_by("status").aggregate(count()).order_by("-total").sql()
    with pytest.raises(InvalidQueryError, match="limit"):
        Analytics(Project).limit(-1)
    with pytest.raises(InvalidQueryError, match="not an aggregate"):
        Analytics(Project).group_by("status").aggregate(count()).having(status="x").sql()
    with pytest.raises(InvalidQueryError, match="not a joined relationship"):
        Analytics(Project).where(Eq("status", "x"), on="builds")
