"""Builder paths that only a real database proves: bind, statement(), having, custom filters."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from project_architect_db import Database
from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.models import Message, Project
from project_architect_db.queries.analytics import Analytics, count, sum_
from project_architect_db.queries.filters import Eq, Filter, In, IsNull, NotEq, Range
from tests._custom_filters import TokensAbove

from ._expected import counter, group
from .conftest import Dataset

Loaded = tuple[Database, Dataset]


async def test_bind_runs_the_query_in_the_given_units_of_work(loaded: Loaded) -> None:
    db, data = loaded
    query = Analytics(Project).group_by("status").aggregate(count())
    bound = query.bind(db.transaction)
    rows = await bound.rows()
    assert {r["status"]: r["count"] for r in rows} == {
        k[0]: v for k, v in counter(data.projects, "status").items()
    }
    with pytest.raises(InvalidQueryError, match=r"not bound to a database"):
        await query.rows()  # binding made a new builder; this one is still unbound


async def test_statement_runs_composed_with_core_and_keeps_its_values(loaded: Loaded) -> None:
    db, data = loaded
    grouped = (
        Analytics(Message)
        .where(role__in=["user", "assistant"])
        .group_by("conversation_id")
        .aggregate(tokens=sum_("token_count"))
        .statement()
        .subquery()
    )
    outer = select(func.count(), func.max(grouped.c["tokens"]))
    async with db.transaction() as tx:
        groups, most = (await tx.execute(outer)).one()
    chosen = [m for m in data.messages if m["role"] in ("user", "assistant")]
    per_conversation = {
        k: sum(m["token_count"] for m in v) for k, v in group(chosen, "conversation_id").items()
    }
    assert (groups, most) == (len(per_conversation), max(per_conversation.values()))


async def test_plain_columns_next_to_groups_are_grouped_too(loaded: Loaded) -> None:
    db, data = loaded
    rows = await (
        db.analytics.query(Message)
        .group_by("role")
        .select("conversation_id")
        .aggregate(count())
        .rows()
    )
    got = {(r["role"], r["conversation_id"]): r["count"] for r in rows}
    assert got == dict(counter(data.messages, "role", "conversation_id"))


@pytest.mark.parametrize(
    ("having", "keep"),
    [
        (Eq("count", None), lambda n: False),
        (Eq("count", 4), lambda n: n == 4),
        (NotEq("count", None), lambda n: True),
        (NotEq("count", 5), lambda n: n != 5),
        (In("count", [3, 7, 11]), lambda n: n in (3, 7, 11)),
        (In("count", []), lambda n: False),
        (IsNull("count"), lambda n: False),
        (IsNull("count", is_null=False), lambda n: True),
        (Range("count", gt=3, lte=8), lambda n: 3 < n <= 8),
        (Range("count", lt=4), lambda n: n < 4),
    ],
    ids=[
        "eq-none",
        "eq",
        "ne-none",
        "ne",
        "in",
        "in-empty",
        "isnull",
        "not-isnull",
        "range-gt-lte",
        "range-lt",
    ],
)
async def test_having_comparisons_keep_the_matching_groups(
    loaded: Loaded, having: Filter, keep: Callable[[int], bool]
) -> None:
    db, data = loaded
    rows = await (
        db.analytics.query(Message)
        .group_by("conversation_id")
        .aggregate(count())
        .having(having)
        .rows()
    )
    sizes = {k: len(v) for k, v in group(data.messages, "conversation_id").items()}
    assert {r["conversation_id"]: r["count"] for r in rows} == {
        k: n for k, n in sizes.items() if keep(n)
    }


async def test_user_defined_filters_run_with_their_own_values(loaded: Loaded) -> None:
    db, data = loaded
    base = db.analytics.query(Message).group_by("role")
    where = base.where(TokensAbove(250)).aggregate(count())
    inside = base.aggregate(count(), long=count().where(TokensAbove(400)))
    assert where.values() is None
    assert inside.values() is None
    above = [m for m in data.messages if m["token_count"] > 250]
    assert {r["role"]: r["count"] for r in await where.rows()} == {
        k[0]: v for k, v in counter(above, "role").items()
    }
    got = {r["role"]: (r["count"], r["long"]) for r in await inside.rows()}
    assert got == {
        role: (len(items), sum(m["token_count"] > 400 for m in items))
        for role, items in group(data.messages, "role").items()
    }
