"""``_change_log``: a lake unit's changes as one commit text, and back, record for record."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from project_architect_db.repositories._arrow import ids_of, new_id_array
from project_architect_db.repositories._change_log import FORMAT, BulkChanges, decode, encode
from project_architect_db.repositories.changes import Change, ChangeKind

AT = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)


def fields(change: Change) -> tuple[object, ...]:
    return (
        change.aggregate,
        change.id,
        change.kind,
        change.version,
        change.project_id,
        dict(change.cascaded),
        dict(change.cascaded_ids),
    )


def round_trip(*makes: object) -> list[Change]:
    text = encode(makes)  # type: ignore[arg-type]
    assert text is not None and text.startswith(FORMAT)
    return decode(text, AT)


def test_every_field_of_every_change_comes_back_in_order() -> None:
    project, other = uuid.uuid4(), uuid.uuid4()
    child = uuid.uuid4()
    changes = [
        Change("projects", project, ChangeKind.CREATED, 1, project),
        Change("conversations", uuid.uuid4(), ChangeKind.UPDATED, 3, project),
        Change("conversations", uuid.uuid4(), ChangeKind.UPDATED, 7, other),
        Change("messages", uuid.uuid4(), ChangeKind.CREATED, None, project),
        Change("messages", uuid.uuid4(), ChangeKind.CREATED, None, None),
        Change(
            "projects",
            other,
            ChangeKind.DELETED,
            2,
            other,
            cascaded={"conversations": 1, "messages": 3},
            cascaded_ids={"conversations": (child,)},
        ),
        Change("projects", uuid.uuid4(), ChangeKind.DELETED, 1, None),
    ]
    back = round_trip(lambda: changes)
    assert [fields(change) for change in back] == [fields(change) for change in changes]
    assert {change.committed_at for change in back} == {AT}


def test_a_bulk_is_one_run_from_its_arrow_ids_with_its_projects_column() -> None:
    column, halves = new_id_array(5)
    project = uuid.uuid4()
    table = pa.table({"id": column, "project_id": pa.array([project] * 5, pa.uuid())})
    ids = ids_of(halves)
    made = BulkChanges("conversations", 1, lambda: table, lambda: ids, "project_id")
    text = encode([made])
    assert text is not None and len(json.loads(text[len(FORMAT) :])) == 1
    back = decode(text, AT)
    assert [fields(change) for change in back] == [fields(change) for change in made()]
    assert [change.id for change in back] == ids
    assert {change.project_id for change in back} == {project}


def test_a_bulk_of_projects_is_its_own_project_and_a_sliced_chunked_column_reads_right() -> None:
    first, _ = new_id_array(4)
    second, halves = new_id_array(6)
    chunked = pa.chunked_array([first.slice(1), second.slice(2, 3)])
    table = pa.table({"id": chunked})
    expected = [*first.slice(1).to_pylist(), *second.slice(2, 3).to_pylist()]
    made = BulkChanges("projects", 1, lambda: table, lambda: expected, None)
    back = round_trip(made)
    assert [change.id for change in back] == expected
    assert [change.project_id for change in back] == expected
    assert len(halves) == 6


def test_a_unit_without_changes_writes_no_text() -> None:
    assert encode([]) is None
    assert encode([list, lambda: ()]) is None


def test_a_bulk_whose_ids_are_not_plain_uuids_falls_back_to_its_records() -> None:
    given = [uuid.uuid4(), uuid.uuid4()]
    as_text = pa.table({"id": pa.array([str(i) for i in given])})
    made = BulkChanges("projects", None, lambda: as_text, lambda: given, None)
    assert made.run() is None
    assert [change.id for change in round_trip(made)] == given


def test_a_bulk_with_a_missing_project_falls_back_to_its_records() -> None:
    column, halves = new_id_array(2)
    projects = pa.array([uuid.uuid4(), None], pa.uuid())
    table = pa.table({"id": column, "project_id": projects})
    made = BulkChanges("documents", 1, lambda: table, lambda: ids_of(halves), "project_id")
    assert made.run() is None
    back = round_trip(made)
    assert [change.project_id for change in back] == projects.to_pylist()


def test_text_of_another_format_is_refused() -> None:
    with pytest.raises(json.JSONDecodeError):
        decode(FORMAT + "not json", AT)
