"""``without_uuid_cast``: the point SQL a Python ``UUID`` key runs with (no ``::UUID`` cast)."""

from __future__ import annotations

from project_architect_db.core.point_select import without_uuid_cast

_SQL = "SELECT projects.id FROM projects WHERE projects.id = $1::UUID"


def test_a_trailing_uuid_cast_is_dropped() -> None:
    assert (
        without_uuid_cast(_SQL, None) == "SELECT projects.id FROM projects WHERE projects.id = $1"
    )


def test_a_key_with_a_bind_processor_keeps_its_cast() -> None:
    assert without_uuid_cast(_SQL, str) is None


def test_sql_without_a_trailing_cast_is_left_alone() -> None:
    assert without_uuid_cast("SELECT 1 FROM projects WHERE slug = $1", None) is None
    assert without_uuid_cast("SELECT $1::UUID AS id LIMIT 1", None) is None
