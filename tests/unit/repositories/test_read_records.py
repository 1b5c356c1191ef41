"""``record_maker``: which schemas skip ``model_validate``, and that the rest keep it exactly.

Pure Python (synthetic schemas and rows); the comparison over the real tables and DuckDB rows
is ``tests/integration/repositories/test_read_records.py``.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Optional

import pydantic
import pytest
from pydantic import (
    AliasChoices,
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from project_architect_db.repositories._processors import attach_utc
from project_architect_db.repositories._read_records import record_maker
from project_architect_db.schemas.common import ReadSchema


class Color(enum.Enum):
    RED = "red"


class Plain(ReadSchema):
    id: uuid.UUID
    name: str
    note: str | None
    legacy: Optional[int]  # noqa: UP045 - the typing.Union spelling must be understood too
    color: Color
    tags: list[str]
    data: dict[str, Any]
    at: datetime
    day: date
    ratio: float
    flag: bool
    meta: dict[str, Any] = Field(validation_alias=AliasChoices("meta_", "meta"))


KEYS = (
    "id",
    "name",
    "note",
    "legacy",
    "color",
    "tags",
    "data",
    "at",
    "day",
    "ratio",
    "flag",
    "meta",
)
NO_PROCESSING: tuple[Any, ...] = (None,) * len(KEYS)


def _row(**changes: Any) -> tuple[Any, ...]:
    values = {
        "id": uuid.UUID(int=7),
        "name": "n",
        "note": None,
        "legacy": 3,
        "color": Color.RED,
        "tags": ["a", "b"],
        "data": {"k": [1, None]},
        "at": datetime(2020, 1, 1, tzinfo=UTC),
        "day": date(2020, 1, 2),
        "ratio": 0.5,
        "flag": False,
        "meta": {},
    }
    values.update(changes)
    return tuple(values[key] for key in KEYS)


def _validated(schema: type[BaseModel], keys: tuple[str, ...], row: tuple[Any, ...]) -> Any:
    return schema.model_validate(dict(zip(keys, row, strict=True)))


def _is_generated(maker: Any) -> bool:
    return bool(maker.__code__.co_filename.startswith("<record maker"))


def test_a_schema_of_plain_fields_gets_a_generated_maker_equal_to_model_validate() -> None:
    maker = record_maker(Plain, KEYS, NO_PROCESSING)
    assert _is_generated(maker)
    row = _row()
    made, validated = maker(row), _validated(Plain, KEYS, row)
    assert made == validated and repr(made) == repr(validated)
    assert made.model_fields_set == validated.model_fields_set
    assert made.meta is row[-1]  # taken as given: pydantic would copy it, equal
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        made.name = "other"
    assert record_maker(Plain, KEYS, NO_PROCESSING) is maker  # built once


def test_processors_run_once_per_column_in_order_including_unused_columns() -> None:
    keys = (*KEYS, "unused")
    seen: list[str] = []

    def recording(name: str) -> Any:
        def process(value: Any) -> Any:
            seen.append(name)
            return value

        return process

    processors = (*NO_PROCESSING[:7], attach_utc, *NO_PROCESSING[8:], recording("unused"))
    processors = (recording("id"), *processors[1:])
    maker = record_maker(Plain, keys, processors)
    assert _is_generated(maker)
    made = maker((*_row(at=datetime(2020, 1, 1)), "x"))
    assert seen == ["id", "unused"]
    assert made.at == datetime(2020, 1, 1, tzinfo=UTC) and made.at.tzinfo is UTC
    with pytest.raises(pydantic.ValidationError, match="valid datetime"):  # NULL kept NULL
        maker((*_row(at=None), "x"))


def test_a_repeated_key_takes_the_last_value_as_a_dict_would() -> None:
    keys = ("name", *KEYS)
    maker = record_maker(Plain, keys, (None, *NO_PROCESSING))
    row = ("first", *_row(name="last"))
    assert maker(row).name == "last" == _validated(Plain, keys, row).name


@pytest.mark.parametrize(
    "changes",
    [
        {"id": str(uuid.UUID(int=7))},  # validated into a UUID
        {"flag": 1},  # an int pydantic accepts for a bool
        {"tags": ("a",)},  # a tuple turned into a list
        {"ratio": 1},  # an int turned into a float
        {"color": "red"},  # a value turned into the member
        {"data": {1: "non-str key"}},  # pydantic refuses it
        {"at": None},  # NULL where the field has none
        {"tags": ["a", 1]},  # an item of another type
    ],
)
def test_other_types_take_model_validate_with_its_result_or_error(changes: dict[str, Any]) -> None:
    maker = record_maker(Plain, KEYS, NO_PROCESSING)
    row = _row(**changes)
    try:
        validated = _validated(Plain, KEYS, row)
    except pydantic.ValidationError as error:
        with pytest.raises(pydantic.ValidationError) as making:
            maker(row)
        assert making.value.errors() == error.errors()
    else:
        made = maker(row)
        assert made == validated and repr(made) == repr(validated)


def test_a_processor_error_is_raised_as_validation_would_raise_it() -> None:
    def refuse(value: Any) -> Any:
        raise LookupError(f"no {value!r}")

    processors = (*NO_PROCESSING[:4], refuse, *NO_PROCESSING[5:])
    maker = record_maker(Plain, KEYS, processors)
    with pytest.raises(LookupError, match="no <Color"):
        maker(_row())


class WithValidator(ReadSchema):
    name: str

    @field_validator("name")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class WithModelValidator(ReadSchema):
    name: str

    @model_validator(mode="after")
    def _check(self) -> WithModelValidator:
        return self


class WithDefault(ReadSchema):
    name: str = "x"


class WithConstraint(ReadSchema):
    name: Annotated[str, Field(max_length=1)]


class WithExtra(ReadSchema):
    model_config = ConfigDict(extra="allow")
    name: str


class WithStripping(ReadSchema):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str


class WithPath(ReadSchema):
    name: str = Field(validation_alias=AliasPath("outer", 0))


class WithUnion(ReadSchema):
    name: int | str


class WithWideOptional(ReadSchema):
    name: int | str | None


class WithDecimal(ReadSchema):
    name: Decimal


class WithListOfDicts(ReadSchema):
    name: list[dict[str, Any]]


class WithIntKeys(ReadSchema):
    name: dict[int, Any]


class WithTypedValues(ReadSchema):
    name: dict[str, int]


class WithPrivate(ReadSchema):
    name: str
    _cache: int = PrivateAttr(default=0)


class WithPostInit(ReadSchema):
    name: str

    def model_post_init(self, context: Any, /) -> None:
        pass


class WithMissingColumn(ReadSchema):
    name: str
    other: str


@pytest.mark.parametrize(
    ("schema", "row"),
    [
        (WithValidator, ("ab",)),
        (WithModelValidator, ("ab",)),
        (WithDefault, ("ab",)),
        (WithConstraint, ("ab",)),
        (WithExtra, ("ab",)),
        (WithStripping, (" ab ",)),
        (WithPath, ("ab",)),
        (WithUnion, ("ab",)),
        (WithWideOptional, ("ab",)),
        (WithDecimal, (Decimal("1.5"),)),
        (WithListOfDicts, ([{"a": 1}],)),
        (WithIntKeys, ({1: 2},)),
        (WithTypedValues, ({"a": "2"},)),
        (WithPrivate, ("ab",)),
        (WithPostInit, ("ab",)),
        (WithMissingColumn, ("ab",)),
    ],
)
def test_schemas_it_cannot_prove_equal_always_take_model_validate(
    schema: type[BaseModel], row: tuple[Any, ...]
) -> None:
    maker = record_maker(schema, ("name",), (None,))
    assert not _is_generated(maker)
    try:
        validated = schema.model_validate({"name": row[0]})
    except pydantic.ValidationError as error:
        with pytest.raises(pydantic.ValidationError) as making:
            maker(row)
        assert making.value.errors() == error.errors()
    else:
        assert maker(row) == validated
