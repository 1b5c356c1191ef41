"""Which page statements ``page_statement`` rewrites, read from the SQL it builds."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, MetaData, String, Table, Uuid

from project_architect_db.core.driver import AsyncDuckDBDialect
from project_architect_db.models import Conversation, Message, Project
from project_architect_db.queries.filters import parse_filters
from project_architect_db.queries.sorting import parse_order
from project_architect_db.repositories._pages import page_statement, page_window

_DIALECT = AsyncDuckDBDialect()


def _sql(model: type, conditions: dict[str, object], **kwargs: object) -> str:
    statement = page_statement(
        model.__table__,  # type: ignore[attr-defined]
        parse_filters(model, conditions),
        parse_order(model, kwargs.pop("order_by", None)),  # type: ignore[arg-type]
        limit=11,
        **kwargs,  # type: ignore[arg-type]
    )
    return " ".join(str(statement.compile(dialect=_DIALECT)).split())


def test_an_equality_on_a_column_indexed_alone_is_read_by_a_materialized_cte() -> None:
    sql = _sql(Message, {"conversation_id": uuid.uuid4(), "role": "user"}, order_by="sequence")
    assert sql.startswith("WITH messages_of_owner AS MATERIALIZED (SELECT messages.id AS id")
    assert "FROM messages WHERE messages.conversation_id = %(conversation_id_1)s::UUID) " in sql
    assert "FROM messages_of_owner WHERE messages_of_owner.role = %(role_1)s ORDER BY " in sql
    assert sql.endswith(
        "ORDER BY messages_of_owner.sequence ASC, messages_of_owner.id ASC LIMIT %(param_1)s"
    )
    by_id = _sql(Project, {"id": uuid.uuid4()}, offset=2)
    assert "FROM projects WHERE projects.id = " in by_id
    assert by_id.endswith("LIMIT %(param_1)s OFFSET %(param_2)s")


def test_other_filters_page_rowids_first() -> None:
    sql = _sql(Project, {"status": "active"}, order_by="-created_at", offset=20)
    assert sql.startswith(
        "WITH projects_page AS MATERIALIZED (SELECT rowid AS r, projects.created_at AS k "
        "FROM projects WHERE projects.status = "
    )
    assert "LIMIT %(param_1)s OFFSET %(param_2)s) SELECT projects.id" in sql
    # the rows are fetched from the page's own range of the first key (a dynamic filter)
    assert (
        "WHERE projects.created_at >= (SELECT min(k) AS min_1 FROM projects_page) "
        "AND projects.created_at <= (SELECT max(k) AS max_1 FROM projects_page) "
        "AND rowid IN (SELECT r FROM projects_page) "
        "ORDER BY projects.created_at DESC"
    ) in sql


def test_a_nullable_first_key_pages_rowids_first_without_a_range() -> None:
    sql = _sql(Project, {"status": "active"}, order_by="-description")
    assert "projects_page" not in sql  # min()/max() would skip the NULL rows
    assert "WHERE rowid IN (SELECT rowid FROM projects WHERE projects.status = " in sql


def test_no_owner_rewrite_for_null_tests_column_comparisons_or_unindexed_columns() -> None:
    null_test = _sql(Message, {"conversation_id": None})
    assert "_of_owner" not in null_test
    assert "messages.conversation_id IS NULL" in null_test
    compared = page_statement(
        Message.__table__,  # type: ignore[arg-type]
        [Message.conversation_id == Message.project_id],
        parse_order(Message, None),
        limit=3,
    )
    text = " ".join(str(compared.compile(dialect=_DIALECT)).split())
    assert "LIMIT %(param_1)s) SELECT" in text  # the rowid-first page, not the owner's
    other_table = page_statement(
        Message.__table__,  # type: ignore[arg-type]
        [Conversation.project_id == uuid.uuid4()],
        parse_order(Message, None),
        limit=3,
    )
    other_sql = " ".join(str(other_table.compile(dialect=_DIALECT)).split())
    assert "LIMIT %(param_1)s) SELECT" in other_sql
    assert "LIMIT %(param_1)s) SELECT" in _sql(Project, {"name": "Atlas"})


def test_a_cursor_adds_a_plain_bound_on_the_first_key() -> None:
    sql = _sql(
        Project,
        {"status": "active"},
        order_by="-created_at",
        after=["2026-01-01T00:00:00", uuid.uuid4()],
    )
    assert "projects.created_at <= %(created_at_1)s AND (projects.created_at <" in sql
    ascending = _sql(Project, {}, order_by="slug", after=["a", uuid.uuid4()])
    assert "projects.slug >= %(slug_1)s AND (projects.slug > " in ascending


def test_a_column_of_a_composite_primary_key_is_no_owner() -> None:
    metadata = MetaData()
    pairs = Table(
        "pairs",
        metadata,
        Column("left_id", Uuid, primary_key=True),
        Column("right_id", Uuid, primary_key=True),
        Column("label", String, index=True),
    )
    by_left = page_statement(pairs, [pairs.c.left_id == uuid.uuid4()], [], limit=3)
    assert "MATERIALIZED" not in str(by_left.compile(dialect=_DIALECT))
    by_label = page_statement(pairs, [pairs.c.label == "x"], [], limit=3)
    assert "WITH pairs_of_owner AS MATERIALIZED" in str(by_label.compile(dialect=_DIALECT))


def test_an_owner_page_with_a_condition_on_another_table_keeps_the_table_shape() -> None:
    other = Table("audit", MetaData(), Column("role", String))
    statement = page_statement(
        Message.__table__,  # type: ignore[arg-type]
        [Message.conversation_id == uuid.uuid4(), other.c.role == "user"],
        parse_order(Message, None),
        limit=3,
    )
    sql = " ".join(str(statement.compile(dialect=_DIALECT)).split())
    assert "_of_owner" not in sql
    assert "FROM messages, audit WHERE" in sql


def _window(model: type, conditions: dict[str, object], **kwargs: object) -> str:
    statement = page_window(
        model.__table__,  # type: ignore[attr-defined]
        parse_filters(model, conditions),
        parse_order(model, kwargs.pop("order_by", None)),  # type: ignore[arg-type]
        limit=11,
        **kwargs,  # type: ignore[arg-type]
    )
    assert statement is not None
    return " ".join(str(statement.compile(dialect=_DIALECT)).split())


def test_a_window_bounds_the_first_key_from_the_whole_tables_statistics() -> None:
    newest = _window(Project, {"status": "active"}, order_by="-created_at")
    # a scalar subquery over the whole table (never correlated to the page's scan)
    assert (
        "projects.created_at >= (SELECT make_timestamp(greatest(epoch_us(min(projects.created_at))"
        ", epoch_us(max(projects.created_at)) - CAST(" in newest
    )
    assert "/ count(*)) AS BIGINT))) AS edge FROM projects) ORDER BY" in newest
    oldest = _window(Project, {}, order_by="updated_at")
    assert "projects.updated_at <= (SELECT make_timestamp(least(epoch_us(max(" in oldest
    anchored = _window(
        Project, {}, order_by="created_at", after=["2026-01-01T00:00:00", uuid.uuid4()]
    )
    # a cursor anchors it at its own value, clamped into the table's range
    assert "greatest(epoch_us(min(projects.created_at)), least(epoch_us(max(" in anchored
    assert "epoch_us(%(param_1)s)" in anchored
