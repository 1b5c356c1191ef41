"""Shared schema pieces: constrained types, the Update null rule, Page, exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import project_architect_db.schemas as schemas
from project_architect_db.schemas import (
    MAX_JSON_BYTES,
    CommitSha,
    JsonObject,
    Page,
    ProjectRead,
    ProjectUpdate,
    Slug,
    Tags,
    UtcDateTime,
    slugify,
)


def error_types(error: ValidationError) -> set[str]:
    return {item["type"] for item in error.errors()}


def nested(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for _ in range(depth - 1):
        document = {"child": document}
    return document


def test_schemas_all_is_sorted_and_every_name_exists() -> None:
    assert schemas.__all__ == sorted(schemas.__all__)
    assert all(hasattr(schemas, name) for name in schemas.__all__)


def test_every_public_schema_class_is_exported() -> None:
    defined = {
        name
        for name, value in vars(schemas).items()
        if isinstance(value, type) and issubclass(value, BaseModel) and not name.startswith("_")
    }

    assert defined <= set(schemas.__all__)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Atlas", "atlas"),
        ("  Crème Brûlée: v2!  ", "creme-brulee-v2"),
        ("a -- b __ c", "a-b-c"),
        ("Ünïcödé Façade", "unicode-facade"),
        ("x" * 150, "x" * 100),
        ("日本語", ""),
    ],
)
def test_slugify_folds_accents_and_joins_words_with_single_dashes(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_slugify_never_ends_with_a_dash_after_truncation() -> None:
    assert slugify("a" * 99 + " b") == "a" * 99


def test_slug_accepts_lowercase_words_joined_by_dashes() -> None:
    assert TypeAdapter(Slug).validate_python(" atlas-v2 ") == "atlas-v2"


@pytest.mark.parametrize("bad", ["Atlas", "at las", "-atlas", "atlas-", "at--las", "ätlas", ""])
def test_slug_rejects_anything_but_lowercase_ascii_words(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Slug).validate_python(bad)

    assert error_types(caught.value) <= {"slug_format", "slug_empty"}


def test_slug_rejects_more_than_100_characters() -> None:
    with pytest.raises(ValidationError, match="at most 100"):
        TypeAdapter(Slug).validate_python("a" * 101)


def test_utc_datetime_normalises_aware_values_to_utc() -> None:
    tokyo = timezone(timedelta(hours=9))

    value = TypeAdapter(UtcDateTime).validate_python(datetime(2025, 1, 1, 9, tzinfo=tokyo))

    assert value == datetime(2025, 1, 1, tzinfo=UTC)
    assert value.tzinfo is UTC


def test_utc_datetime_parses_iso_strings_with_an_offset() -> None:
    value = TypeAdapter(UtcDateTime).validate_python("2025-01-01T02:00:00+02:00")

    assert value == datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("naive", [datetime(2025, 1, 1), "2025-01-01T00:00:00"])
def test_utc_datetime_rejects_naive_values_and_says_what_to_pass(naive: object) -> None:
    with pytest.raises(ValidationError, match="timezone-aware") as caught:
        TypeAdapter(UtcDateTime).validate_python(naive)

    assert error_types(caught.value) == {"datetime_naive"}


def test_json_object_accepts_nested_json_up_to_16_levels() -> None:
    document = nested(16)

    assert TypeAdapter(JsonObject).validate_python(document) == document


def test_json_object_rejects_17_levels_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match="deeper than 16 levels"):
        TypeAdapter(JsonObject).validate_python(nested(17))


def test_json_object_counts_lists_as_levels() -> None:
    deep_list: list[Any] = []
    for _ in range(16):
        deep_list = [deep_list]

    with pytest.raises(ValidationError, match="deeper than 16 levels"):
        TypeAdapter(JsonObject).validate_python({"list": deep_list})


def test_json_object_is_not_fooled_by_brackets_inside_strings() -> None:
    document = {"text": "{[" * 100}

    assert TypeAdapter(JsonObject).validate_python(document) == document


def test_json_object_rejects_more_than_64_kib_serialised() -> None:
    with pytest.raises(ValidationError, match="64 KiB") as caught:
        TypeAdapter(JsonObject).validate_python({"blob": "x" * MAX_JSON_BYTES})

    assert error_types(caught.value) == {"json_too_large"}


def test_json_object_rejects_values_that_are_not_json() -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(JsonObject).validate_python({"when": datetime.now(UTC)})


@pytest.mark.parametrize(
    "document",
    [{"key\x00": 1}, {"value": "a\x00b"}, {"list": ["ok", ["deep\x00"]]}],
    ids=["key", "value", "nested"],
)
def test_json_object_rejects_nul_characters_anywhere(document: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="NUL"):
        TypeAdapter(JsonObject).validate_python(document)


def test_json_object_accepts_the_text_backslash_u0000() -> None:
    document = {"escaped": "\\u0000", "double": "\\\\u0000"}

    assert TypeAdapter(JsonObject).validate_python(document) == document


def test_tags_are_stripped_and_deduplicated_in_order() -> None:
    assert TypeAdapter(Tags).validate_python([" api ", "db", "api"]) == ["api", "db"]


@pytest.mark.parametrize("bad", [[""], ["x" * 101], ["a\x00"], ["t"] * 101, "api"])
def test_tags_reject_empty_long_nul_too_many_or_a_bare_string(bad: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Tags).validate_python(bad)


def test_commit_sha_accepts_7_to_40_hex_digits_and_lowercases_them() -> None:
    assert TypeAdapter(CommitSha).validate_python(" ABCDEF1 ") == "abcdef1"
    assert TypeAdapter(CommitSha).validate_python("a" * 40) == "a" * 40


@pytest.mark.parametrize("bad", ["abc123", "a" * 41, "xyz1234", "abc 1234"])
def test_commit_sha_rejects_short_long_or_non_hex_values(bad: str) -> None:
    with pytest.raises(ValidationError, match="7 to 40 hexadecimal"):
        TypeAdapter(CommitSha).validate_python(bad)


def test_update_changes_contain_only_the_fields_set() -> None:
    update = ProjectUpdate(description=None, metadata={"k": 1}, expected_version=3)

    assert update.changes() == {"description": None, "metadata_": {"k": 1}}
    assert update.expected_version == 3


def test_update_rejects_null_for_a_column_that_cannot_be_null() -> None:
    with pytest.raises(ValidationError, match="name cannot be null") as caught:
        ProjectUpdate(name=None)

    assert error_types(caught.value) == {"null_not_allowed"}


def test_page_holds_typed_items_and_paging_facts() -> None:
    page = Page[int](items=[1, 2], total=10, next_cursor="abc", limit=2, offset=4)

    assert page.items == [1, 2]
    assert page.model_dump() == {
        "items": [1, 2],
        "total": 10,
        "next_cursor": "abc",
        "limit": 2,
        "offset": 4,
    }


def test_page_validates_its_items() -> None:
    with pytest.raises(ValidationError):
        Page[ProjectRead](items=[{"name": "no id"}], limit=10)


def test_page_rejects_negative_limits_and_is_frozen() -> None:
    with pytest.raises(ValidationError):
        Page[int](items=[], limit=-1)
    page = Page[int](items=[], limit=1)

    with pytest.raises(ValidationError):
        page.limit = 5  # type: ignore[misc]


def test_the_old_spelling_utc_datetime_still_works_with_a_deprecation_warning() -> None:
    import project_architect_db.schemas as schemas
    from project_architect_db.schemas import common

    for module in (schemas, common):
        with pytest.warns(DeprecationWarning, match=r"UtcDatetime is deprecated: use UtcDateTime"):
            old = module.UtcDatetime
        assert old is UtcDateTime
    assert "UtcDatetime" not in schemas.__all__


@pytest.mark.parametrize("name", ["UtcDatetimes", "utcdatetime", "UTCDateTime"])
def test_an_unknown_schema_name_raises_attribute_error(name: str) -> None:
    import project_architect_db.schemas as schemas
    from project_architect_db.schemas import common

    for module in (schemas, common):
        with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
            getattr(module, name)


def test_the_deprecation_warning_points_at_the_callers_line() -> None:
    from project_architect_db.schemas import common

    with pytest.warns(DeprecationWarning, match="UtcDateTime") as caught:
        common.UtcDatetime  # noqa: B018
    assert [Path(item.filename).name for item in caught] == [Path(__file__).name]
