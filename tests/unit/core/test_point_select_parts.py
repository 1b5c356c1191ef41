"""Which statements are point selects by primary key (``_sqlalchemy.point_select_parts``)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, literal, select, true

from project_architect_db.core._sqlalchemy import point_select_parts

metadata = MetaData()
KEYED = Table("keyed", metadata, Column("id", Uuid, primary_key=True), Column("name", String))
PAIRED = Table(
    "paired",
    metadata,
    Column("a", Integer, primary_key=True),
    Column("b", Integer, primary_key=True),
)
UNKEYED = Table("unkeyed", metadata, Column("id", Integer), Column("name", String))
OTHER = Table("other", metadata, Column("id", Integer, primary_key=True))
VALUE = uuid.uuid4()


def test_a_table_or_its_columns_by_key_are_point_selects() -> None:
    whole = point_select_parts(select(KEYED).where(KEYED.c.id == VALUE))
    assert whole is not None
    shape, bind = whole
    assert shape == (KEYED, KEYED.c.id)
    assert bind.value == VALUE
    columns = point_select_parts(select(KEYED.c.name, KEYED.c.id).where(KEYED.c.id == VALUE))
    assert columns is not None
    assert columns[0] == (KEYED.c.name, KEYED.c.id, KEYED.c.id)


def test_the_same_shape_with_another_value_has_the_same_key() -> None:
    first = point_select_parts(select(KEYED).where(KEYED.c.id == VALUE))
    second = point_select_parts(select(KEYED).where(KEYED.c.id == uuid.uuid4()))
    assert first is not None and second is not None
    assert first[0] == second[0]
    assert first[1].value != second[1].value


@pytest.mark.parametrize(
    "statement",
    [
        select(PAIRED).where(PAIRED.c.a == 1),  # a two-column key
        select(UNKEYED).where(UNKEYED.c.id == 1),  # no key at all
        select(KEYED).where(KEYED.c.name == "x"),  # not the key
        select(KEYED, OTHER.c.id).where(KEYED.c.id == VALUE),  # another table's column
        select(KEYED).where(KEYED.c.id == literal(VALUE, Uuid)),  # a literal, not a bind
        select(KEYED).where(KEYED.c.id == VALUE).where(true()),  # a second condition
        select(KEYED).where(KEYED.c.id == VALUE).offset(1),
        select(KEYED).where(KEYED.c.id == VALUE).group_by(KEYED.c.id),
        select(KEYED).where(KEYED.c.id == VALUE).with_for_update(),
        select(KEYED).where(KEYED.c.id == VALUE).prefix_with("/* hint */"),
        select(KEYED).where(KEYED.c.id == VALUE).cte().select(),
        select(KEYED),  # no condition
        select(KEYED.c.name + "!").where(KEYED.c.id == VALUE),  # an expression, not a column
        KEYED.update().where(KEYED.c.id == VALUE),  # not a SELECT
    ],
    ids=lambda statement: str(statement).replace("\n", " ")[:60],
)
def test_anything_else_is_not(statement: Any) -> None:
    assert point_select_parts(statement) is None


def test_a_value_of_another_type_is_not() -> None:
    statement = select(KEYED).where(KEYED.c.id == VALUE)
    statement.whereclause.right.type = String()  # type: ignore[union-attr]
    assert point_select_parts(statement) is None
