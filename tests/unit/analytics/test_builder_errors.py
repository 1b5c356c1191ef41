"""The builder's refusals of bad input, and its smaller accessors, without a database.

Every refusal is an ``InvalidQueryError`` whose message says what to write instead; the SQL and
parameters of the accepted variants are checked against what each builder method documents.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Select, func, select

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.models import Build, Message, Project
from project_architect_db.queries.analytics import (
    Analytics,
    count,
    rank,
    running_total,
    sum_,
)
from project_architect_db.queries.analytics._compile import DIALECT
from project_architect_db.queries.filters import (
    Contains,
    Eq,
    Filter,
    In,
    IsNull,
    JsonPathEq,
    NotEq,
    Range,
)
from tests._custom_filters import TokensAbove


def inline(sql: str, parameters: list[Any]) -> str:
    """``sql`` with each ``$n`` replaced by the repr of the n-th parameter (highest n first)."""
    for position in range(len(parameters), 0, -1):
        sql = sql.replace(f"${position}", repr(parameters[position - 1]))
    assert "$" not in sql, sql
    return sql


def per_conversation() -> Analytics:
    return Analytics(Message).group_by("conversation_id").aggregate(count())


# -- constructing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [object, Eq, "messages", None, 42])
def test_the_builder_needs_a_mapped_model_class(model: Any) -> None:
    with pytest.raises(InvalidQueryError, match="Analytics needs a mapped model class"):
        Analytics(model)


def test_model_is_the_base_model_even_after_joins() -> None:
    query = Analytics(Project).join("repositories", "builds").group_by("builds.status")
    assert query.model is Project
    assert Analytics(Build).model is Build


# -- join / where ----------------------------------------------------------------------------------


def test_join_without_a_relationship_name_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match=r"join\(\) needs at least one relationship name"):
        Analytics(Project).join()


@pytest.mark.parametrize("item", ["status", ("status", "active"), {"status": "active"}, None])
def test_where_refuses_positional_arguments_that_are_not_filters(item: Any) -> None:
    with pytest.raises(
        InvalidQueryError,
        match=rf"where\(\) takes Filter objects \(Eq, In, Range, \.\.\.\), "
        rf"not {type(item).__name__}\.",
    ):
        Analytics(Project).where(item)


def test_where_refuses_a_bad_filter_even_after_good_ones() -> None:
    # the check runs over every positional item, not only the first
    with pytest.raises(InvalidQueryError, match="not str"):
        Analytics(Project).where(Eq("status", "active"), "phase")


# -- aggregate -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [("count", "str"), (count, "function"), (Eq("status", "x"), "Eq"), (None, "NoneType")],
)
def test_aggregate_refuses_what_is_not_an_aggregate(value: Any, kind: str) -> None:
    expected = (
        rf"aggregate\(\) takes count\(\), sum_\(\.\.\.\), rate\(\.\.\.\), \.\.\., not {kind}\."
    )
    with pytest.raises(InvalidQueryError, match=expected):
        Analytics(Message).aggregate(value)
    with pytest.raises(InvalidQueryError, match=expected):
        Analytics(Message).aggregate(renamed=value)


@pytest.mark.parametrize(
    "name",
    ["", "   ", "\t\n", "a\x00b", "x" * 256],
    ids=["empty", "spaces", "whitespace", "nul", "too-long"],
)
def test_a_named_output_must_be_1_to_255_characters_without_nul(name: str) -> None:
    message = "Output names are 1-255 characters without NUL"
    with pytest.raises(InvalidQueryError, match=message):
        Analytics(Message).aggregate(**{name: count()})
    with pytest.raises(InvalidQueryError, match=message):
        Analytics(Message).group_by(**{name: "role"})
    with pytest.raises(InvalidQueryError, match=message):
        Analytics(Message).select(**{name: "role"})
    with pytest.raises(InvalidQueryError, match=message):
        Analytics(Message).group_by("role").aggregate(count()).window(**{name: rank("count")})


def test_a_255_character_output_name_is_accepted_as_given() -> None:
    name = "x" * 255
    sql = Analytics(Message).aggregate(**{name: count()}).sql()
    assert f"count(*) AS {name}" in sql


def test_an_output_name_with_a_lone_surrogate_is_refused() -> None:
    message = r"Output name '\\ud800' is not valid Unicode \(a lone surrogate\?\)"
    with pytest.raises(InvalidQueryError, match=message):
        Analytics(Message).aggregate(**{"\ud800": count()})
    with pytest.raises(InvalidQueryError, match=message):
        Analytics(Message).group_by(**{"\ud800": "role"})


# -- having ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("operator", ["contains", "has", "between", "like", "in_"])
def test_having_refuses_unknown_and_text_only_operators(operator: str) -> None:
    with pytest.raises(
        InvalidQueryError, match=f"Unknown having operator '{operator}' in 'count__{operator}'"
    ):
        per_conversation().having(**{f"count__{operator}": 1})


@pytest.mark.parametrize(
    ("item", "kind"),
    [
        (Contains("count", "1"), "Contains"),
        (JsonPathEq("count", ("a",), 1), "JsonPathEq"),
        (TokensAbove(1), "TokensAbove"),
        ("count", "str"),
        (None, "NoneType"),
    ],
)
def test_having_takes_only_comparisons_on_aggregates(item: Any, kind: str) -> None:
    with pytest.raises(
        InvalidQueryError,
        match=rf"having\(\) takes Eq, NotEq, In, Range or IsNull, not {kind}\.",
    ):
        per_conversation().having(item)


@pytest.mark.parametrize(
    ("having", "condition", "parameters"),
    [
        ({"count": None}, "HAVING count(*) IS NULL", []),
        ({"count": 3}, "HAVING count(*) = $1", [3]),
        ({"count__ne": None}, "HAVING count(*) IS NOT NULL", []),
        ({"count__ne": 3}, "HAVING count(*) != $1", [3]),
        ({"count__in": [2, 5]}, "HAVING count(*) IN ($1, $2)", [2, 5]),
        ({"count__isnull": True}, "HAVING count(*) IS NULL", []),
        ({"count__isnull": False}, "HAVING count(*) IS NOT NULL", []),
        ({"count__gt": 4}, "HAVING count(*) > $1", [4]),
        ({"count__gte": 4}, "HAVING count(*) >= $1", [4]),
        ({"count__lt": 9}, "HAVING count(*) < $1", [9]),
        ({"count__lte": 9}, "HAVING count(*) <= $1", [9]),
    ],
)
def test_having_keywords_compare_the_aggregate_itself(
    having: dict[str, Any], condition: str, parameters: list[Any]
) -> None:
    sql, bound = per_conversation().having(**having).compiled()
    assert sql.endswith(condition)
    assert bound == parameters


@pytest.mark.parametrize(
    ("item", "condition", "parameters"),
    [
        (Eq("count", None), "HAVING count(*) IS NULL", []),
        (NotEq("count", 7), "HAVING count(*) != $1", [7]),
        (In("count", (1, 2, 3)), "HAVING count(*) IN ($1, $2, $3)", [1, 2, 3]),
        (IsNull("count", is_null=False), "HAVING count(*) IS NOT NULL", []),
        (Range("count", gt=1, lte=9), "HAVING count(*) > $1 AND count(*) <= $2", [1, 9]),
        (
            Range("count", gt=1, gte=2, lt=8, lte=9),
            "HAVING count(*) > $1 AND count(*) >= $2 AND count(*) < $3 AND count(*) <= $4",
            [1, 2, 8, 9],
        ),
    ],
)
def test_having_filter_objects_compare_the_aggregate_itself(
    item: Filter, condition: str, parameters: list[Any]
) -> None:
    sql, bound = per_conversation().having(item).compiled()
    assert sql.endswith(condition)
    assert bound == parameters


def test_having_a_range_without_bounds_is_refused() -> None:
    query = per_conversation().having(Range("count"))
    with pytest.raises(InvalidQueryError, match="A range on count needs at least one bound"):
        query.sql()


def test_having_on_a_renamed_aggregate_uses_its_output_name() -> None:
    query = (
        Analytics(Message)
        .group_by("role")
        .aggregate(tokens=sum_("token_count"))
        .having(tokens__gte=100)
    )
    sql, bound = query.compiled()
    assert sql.endswith("HAVING sum(messages.token_count) >= $1")
    assert bound == [100]


# -- window / order_by -----------------------------------------------------------------------------


def test_window_refuses_what_is_not_a_window() -> None:
    grouped = Analytics(Message).group_by("role").aggregate(count())
    with pytest.raises(InvalidQueryError, match=r"window\(\) takes Window objects .*not Aggregate"):
        grouped.window(count())
    with pytest.raises(InvalidQueryError, match=r"window\(\) takes Window objects .*not str"):
        grouped.window(place="count")
    # positional, too: it used to call .name() on the string first (AttributeError)
    with pytest.raises(InvalidQueryError, match=r"window\(\) takes Window objects .*not str"):
        grouped.window("count")  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["", "-", "--", None, 1, ("count",)])
def test_order_by_needs_output_names(key: Any) -> None:
    grouped = Analytics(Message).group_by("role").aggregate(count())
    with pytest.raises(
        InvalidQueryError, match=r"order_by takes output names such as '-count', not "
    ):
        grouped.order_by("role", key)


# -- compiling: errors found when the statement is assembled ---------------------------------------


def test_output_names_must_be_unique() -> None:
    clash = Analytics(Message).group_by("role").aggregate(role=count())
    with pytest.raises(InvalidQueryError, match="Output names must be unique: role, role"):
        clash.sql()
    twice = Analytics(Message).group_by("role").select("role")
    with pytest.raises(InvalidQueryError, match="Output names must be unique: role, role"):
        twice.sql()
    # renaming one of them resolves it
    assert "count(*) AS n" in Analytics(Message).group_by("role").aggregate(n=count()).sql()


@pytest.mark.parametrize(
    "query",
    [
        lambda: Analytics(Message),
        lambda: Analytics(Message).where(role="user"),
        lambda: Analytics(Message).order_by("count").limit(3),
        lambda: Analytics(Project).join("repositories"),
    ],
    ids=["bare", "where-only", "order-and-limit-only", "join-only"],
)
def test_a_query_without_outputs_says_what_to_add(query: Any) -> None:
    with pytest.raises(
        InvalidQueryError, match="Nothing to select: add group_by, select or aggregate"
    ):
        query().sql()


def test_plain_columns_next_to_aggregates_need_group_by() -> None:
    query = Analytics(Message).select("role").aggregate(count())
    with pytest.raises(
        InvalidQueryError, match=r"Plain select\(\) columns next to aggregates need group_by\(\)"
    ):
        query.sql()


def test_plain_columns_next_to_groups_and_aggregates_join_the_grouping() -> None:
    sql = Analytics(Message).group_by("role").select("conversation_id").aggregate(count()).sql()
    first_line = sql.splitlines()[0]
    assert first_line.startswith(
        "SELECT messages.role AS role, messages.conversation_id AS conversation_id, "
        "count(*) AS count"
    )
    assert sql.endswith("GROUP BY messages.role, messages.conversation_id")


def test_plain_columns_without_aggregates_are_not_grouped() -> None:
    sql = Analytics(Message).select("role", "token_count").order_by("-token_count").limit(5).sql()
    assert "GROUP BY" not in sql
    assert "ORDER BY token_count DESC" in sql
    assert sql.endswith("LIMIT 5")


def test_ordering_by_an_unknown_output_lists_the_outputs() -> None:
    query = (
        Analytics(Message)
        .group_by("role")
        .aggregate(count())
        .window(running_total("count", order_by="role"))
        .order_by("-tokens")
    )
    with pytest.raises(
        InvalidQueryError,
        match=r"Cannot order by 'tokens': not an output\. "
        r"Outputs: role, count, running_total_count\.",
    ):
        query.sql()


# -- values / statement / repr ---------------------------------------------------------------------


def test_values_are_unknown_for_a_user_defined_where_filter() -> None:
    query = Analytics(Message).where(TokensAbove(100)).group_by("role").aggregate(count())
    assert query.values() is None
    # the values are then traced from the built statement instead
    assert "WHERE messages.token_count > 100" in inline(*query.compiled())


def test_values_are_unknown_for_a_user_defined_aggregate_filter() -> None:
    query = (
        Analytics(Message)
        .where(role="user")
        .group_by("conversation_id")
        .aggregate(long=count().where(TokensAbove(250)))
    )
    assert query.values() is None
    text = inline(*query.compiled())
    assert "count(*) FILTER (WHERE messages.token_count > 250) AS long" in text
    assert "WHERE messages.role = 'user'" in text


def test_values_of_known_filters_follow_the_parameters() -> None:
    query = (
        Analytics(Message)
        .where(role__in=["user", "assistant"])
        .group_by("conversation_id")
        .aggregate(long=count().where(Range("token_count", gte=250)))
        .having(long__gt=2)
    )
    # one list per value-bearing root: the where filter, the aggregate's filter, the having
    assert query.values() == [[["user", "assistant"]], [250], [2]]
    text = inline(*query.compiled())
    assert "count(*) FILTER (WHERE messages.token_count >= 250) AS long" in text
    assert "WHERE messages.role IN ('user', 'assistant')" in text
    assert text.endswith("HAVING count(*) FILTER (WHERE messages.token_count >= 250) > 2")


def test_statement_is_the_select_the_sql_is_compiled_from() -> None:
    query = (
        Analytics(Message)
        .where(role="user")
        .group_by("conversation_id")
        .aggregate(tokens=sum_("token_count"))
        .order_by("-tokens")
        .limit(3)
    )
    statement = query.statement()
    assert isinstance(statement, Select)
    assert list(statement.selected_columns.keys()) == ["conversation_id", "tokens"]
    compiled = statement.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True})
    assert str(compiled) == query.sql()


def test_statement_composes_with_core() -> None:
    inner = Analytics(Message).group_by("role").aggregate(count()).statement().subquery()
    outer = select(func.max(inner.c["count"]))
    sql = str(outer.compile(dialect=DIALECT))
    assert sql.startswith("SELECT max(anon_1.count) AS max_1")
    assert "GROUP BY messages.role) AS anon_1" in sql


def test_statement_raises_the_same_errors_as_sql() -> None:
    with pytest.raises(InvalidQueryError, match="Nothing to select"):
        Analytics(Message).statement()


def test_repr_shows_the_model_and_the_sql() -> None:
    query = Analytics(Message).group_by("role").aggregate(count())
    text = repr(query)
    assert text.startswith("<Analytics Message: 'SELECT messages.role AS role, count(*) AS count")
    assert "GROUP BY messages.role" in text


# -- refusals added after this file found them missing ----------------------------------------
def test_a_window_named_like_another_output_is_refused_not_silently_replacing_it() -> None:
    grouped = Analytics(Message).group_by("role").aggregate(count())
    with pytest.raises(InvalidQueryError, match="Output names must be unique"):
        grouped.window(count=rank("count")).sql()
    with pytest.raises(InvalidQueryError, match="Output names must be unique"):
        grouped.window(rank("count"), rank("count")).sql()
    assert "rank_count" in grouped.window(rank("count")).sql()


@pytest.mark.parametrize("flag", ["no", 0, 1, None])
def test_having_isnull_takes_true_or_false_as_where_does(flag: Any) -> None:
    grouped = Analytics(Message).group_by("role").aggregate(count())
    with pytest.raises(InvalidQueryError, match=r"count__isnull takes True or False"):
        grouped.having(count__isnull=flag)
    assert "IS NOT NULL" in grouped.having(count__isnull=False).sql()


def test_having_in_keeps_where_s_limit_and_reads_its_values_once() -> None:
    grouped = Analytics(Message).group_by("role").aggregate(count())
    with pytest.raises(InvalidQueryError, match=r"count__in got 20000 values; at most 10000"):
        grouped.having(In("count", range(20_000)))
    with pytest.raises(InvalidQueryError, match=r"count__in needs a list of values"):
        grouped.having(In("count", "12"))  # type: ignore[arg-type]
    once = grouped.having(In("count", (n for n in (3, 4))))
    assert once.compiled()[1] == once.compiled()[1]  # a generator is not empty the second time
    assert {3, 4} <= set(once.compiled()[1])


@pytest.mark.parametrize("alias", ["", " ", "a\x00b", "\ud800", 123, "x" * 256])
def test_aliases_given_with_as_are_checked_like_keyword_names(alias: Any) -> None:
    grouped = Analytics(Message).group_by("role")
    with pytest.raises(InvalidQueryError, match=r"Output name"):
        grouped.aggregate(count().as_(alias))
    counted = grouped.aggregate(count())
    with pytest.raises(InvalidQueryError, match=r"Output name"):
        counted.window(rank("count").as_(alias))


def test_a_model_instance_is_not_a_model() -> None:
    with pytest.raises(InvalidQueryError, match=r"mapped model class such as Project"):
        Analytics(Project())  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match=r"mapped model class"):
        Analytics(int)
