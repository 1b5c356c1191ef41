"""A query part whose shape decides its validity is checked once; value checks always run."""

from __future__ import annotations

from typing import Any

import pytest

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.models import Build, Conversation, Project
from project_architect_db.queries.analytics import (
    Analytics,
    _validate,
    bucket,
    count,
    duration,
    json,
    median,
    rate,
    ratio,
)
from project_architect_db.queries.analytics.expressions import Aggregate, Bucket
from project_architect_db.queries.filters import Contains, Eq, Filter


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_validate, "_VALID", set())


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``Aggregate.check`` / ``Bucket.check`` call, by class name."""
    seen: list[str] = []
    for cls in (Aggregate, Bucket):
        original = cls.check

        def spy(self: Any, ctx: Any, _original: Any = original) -> None:
            seen.append(type(self).__name__)
            _original(self, ctx)

        monkeypatch.setattr(cls, "check", spy)
    return seen


def _dora_like(days: float) -> Analytics:
    return (
        Analytics(Build)
        .group_by("repository_id", bucket("created_at", "week"))
        .aggregate(
            builds=count(),
            per_day=ratio(count(), days),
            ok=rate(Eq("status", "success")),
            p50=median(duration("started_at", "finished_at")).where(Eq("status", "success")),
        )
    )


def test_the_same_shape_is_checked_once_and_gives_the_same_sql(checks: list[str]) -> None:
    first = _dora_like(30).sql()
    counted = len(checks)
    assert counted > 0
    assert _dora_like(7).sql() == first  # other values, same shape: no new check
    assert len(checks) == counted


def test_an_invalid_part_is_never_remembered() -> None:
    for _ in range(2):
        with pytest.raises(InvalidQueryError, match="no_such_field"):
            Analytics(Build).group_by("status").aggregate(median("no_such_field"))
        with pytest.raises(InvalidQueryError, match="not a timestamp"):
            Analytics(Build).group_by(bucket("status", "week"))


def test_a_constant_denominator_is_checked_every_time() -> None:
    _dora_like(30)
    for bad in (0, float("nan"), True):
        with pytest.raises(InvalidQueryError, match="non-zero number"):
            _dora_like(bad)


def test_value_dependent_filters_are_checked_every_time(checks: list[str]) -> None:
    query = Analytics(Conversation).group_by("phase")
    query.aggregate(count().where(Contains("title", "design")))
    with pytest.raises(InvalidQueryError, match="takes a string"):
        query.aggregate(count().where(Contains("title", 5)))  # type: ignore[arg-type]

    class Custom(Filter):
        def clause(self, model: type[Any]) -> Any:
            raise InvalidQueryError("custom filters decide for themselves")

    for _ in range(2):
        with pytest.raises(InvalidQueryError, match="decide for themselves"):
            query.aggregate(count().where(Custom()))


def test_joins_and_models_are_part_of_what_is_remembered() -> None:
    Analytics(Project).group_by("status").aggregate(count())
    with pytest.raises(InvalidQueryError):
        Analytics(Build).group_by("phase")  # a Project field, not a Build one
    joined = Analytics(Project).join("conversations").group_by("conversations.phase")
    assert "conversations" in joined.aggregate(count()).sql()
    with pytest.raises(InvalidQueryError):
        Analytics(Project).group_by("conversations.phase")  # not joined here


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_validate, "_VALID_MAX", 2)
    for field in ("status", "phase", "name", "slug"):
        Analytics(Project).group_by(field)
    assert len(_validate._VALID) <= 2


def test_an_unhashable_part_is_checked_without_memory() -> None:
    listed = json("architecture", "database")
    object.__setattr__(listed, "path", ["database"])  # a list where the API builds a tuple
    Analytics(Project).group_by(db=listed)
    assert set() == _validate._VALID
    broken = json("metadata", "x")
    object.__setattr__(broken, "field", "name")
    object.__setattr__(broken, "path", ["x"])
    for _ in range(2):
        with pytest.raises(InvalidQueryError, match="not a JSON field"):
            Analytics(Project).group_by(db=broken)
