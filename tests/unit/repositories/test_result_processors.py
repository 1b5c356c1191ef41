"""The native paths' result processors give SQLAlchemy's values, and SQLAlchemy's errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Enum, Integer, MetaData, String, Table
from sqlalchemy.sql.sqltypes import ARRAY
from sqlalchemy.types import TypeDecorator

from project_architect_db.core.driver import AsyncDuckDBDialect
from project_architect_db.models import Base
from project_architect_db.models.enums import ProjectStatus
from project_architect_db.models.types import UtcDateTime
from project_architect_db.repositories._processors import result_processor

DIALECT = AsyncDuckDBDialect()

JSON_TEXTS = [
    "{}",
    "[]",
    '{"database": "duckdb", "services": [1, 2.5, null, true], "n": {"deep": "é"}}',
    '  {"padded": 1}',  # leading blanks: not one scan from the first character
    '{"trailing": 1}  ',
    "[1, 2, 3]",
    '"text"',
    "12345678901234567890123456789",
    "1e400",
    "NaN",
    '{"dup": 1, "dup": 2}',
]


def _general(sql_type: Any) -> Any:
    return sql_type.dialect_impl(DIALECT).result_processor(DIALECT, None)


def _apply(processor: Any, value: Any) -> Any:
    return value if processor is None else processor(value)


def _every_model_column() -> list[Column[Any]]:
    return [column for table in Base.metadata.sorted_tables for column in table.columns]


@pytest.mark.parametrize("text", JSON_TEXTS)
def test_json_text_loads_as_sqlalchemy_loads_it(text: str) -> None:
    fast = result_processor(JSON(), DIALECT)
    loaded = fast(text)  # type: ignore[misc]
    expected = _general(JSON())(text)
    assert repr(loaded) == repr(expected)  # NaN equals itself, and key order counts


def test_an_empty_json_object_is_a_new_dict_each_time() -> None:
    fast = result_processor(JSON(), DIALECT)
    first, second = fast("{}"), fast("{}")  # type: ignore[misc]
    first["changed"] = True
    assert second == {}


@pytest.mark.parametrize("text", ["", "{", '{"a": }', "{} {}", "\ufeff{}", "nope"])
def test_invalid_json_text_raises_what_sqlalchemy_raises(text: str) -> None:
    fast = result_processor(JSON(), DIALECT)
    with pytest.raises(json.JSONDecodeError) as fast_error:
        fast(text)  # type: ignore[misc]
    with pytest.raises(json.JSONDecodeError) as general_error:
        _general(JSON())(text)
    assert str(fast_error.value) == str(general_error.value)


def test_none_stays_none_for_every_model_column() -> None:
    for column in _every_model_column():
        assert _apply(result_processor(column.type, DIALECT), None) is None, column


def test_utc_timestamps_come_back_aware() -> None:
    fast = result_processor(UtcDateTime(), DIALECT)
    naive = datetime(2026, 11, 23, 12, 30, 1, 123456)
    assert fast(naive) == _general(UtcDateTime())(naive) == naive.replace(tzinfo=UTC)  # type: ignore[misc]
    assert fast(naive).tzinfo is UTC  # type: ignore[misc]


def test_enum_values_become_members_and_unknown_ones_raise_sqlalchemy_s_error() -> None:
    status = Enum(ProjectStatus, values_callable=lambda members: [m.value for m in members])
    fast = result_processor(status, DIALECT)
    general = _general(status)
    for member in ProjectStatus:
        assert fast(member.value) is general(member.value)  # type: ignore[misc]
    for bad, error in (("deleted", LookupError), (["not", "hashable"], TypeError)):
        with pytest.raises(error) as fast_error:
            fast(bad)  # type: ignore[misc]
        with pytest.raises(error) as general_error:
            general(bad)
        assert str(fast_error.value) == str(general_error.value)


def test_string_lists_are_passed_through_and_other_arrays_keep_sqlalchemy_s_processor() -> None:
    assert result_processor(ARRAY(String()), DIALECT) is None
    assert result_processor(ARRAY(String(), as_tuple=True), DIALECT) is not None
    tuples = result_processor(ARRAY(String(), as_tuple=True), DIALECT)
    assert tuples(["a", "b"]) == ("a", "b")  # type: ignore[misc]
    timestamps = result_processor(ARRAY(UtcDateTime()), DIALECT)
    naive = datetime(2026, 1, 1)
    assert timestamps([naive]) == [naive.replace(tzinfo=UTC)]  # type: ignore[misc]


class _Upper(TypeDecorator[str]):
    impl = String
    cache_ok = True

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value.upper()


def test_types_not_known_here_keep_sqlalchemy_s_own_processor() -> None:
    table = Table("t", MetaData(), Column("u", _Upper()), Column("i", Integer()))
    assert result_processor(table.c.u.type, DIALECT)("shout") == "SHOUT"  # type: ignore[misc]
    assert result_processor(table.c.i.type, DIALECT) is None


def test_every_model_column_gives_the_value_sqlalchemy_gives() -> None:
    samples: dict[type[Any], list[Any]] = {
        UtcDateTime: [datetime(2025, 5, 6, 7, 8, 9)],
        JSON: JSON_TEXTS,
        ARRAY: [["a", "b"], []],
    }
    checked = 0
    for column in _every_model_column():
        fast = result_processor(column.type, DIALECT)
        general = _general(column.type)
        values: list[Any] = []
        for kind, kind_values in samples.items():
            if isinstance(column.type, kind):
                values = kind_values
        if isinstance(column.type, Enum):
            values = list(column.type.enums)
        for value in values:
            # repr: NaN equals itself, and a dict's key order counts
            assert repr(_apply(fast, value)) == repr(_apply(general, value)), (column, value)
            checked += 1
    assert checked > 50
