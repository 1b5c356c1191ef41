"""Records -> Arrow columns, and the ids' ``UUID`` objects, for the bulk-write path."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from project_architect_db.models import Project
from project_architect_db.repositories._arrow import (
    _attribute_columns,
    build_table,
    ids_of,
    new_id_array,
    to_arrow_value_column,
)
from project_architect_db.schemas import DocumentCreate, ProjectCreate


class _Slots:
    __slots__ = ("name", "slug")

    def __init__(self, name: str, slug: str) -> None:
        self.name = name
        self.slug = slug


def _projects(count: int) -> list[ProjectCreate]:
    return [
        ProjectCreate(name=f"P {i}", slug=f"p-{i}", tags=["a", str(i)], status="active")
        for i in range(count)
    ]


def test_columns_are_each_records_values_in_record_order() -> None:
    records = _projects(50)
    keys = ["name", "slug", "tags", "status", "metadata_"]
    columns = _attribute_columns(records, keys)
    assert columns == {key: [getattr(r, key) for r in records] for key in keys}
    assert _attribute_columns(records, ["slug"]) == {"slug": [r.slug for r in records]}


def test_computed_fields_are_read_beside_the_stored_ones() -> None:
    records = [
        DocumentCreate(project_id=uuid.uuid4(), path=f"d{i}.md", title="t", content=f"c{i}")
        for i in range(3)
    ]
    columns = _attribute_columns(records, ["path", "content_hash", "content"])
    assert columns["content_hash"] == [r.content_hash for r in records]
    assert columns["path"] == ["d0.md", "d1.md", "d2.md"]


def test_rows_without_an_instance_dict_are_read_with_getattr() -> None:
    rows = [_Slots("a", "x"), _Slots("b", "y")]
    assert _attribute_columns(rows, ["name", "slug"]) == {"name": ["a", "b"], "slug": ["x", "y"]}


def test_a_row_unlike_the_first_falls_back_to_attribute_reads() -> None:
    first = _projects(1)[0]
    rows = [first, _Slots("b", "y")]  # the second has no __dict__
    assert _attribute_columns(rows, ["name", "slug"]) == {
        "name": ["P 0", "b"],
        "slug": ["p-0", "y"],
    }


def test_a_row_missing_an_attribute_raises_attribute_error() -> None:
    rows = [*_projects(1), _Slots("b", "y")]
    with pytest.raises(AttributeError):
        _attribute_columns(rows, ["name", "status"])


def test_no_rows_give_empty_columns() -> None:
    assert _attribute_columns([], ["name", "slug"]) == {"name": [], "slug": []}


def test_the_built_table_holds_the_records_values() -> None:
    records = _projects(3)
    columns = [
        (prop.key, prop.columns[0])
        for prop in Project.__mapper__.column_attrs
        if prop.key in ("name", "slug", "tags", "status")
    ]
    table = build_table(columns, records, defaults={})
    assert table.column("slug").to_pylist() == ["p-0", "p-1", "p-2"]
    assert table.column("tags").to_pylist() == [["a", "0"], ["a", "1"], ["a", "2"]]
    assert table.column("status").to_pylist() == ["active"] * 3


def test_ids_are_the_uuids_of_the_column_in_order() -> None:
    column, halves = new_id_array(2_000)
    ids = ids_of(halves)
    assert ids == [uuid.UUID(bytes=raw) for raw in column.storage.to_pylist()]
    assert all(value.version == 7 and value.variant == uuid.RFC_4122 for value in ids)
    assert ids == sorted(ids)
    assert ids[0].is_safe == uuid.SafeUUID.unknown
    stamp = datetime.fromtimestamp((ids[0].int >> 80) / 1000, UTC)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 3600


def test_ids_of_the_highest_bits_are_exact() -> None:
    halves = np.array([[2**64 - 1, 2**64 - 1], [0, 1]], dtype=">u8")
    assert [value.int for value in ids_of(halves)] == [2**128 - 1, 1]
    assert ids_of(np.empty((0, 2), dtype=">u8")) == []


def _tech_stack() -> Any:
    return Project.__table__.c.tech_stack


def test_a_list_column_of_only_empty_lists_equals_the_converted_one() -> None:
    column = _tech_stack()
    built = to_arrow_value_column(column, [[], [], []])
    assert built.equals(pa.array([[], [], []], pa.list_(pa.string())))
    assert built.to_pylist() == [[], [], []]


def test_a_list_column_with_a_null_or_a_value_keeps_them() -> None:
    column = _tech_stack()
    assert to_arrow_value_column(column, [[], None, []]).to_pylist() == [[], None, []]
    assert to_arrow_value_column(column, [[], ["x"]]).to_pylist() == [[], ["x"]]
    assert to_arrow_value_column(column, ([], [])).to_pylist() == [[], []]  # not a list
    assert len(to_arrow_value_column(column, [])) == 0
