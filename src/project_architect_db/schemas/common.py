"""Pieces every schema shares: base classes, constrained types, ``Page``.

Three base classes fix the behaviour of the three kinds of schema:

* :class:`CreateSchema`: input for a new row; unknown fields are errors.
* :class:`UpdateSchema`: a partial change; every field optional, and an omitted field is left
  alone while an explicit ``None`` is accepted only for nullable columns.
* :class:`ReadSchema`: a detached, immutable record built from an ORM row or a mapping.

Field names equal the models' attribute names, so ``model_dump()`` feeds the ORM or a Core
``insert`` unchanged; the JSON column ``metadata`` is the attribute ``metadata_`` in both, and
schemas take and emit ``"metadata"`` as its alias (``model_dump(by_alias=True)``, FastAPI).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    NonNegativeInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError, to_json

from project_architect_db._typing import ItemT

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "SLUG_PATTERN",
    "CommitSha",
    "CreateSchema",
    "JsonObject",
    "LongText",
    "Name",
    "Page",
    "ReadSchema",
    "ShortText",
    "Slug",
    "Tags",
    "Text",
    "UpdateSchema",
    "UtcDateTime",
    "slugify",
]

MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_SLUG_RE = re.compile(SLUG_PATTERN)
_SLUG_MAX = 100
_COMMIT_SHA_RE = re.compile(r"[0-9a-f]{7,40}")
# A JSON-escaped NUL (\u0000) preceded by an even number of backslashes, i.e. not the text
# "\u0000" whose backslash was itself escaped.
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


# -- validators ---------------------------------------------------------------------------------


def _nul_error() -> PydanticCustomError:
    # DuckDB's C API, the fts extension and most CLI tools treat NUL as end of string.
    return PydanticCustomError(
        "string_nul", "must not contain NUL (\\x00) characters: strip them before saving"
    )


def _reject_nul(value: str) -> str:
    if "\x00" in value:
        raise _nul_error()
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError(
                "string_unicode",
                "must be valid Unicode: a lone surrogate (e.g. '\\ud800') cannot be stored",
            ) from None
    return value


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "datetime_naive",
            "naive datetime: pass a timezone-aware value, e.g. datetime.now(UTC) or "
            "'2025-01-31T12:00:00Z'",
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise PydanticCustomError(
            "datetime_range", "datetime is out of range once converted to UTC"
        ) from None


def _check_slug(value: str) -> str:
    if not value:
        raise PydanticCustomError("slug_empty", "slug must not be empty")
    if not _SLUG_RE.fullmatch(value):
        raise PydanticCustomError(
            "slug_format",
            "slug must be lowercase ASCII letters and digits in groups joined by single dashes, "
            "e.g. 'atlas-v2'",
        )
    return value


def _check_commit_sha(value: str) -> str:
    if not _COMMIT_SHA_RE.fullmatch(value):
        raise PydanticCustomError(
            "commit_sha", "commit_sha must be 7 to 40 hexadecimal digits, e.g. '3f2a9c1'"
        )
    return value


def _check_depth(node: dict[str, JsonValue] | list[JsonValue], depth: int) -> None:
    # Recursion is bounded: it stops at MAX_JSON_DEPTH + 1.
    if depth > MAX_JSON_DEPTH:
        raise PydanticCustomError(
            "json_too_deep",
            "JSON nests deeper than {limit} levels: flatten it",
            {"limit": MAX_JSON_DEPTH},
        )
    for child in node.values() if isinstance(node, dict) else node:
        if isinstance(child, dict | list):
            _check_depth(child, depth + 1)


def _check_json_document(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    # Runs for every record of a bulk insert, so the common small object takes only C-speed
    # byte scans of its serialisation (a Python walk cost ~3 us per object).
    if not value:
        return value
    data = to_json(value)
    if len(data) > MAX_JSON_BYTES:
        raise PydanticCustomError(
            "json_too_large",
            "JSON is {size} bytes serialised; the limit is {limit} bytes (64 KiB): store large "
            "content in a document instead",
            {"size": len(data), "limit": MAX_JSON_BYTES},
        )
    # Nesting depth cannot exceed the number of opening brackets; walk only when it might.
    if data.count(b"{") + data.count(b"[") > MAX_JSON_DEPTH:
        _check_depth(value, 1)
    if b"\\u0000" in data and _ESCAPED_NUL.search(data):
        raise _nul_error()
    return value


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# -- constrained types --------------------------------------------------------------------------

Text = Annotated[str, AfterValidator(_reject_nul)]
"""Free text kept exactly as given (message and document content): no stripping, no limit."""

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_reject_nul),
]
"""A display name or title: 1-200 characters after stripping."""

ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(_reject_nul),
]
"""A short identifier-like string (branch, language, file type, owner id): 1-255 characters."""

LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=10_000), AfterValidator(_reject_nul)
]
"""A description or summary: up to 10,000 characters after stripping."""

Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=_SLUG_MAX),
    AfterValidator(_check_slug),
]
"""A URL-safe identifier: ``^[a-z0-9]+(?:-[a-z0-9]+)*$``, 1-100 characters."""

Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_reject_nul),
]

Tags = Annotated[list[Tag], Field(max_length=100), AfterValidator(_dedupe)]
"""Up to 100 short strings; duplicates are dropped, first occurrence kept."""

UtcDateTime = Annotated[datetime, AfterValidator(_to_utc)]
"""An aware datetime, normalised to UTC; a naive one is rejected.

