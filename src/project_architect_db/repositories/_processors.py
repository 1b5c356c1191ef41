"""Result processors for the native read paths: SQLAlchemy's, without their layers.

A page of 50 projects spent ~1 ms turning DuckDB's tuples into the values ``Row._mapping``
holds, most of it in the generic processors' wrapping: ``TypeDecorator`` calls its impl's
processor then ``process_result_value``; ``JSON`` calls a closure that calls ``json.loads``
(itself two Python frames); ``ARRAY`` copies every list twice to apply no item processor;
``Enum`` looks the value up through a method. :func:`result_processor` gives, for the column
types whose SQLAlchemy processor is known here, a function returning the same value in one
step, and SQLAlchemy's own processor for every other type, so the values (and errors) are the
same as on SQLAlchemy's path (``tests/integration/repositories/test_native_list.py`` compares
them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Enum
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.sqltypes import ARRAY
from sqlalchemy.types import TypeEngine

from project_architect_db.core._sqlalchemy import (
    against_native_enum,
    enum_lookup,
    json_deserializer,
    json_string_type,
)
from project_architect_db.models.types import UtcDateTime

__all__ = ["Processor", "attach_utc", "load_json", "result_processor"]

Processor = Callable[[Any], Any] | None

# the decoder's C scanner: one call, where ``json.loads`` adds two Python frames around it
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_EMPTY_OBJECT = "{}"
_EMPTY_ARRAY = "[]"


def attach_utc(value: datetime | None) -> datetime | None:
    """``UtcDateTime``'s result value: the naive UTC ``TIMESTAMP`` made aware."""
    return None if value is None else value.replace(tzinfo=UTC)


def load_json(value: str | None) -> Any:
    """``json.loads(value)``, with the empty containers (most new rows' JSON) answered at once.

    DuckDB returns a JSON column's text as stored; text that does not scan in one step from its
    first character (leading blanks, trailing text) goes through ``json.loads``, which accepts
    or rejects it exactly as SQLAlchemy's processor would.
    """
    if value is None:
        return None
    if value == _EMPTY_OBJECT:
        return {}
    if value == _EMPTY_ARRAY:
        return []
    try:
        loaded, end = _scan_json(value, 0)
    except (StopIteration, ValueError):
        return json.loads(value)
    return loaded if end == len(value) else json.loads(value)


def _enum_lookup(impl: Enum, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    lookup = enum_lookup(impl)

    def process(value: Any) -> Any:
        try:
            return lookup[value]
        except (KeyError, TypeError):  # SQLAlchemy's processor raises its LookupError
            return general(value)

    return process


def result_processor(sql_type: TypeEngine[Any], dialect: Dialect) -> Processor:
    """The function turning a DuckDB value of ``sql_type`` into ``Row._mapping``'s value."""
    impl = sql_type.dialect_impl(dialect)
    general = impl.result_processor(dialect, None)
    if general is None:
        return None
    if isinstance(sql_type, UtcDateTime):
        stored = sql_type.impl_instance.dialect_impl(dialect).result_processor(dialect, None)
        return attach_utc if stored is None else general
    if isinstance(impl, JSON):
        plain_text = json_string_type(impl).result_processor(dialect, None) is None
        if plain_text and json_deserializer(dialect) is None:
            return load_json
        return general
    if isinstance(impl, ARRAY):
        item = impl.item_type.dialect_impl(dialect).result_processor(dialect, None)
        simple = impl.dimensions in (None, 1) and not against_native_enum(impl)
        # SQLAlchemy copies the list it is given (twice) to apply no processor: DuckDB's list
        # is already a fresh Python list of plain values
        return None if item is None and simple and not impl.as_tuple else general
    if (
        isinstance(impl, Enum)
        and impl.enum_class is not None
        and super(Enum, impl).result_processor(dialect, None) is None
    ):
        return _enum_lookup(impl, general)
    return general
