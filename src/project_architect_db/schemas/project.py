"""Schemas of the project aggregate."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AliasChoices, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from project_architect_db.models.enums import Phase, ProjectStatus
from project_architect_db.schemas.common import (
    CreateSchema,
    JsonObject,
    LongText,
    Name,
    ReadSchema,
    ShortText,
    Slug,
    Tags,
    UpdateSchema,
    slugify,
)

__all__ = ["ProjectCreate", "ProjectRead", "ProjectUpdate"]


def _slug_from_name(data: dict[str, Any]) -> str | None:
    return slugify(data["name"]) or None


class ProjectCreate(CreateSchema):
    """A new project. ``slug`` is derived from ``name`` when omitted.

    Examples:
        >>> ProjectCreate(name="Crème Brûlée App").slug
        'creme-brulee-app'
    """

    name: Name
    slug: Slug = Field(
        default_factory=_slug_from_name,
        validate_default=True,
        description="Derived from name when omitted.",
    )
    description: LongText | None = None
    status: ProjectStatus = ProjectStatus.DRAFT
    phase: Phase = Phase.REQUIREMENTS
    owner_id: ShortText | None = None
    tags: Tags = Field(default_factory=list)
    tech_stack: Tags = Field(default_factory=list)
    architecture: JsonObject = Field(default_factory=dict)
    metadata_: JsonObject = Field(default_factory=dict, alias="metadata")

    @field_validator("slug", mode="before")
    @classmethod
    def _explain_missing_slug(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise PydanticCustomError(
                "slug_underivable",
                "cannot derive a slug from name '{name}' (no ASCII letters or digits): pass slug",
                {"name": info.data.get("name")},
            )
        return value


class ProjectUpdate(UpdateSchema):
    """A change to a project; only the fields given are applied.

    ``expected_version``, when given, makes the update fail with ``ConflictError`` unless the
    row is still at that version (optimistic locking across a read-edit-write round trip).
    """

    nullable_fields = frozenset({"description", "owner_id", "expected_version"})

    name: Name | None = None
    slug: Slug | None = None
    description: LongText | None = None
    status: ProjectStatus | None = None
    phase: Phase | None = None
    owner_id: ShortText | None = None
    tags: Tags | None = None
    tech_stack: Tags | None = None
    architecture: JsonObject | None = None
    metadata_: JsonObject | None = Field(default=None, alias="metadata")
    expected_version: int | None = Field(default=None, ge=1, exclude=True)


class ProjectRead(ReadSchema):
    """A project as stored."""

    id: uuid.UUID
    name: str
    slug: str
    description: str | None
    status: ProjectStatus
    phase: Phase
    owner_id: str | None
    tags: list[str]
    tech_stack: list[str]
    architecture: dict[str, Any]
    metadata_: dict[str, Any] = Field(
        validation_alias=AliasChoices("metadata_", "metadata"), serialization_alias="metadata"
    )
    created_at: datetime
    updated_at: datetime
    version: int
