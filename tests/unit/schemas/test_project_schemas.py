"""ProjectCreate, ProjectUpdate and ProjectRead."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from project_architect_db.models import Phase, ProjectStatus
from project_architect_db.schemas import ProjectCreate, ProjectRead, ProjectUpdate


def error_at(error: ValidationError) -> dict[tuple[str | int, ...], str]:
    return {tuple(item["loc"]): item["type"] for item in error.errors()}


def stored_project(**overrides: Any) -> SimpleNamespace:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "name": "Atlas",
        "slug": "atlas",
        "description": None,
        "status": ProjectStatus.ACTIVE,
        "phase": Phase.DESIGN,
        "owner_id": "user-1",
        "tags": ["api"],
        "tech_stack": ["duckdb"],
        "architecture": {"style": "modular monolith"},
        "metadata_": {"source": "import"},
        "created_at": now,
        "updated_at": now,
        "version": 3,
    }
    return SimpleNamespace(**(fields | overrides))


def test_project_create_fills_defaults_and_derives_the_slug() -> None:
    project = ProjectCreate(name="  Atlas Platform ")

    assert project.name == "Atlas Platform"
    assert project.slug == "atlas-platform"
    assert project.status is ProjectStatus.DRAFT
    assert project.phase is Phase.REQUIREMENTS
    assert project.tags == []
    assert project.architecture == {}
    assert project.metadata_ == {}


def test_project_create_keeps_an_explicit_slug() -> None:
    assert ProjectCreate(name="Atlas", slug="atlas-2").slug == "atlas-2"


def test_project_create_takes_metadata_by_its_public_name() -> None:
    project = ProjectCreate(
        name="Atlas", metadata={"team": "core"}, architecture={"layers": ["api", "db"]}
    )

    assert project.metadata_ == {"team": "core"}
    assert project.model_dump(exclude_none=True)["metadata_"] == {"team": "core"}
    assert project.model_dump(by_alias=True)["metadata"] == {"team": "core"}


def test_project_create_accepts_enum_values_as_strings() -> None:
    project = ProjectCreate(name="Atlas", status="active", phase="implementation")

    assert project.status is ProjectStatus.ACTIVE
    assert project.phase is Phase.IMPLEMENTATION


def test_project_create_rejects_an_empty_name() -> None:
    with pytest.raises(ValidationError) as caught:
        ProjectCreate(name="   ")

    assert error_at(caught.value)[("name",)] == "string_too_short"


def test_project_create_rejects_a_name_over_200_characters() -> None:
    with pytest.raises(ValidationError) as caught:
        ProjectCreate(name="x" * 201)

    assert error_at(caught.value)[("name",)] == "string_too_long"


def test_project_create_rejects_a_name_of_the_wrong_type() -> None:
    with pytest.raises(ValidationError) as caught:
        ProjectCreate(name=42)

    assert error_at(caught.value)[("name",)] == "string_type"


def test_project_create_rejects_a_name_with_a_nul_byte() -> None:
    with pytest.raises(ValidationError, match="NUL"):
        ProjectCreate(name="Atl\x00as")


def test_project_create_rejects_a_bad_slug() -> None:
    with pytest.raises(ValidationError) as caught:
        ProjectCreate(name="Atlas", slug="Atlas Platform")

    assert error_at(caught.value) == {("slug",): "slug_format"}


def test_project_create_asks_for_a_slug_when_the_name_has_no_ascii() -> None:
    with pytest.raises(ValidationError, match="pass slug") as caught:
        ProjectCreate(name="日本語")

    assert error_at(caught.value) == {("slug",): "slug_underivable"}


def test_project_create_rejects_an_unknown_status() -> None:
    with pytest.raises(ValidationError) as caught:
        ProjectCreate(name="Atlas", status="abandoned")

    assert error_at(caught.value) == {("status",): "enum"}


def test_project_create_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        ProjectCreate(name="Atlas", colour="blue")  # type: ignore[call-arg]

    assert error_at(caught.value) == {("colour",): "extra_forbidden"}


def test_project_create_rejects_oversized_architecture_json() -> None:
    with pytest.raises(ValidationError, match="64 KiB"):
        ProjectCreate(name="Atlas", architecture={"notes": "x" * 70_000})


def test_project_create_rejects_a_description_over_10000_characters() -> None:
    with pytest.raises(ValidationError, match="at most 10000"):
        ProjectCreate(name="Atlas", description="x" * 10_001)


def test_project_update_applies_only_the_given_fields() -> None:
    update = ProjectUpdate(status="paused", tags=["b", "a", "b"], owner_id=None)

    assert update.changes() == {
        "status": ProjectStatus.PAUSED,
        "tags": ["b", "a"],
        "owner_id": None,
    }


def test_project_update_rejects_null_for_the_name() -> None:
    with pytest.raises(ValidationError, match="omit it to leave it unchanged"):
        ProjectUpdate(name=None)


def test_project_update_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        ProjectUpdate(version=2)  # type: ignore[call-arg]


def test_project_update_rejects_an_expected_version_below_1() -> None:
    with pytest.raises(ValidationError):
        ProjectUpdate(name="x", expected_version=0)


def test_project_read_is_built_from_orm_attributes() -> None:
    read = ProjectRead.model_validate(stored_project())

    assert read.slug == "atlas"
    assert read.metadata_ == {"source": "import"}
    assert read.model_dump(by_alias=True, mode="json")["metadata"] == {"source": "import"}


def test_project_read_is_built_from_a_mapping_using_the_public_metadata_name() -> None:
    fields = vars(stored_project()).copy()
    fields["metadata"] = fields.pop("metadata_")

    assert ProjectRead.model_validate(fields).metadata_ == {"source": "import"}


def test_project_read_is_frozen() -> None:
    read = ProjectRead.model_validate(stored_project())

    with pytest.raises(ValidationError):
        read.name = "Changed"  # type: ignore[misc]


def test_project_read_rejects_a_row_missing_its_version() -> None:
    row = stored_project()
    del row.version

    with pytest.raises(ValidationError) as caught:
        ProjectRead.model_validate(row)

    assert error_at(caught.value) == {("version",): "missing"}
