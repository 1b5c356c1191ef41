"""Sorting (``"-created_at"``) and opaque keyset cursors for the repositories' ``list``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.queries.filters import column_of

__all__ = [
    "SortKey",
    "after_row",
    "decode_cursor",
    "encode_cursor",
    "keyset_condition",
    "parse_order",
]

_MAX_SORT_KEYS = 8
_MAX_CURSOR = 4096


@dataclass(frozen=True, slots=True)
class SortKey:
    """One ``ORDER BY`` term: a column and its direction."""

    name: str
    column: InstrumentedAttribute[Any]
    descending: bool

    def order(self) -> ColumnElement[Any]:
        """The ``ORDER BY`` expression."""
        return self.column.desc() if self.descending else self.column.asc()


def parse_order(model: type[Any], order_by: str | Sequence[str] | None) -> list[SortKey]:
    """``"-created_at"`` or ``["status", "-stars"]`` -> sort keys, ``id`` appended as tiebreaker."""
    if order_by is None:
        terms: list[str] = []
    elif isinstance(order_by, str):
        terms = [part.strip() for part in order_by.split(",") if part.strip()]
    elif isinstance(order_by, Sequence):
        terms = list(order_by)
    else:
        raise InvalidQueryError("order_by takes a field name such as '-created_at', or a list.")
    if len(terms) > _MAX_SORT_KEYS:
        raise InvalidQueryError(f"At most {_MAX_SORT_KEYS} sort fields are allowed.")
    keys: list[SortKey] = []
    seen: set[str] = set()
    for term in terms:
        if not isinstance(term, str) or not term.strip("+-"):
            raise InvalidQueryError(
                f"Invalid sort term {str(term)[:40]!r}: use 'field' or '-field'."
            )
        descending = term.startswith("-")
        name = term.lstrip("+-")
        column = column_of(model, name)
        if column.key in seen:
            continue
        seen.add(column.key)
        keys.append(SortKey(column.key, column, descending))
    if "id" not in seen:
        keys.append(SortKey("id", column_of(model, "id"), keys[-1].descending if keys else False))
    return keys


def _signature(model: type[Any], keys: Sequence[SortKey]) -> str:
    spec = model.__name__ + ":" + ",".join(("-" if k.descending else "") + k.name for k in keys)
    return hashlib.blake2s(spec.encode(), digest_size=6).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, Enum):
        return value.value
    return value


def _restore(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if tag == "u" and isinstance(text, str):
            return uuid.UUID(text)
        if tag == "t" and isinstance(text, str):
            parsed = datetime.fromisoformat(text)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    raise ValueError("unexpected value in cursor")


def encode_cursor(model: type[Any], keys: Sequence[SortKey], row: Any) -> str:
    """An opaque cursor pointing just after ``row`` in the order of ``keys``."""
    values = [_plain(getattr(row, key.name)) for key in keys]
    payload = json.dumps({"s": _signature(model, keys), "v": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(model: type[Any], keys: Sequence[SortKey], cursor: str) -> list[Any]:
    """The sort-key values inside ``cursor``; ``InvalidQueryError`` if foreign or tampered."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > _MAX_CURSOR:
        raise InvalidQueryError("The cursor is not one this library returned.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        signature, values = payload["s"], payload["v"]
        restored = [_restore(value) for value in values]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidQueryError("The cursor is not one this library returned.") from None
    if signature != _signature(model, keys) or len(restored) != len(keys):
        raise InvalidQueryError(
            "The cursor belongs to another listing (a different model or sort order); start "
            "again without a cursor."
        )
    for key, value in zip(keys, restored, strict=True):
        if value is None and not key.column.nullable:
            raise InvalidQueryError("The cursor is not one this library returned.")
    return restored


def keyset_condition(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``keys`` (mixed directions allowed)."""
    for key in keys:
        if key.column.nullable:
            raise InvalidQueryError(
                f"Cursor pagination cannot sort on {key.name}, which may be empty; sort on "
                "non-nullable fields or use offset pagination."
            )
    alternatives = []
    for index, key in enumerate(keys):
        equal_prefix = [k.column == v for k, v in zip(keys[:index], values[:index], strict=True)]
        beyond = key.column < values[index] if key.descending else key.column > values[index]
        alternatives.append(and_(*equal_prefix, beyond))
    return or_(*alternatives)


def after_row(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``keys``, ``NULL`` sorting last.

    Unlike :func:`keyset_condition` (for cursors handed to users), nullable keys are allowed:
    it matches ``ORDER BY key NULLS LAST`` in either direction, so ``stream()`` can walk any
    order in keyset chunks. The last key (``id``) is never ``NULL``, so each chunk moves on.
    """
    alternatives = []
    for index, key in enumerate(keys):
        value = values[index]
        if value is None:
            continue  # nothing sorts after NULL on this key: only a later key can move on
        equal_prefix = [
            k.column.is_(None) if v is None else k.column == v
            for k, v in zip(keys[:index], values[:index], strict=True)
        ]
        beyond = key.column < value if key.descending else key.column > value
        if key.column.nullable:
            beyond = or_(beyond, key.column.is_(None))
        alternatives.append(and_(*equal_prefix, beyond))
    return or_(*alternatives)