Spelt like the column type :class:`project_architect_db.models.types.UtcDateTime` (and
SQLAlchemy's ``DateTime``) that stores it: one name for one idea in every layer.
"""

CommitSha = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True), AfterValidator(_check_commit_sha)
]
"""A full or abbreviated git commit id: 7-40 hex digits, stored lowercase."""

JsonObject = Annotated[dict[str, JsonValue], AfterValidator(_check_json_document)]
"""A JSON object of at most 64 KiB serialised and 16 levels deep, without NUL characters."""


def slugify(text: str) -> str:
    """Return ``text`` as a slug: ASCII-folded, lowercase, dash-separated, at most 100 chars.

    Returns an empty string when nothing ASCII-alphanumeric is left (e.g. ``"日本"``).

    Examples:
        >>> slugify("  Crème Brûlée: v2!  ")
        'creme-brulee-v2'
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:_SLUG_MAX].rstrip("-")


# -- base classes -------------------------------------------------------------------------------


class CreateSchema(BaseModel):
    """Base of every ``<Entity>Create``: closed to unknown fields.

    ``model_dump(exclude_none=True)`` is the values of the row to insert: field names are model
    attribute names, and columns left out get the model's defaults.
    """

    model_config = ConfigDict(extra="forbid", validate_by_alias=True)


class UpdateSchema(BaseModel):
    """Base of every ``<Entity>Update``: all fields optional; send only what changes.

    ``None`` is accepted only for the fields in ``nullable_fields`` (it clears them); for any
    other field it is an error rather than a silent no-op.
    """

    model_config = ConfigDict(extra="forbid", validate_by_alias=True)

    nullable_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _reject_null_for_required_columns(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable_fields:
            raise PydanticCustomError(
                "null_not_allowed",
                "{field} cannot be null: omit it to leave it unchanged",
                {"field": info.field_name},
            )
        return value

    def changes(self) -> dict[str, Any]:
        """Return the fields the caller set, keyed by model attribute name."""
        return self.model_dump(exclude_unset=True)


class ReadSchema(BaseModel):
    """Base of every ``<Entity>Read``: immutable, built from ORM rows (``from_attributes``)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)


class Page(BaseModel, Generic[ItemT]):
    """One page of a listing.

    Attributes:
        items: The records on this page.
        total: How many records match in all, when it was counted (counting costs a query).
        next_cursor: Opaque cursor for the next page (keyset pagination); ``None`` at the end.
        limit: The page size asked for.
        offset: How many matching records precede this page (offset pagination).
    """

    model_config = ConfigDict(frozen=True)

    items: list[ItemT]
    total: NonNegativeInt | None = None
    next_cursor: str | None = None
    limit: NonNegativeInt
    offset: NonNegativeInt = 0


def __getattr__(name: str) -> Any:
    """``UtcDatetime``, the old spelling of :data:`UtcDateTime`, with a DeprecationWarning."""
    return _renamed(name, __name__)


def _renamed(name: str, module: str) -> Any:
    if name == "UtcDatetime":
        warnings.warn(
            f"{module}.UtcDatetime is deprecated: use UtcDateTime (spelt like the column type "
            "project_architect_db.models.types.UtcDateTime); the old name will be removed.",
            DeprecationWarning,
            stacklevel=3,
        )
        return UtcDateTime
    raise AttributeError(f"module {module!r} has no attribute {name!r}")
