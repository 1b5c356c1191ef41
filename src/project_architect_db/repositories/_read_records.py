"""DuckDB rows straight into ``*Read`` records: ``model_validate`` without redoing DuckDB's work.

A point read outside a transaction spent ~18 us of its library time turning DuckDB's tuple
into a record: a dict of processed values (result processors, one ``zip``), then
``model_validate`` checking every value against its field. DuckDB already returns most
values in the very Python types the fields declare (``UUID``, ``str``, ``int``, lists of
``str``), and the result processors give the rest theirs (aware ``datetime``, parsed JSON,
enum members). For those values ``model_validate`` returns them unchanged (or an equal
copy: a list or dict is rebuilt with the same items) and sets every field as given.

:func:`record_maker` builds, once per ``(schema, result layout)``, a function that applies
the processors, checks each value's exact type against its field (``type(v) is str``,
``None`` only where the field allows it, the items of a ``list[str]``, the keys of a
``dict[str, Any]``) and, when every check passes, makes the record the way pydantic's own
``model_construct`` does. When any check fails (a value of another type, a ``NULL`` where the
field has none, a row of another length) it calls ``model_validate`` on the processed row, so
the result or the error is exactly today's. A schema it cannot prove equivalent (validators,
constraints, defaults, aliases other than plain names, non-default validation settings, a
field type not listed in :func:`_check`) always takes ``model_validate``.
``tests/integration/repositories/test_read_records.py`` compares both over every table's
``Read`` schema.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import types
import typing
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import AliasChoices, BaseModel

from project_architect_db.repositories._processors import Processor, attach_utc, load_json

__all__ = ["record_maker", "records_of"]

#: Types pydantic's lax mode returns unchanged when given a value of exactly that type.
_PLAIN: tuple[type, ...] = (str, int, float, bool, uuid.UUID, _dt.datetime, _dt.date, _dt.time)
#: Config keys that do not change what validating a value of the field's exact type returns.
_NEUTRAL_CONFIG = frozenset({"frozen", "from_attributes", "title", "json_schema_extra"})


def _check(
    annotation: Any, name: str, names: dict[str, Any], processor: Processor = None
) -> str | None:
    """The Python test that ``name`` holds a value pydantic would return as is (or copy).

    ``processor`` made the value (``load_json``: a dict's keys are JSON object keys, text).
    ``None``: no such test for this annotation (the schema then always validates).
    """
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) != 1 or len(args) != 2:
            return None
        inner = _check(rest[0], name, names, processor)
        return None if inner is None else f"({name} is None or {inner})"
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        if item not in _PLAIN:
            return None
        alias = f"_t_{len(names)}"
        names[alias] = frozenset({item})
        # the set of the items' exact types: C speed, no generator
        return f"(type({name}) is list and {{*map(type, {name})}} <= {alias})"
    if origin is dict:
        key, value = typing.get_args(annotation) or (Any, Any)
        if key is not str or value is not Any:
            return None
        if processor is load_json:  # parsed JSON text: its object keys are always str
            return f"type({name}) is dict"
        return f"(type({name}) is dict and {{*map(type, {name})}} <= _only_str)"
    if annotation in _PLAIN or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        alias = f"_t_{len(names)}"
        names[alias] = annotation
        return f"type({name}) is {alias}"
    return None


def _source(field_name: str, field: Any, keys: Sequence[str]) -> int | None:
    """The index of the row value ``model_validate`` would take for the field (last key wins)."""
    alias = field.validation_alias
    if alias is None:
        choices: list[Any] = [field.alias if field.alias is not None else field_name]
    elif isinstance(alias, AliasChoices):
        choices = list(alias.choices)
    else:
        choices = [alias]
    positions = {key: index for index, key in enumerate(keys)}  # a repeated key keeps its last
    for choice in choices:
        if not isinstance(choice, str):  # an AliasPath: not proven here
            return None
        if choice in positions:
            return positions[choice]
    return None


def _eligible(schema: type[BaseModel]) -> bool:
    decorators = schema.__pydantic_decorators__
    return (
        set(schema.model_config) <= _NEUTRAL_CONFIG
        and not schema.__pydantic_root_model__
        and not schema.__pydantic_post_init__
        and not schema.__private_attributes__
        and not decorators.validators
        and not decorators.field_validators
        and not decorators.root_validators
        and not decorators.model_validators
    )


@functools.lru_cache(maxsize=256)
def record_maker(
    schema: type[BaseModel], keys: tuple[str, ...], processors: tuple[Processor, ...]
) -> Callable[[tuple[Any, ...]], Any]:
    """``make(row)``: ``schema.model_validate`` of the processed ``row``, without its checks.

    Args:
        schema: The ``Read`` schema.
        keys: The result keys of the row (``Row._mapping``'s).
        processors: Each column's result processor (``None``: the value as DuckDB gives it).
    """

    def validate(row: tuple[Any, ...]) -> Any:
        return schema.model_validate(
            {
                key: value if processor is None else processor(value)
                for key, processor, value in zip(keys, processors, row, strict=True)
            }
        )

    fast = _fast_maker(schema, keys, processors, validate)
    return validate if fast is None else fast


def _fast_maker(
    schema: type[BaseModel],
    keys: tuple[str, ...],
    processors: tuple[Processor, ...],
    validate: Callable[[tuple[Any, ...]], Any],
) -> Callable[[tuple[Any, ...]], Any] | None:
    if not _eligible(schema):
        return None
    names: dict[str, Any] = {"_only_str": frozenset({str})}
    # every column processed, in order, as the validating path does (same value, same error)
    values: list[str] = []
    for index, processor in enumerate(processors):
        if processor is None:
            values.append(f"_v{index} = row[{index}]")
        elif processor is attach_utc:  # the commonest processor, spelt out
            values.append(f"_v{index} = row[{index}]")
            values.append(f"if _v{index} is not None: _v{index} = _v{index}.replace(tzinfo=_utc)")
        else:
            names[f"_p{index}"] = processor
            values.append(f"_v{index} = _p{index}(row[{index}])")
    items: list[str] = []
    checks: list[str] = []
    for field_name, field in schema.model_fields.items():
        if field.metadata or not field.is_required():
            return None
        source = _source(field_name, field, keys)
        if source is None:
            return None
        check = _check(field.annotation, f"_v{source}", names, processors[source])
        if check is None:
            return None
        checks.append(check)
        items.append(f"{field_name!r}: _v{source}")
    names.update(
        _new=schema.__new__,
        _schema=schema,
        _set=object.__setattr__,
        _fields=frozenset(schema.model_fields),
        _validate=validate,
        _utc=_dt.UTC,
    )
    body = "\n    ".join(values)
    code = f"""
def make(row):
    if len(row) != {len(keys)}:
        return _validate(row)
    {body}
    if {" and ".join(checks) or "True"}:
        record = _new(_schema)
        _set(record, "__dict__", {{{", ".join(items)}}})
        _set(record, "__pydantic_fields_set__", set(_fields))
        _set(record, "__pydantic_extra__", None)
        _set(record, "__pydantic_private__", None)
        return record
    return _validate(row)
"""
    exec(compile(code, f"<record maker {schema.__name__}>", "exec"), names)
    maker: Callable[[tuple[Any, ...]], Any] = names["make"]
    return maker


def records_of(schema: type[BaseModel], rows: Sequence[Any]) -> list[Any]:
    """Rows whose values are already processed (``Row._mapping``) as ``schema`` records.

    The same records ``model_validate`` of each mapping returns (or its error), made by
    :func:`record_maker` with no processors.
    """
    if not rows:
        return []
    keys = tuple(rows[0]._mapping)
    make = record_maker(schema, keys, (None,) * len(keys))
    return [make(tuple(row._mapping.values())) for row in rows]
