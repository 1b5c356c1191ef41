"""The Arrow fast path: exact table schemas, determinism, sizes, and unhappy paths."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from project_architect_db.datagen import (
    TABLE_NAMES,
    Dataset,
    arrow_schema,
    generate_dataset,
    start_of_day,
)
from project_architect_db.models import Base

# Data pinned to one instant, so these tests never see a day change.
REFERENCE_NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)

SMALL: dict[str, Any] = {
    "projects": 6,
    "conversations_per_project": 3,
    "messages_per_conversation": 9,
    "documents_per_project": 4,
    "versions_per_document": 2,
    "repositories_per_project": 2,
    "builds_per_repository": 7,
    "deployments_per_repository": 5,
    "attachment_rate": 0.3,
}
SIZE_NAMES = [name for name in SMALL if name != "attachment_rate"]
PINNED: dict[str, Any] = {**SMALL, "now": REFERENCE_NOW}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate_dataset(11, **PINNED)


def test_every_table_has_the_database_columns_and_types(dataset: Dataset) -> None:
    assert tuple(dataset.tables) == TABLE_NAMES
    assert set(TABLE_NAMES) == set(Base.metadata.tables)
    for name, table in dataset.tables.items():
        assert table.schema.equals(arrow_schema(name)), name
        assert table.column_names == [c.name for c in Base.metadata.tables[name].columns]


def test_arrow_types_are_the_ones_duckdb_scans_without_shifting() -> None:
    messages = arrow_schema("messages")
    assert messages.field("id").type == pa.uuid()
    assert messages.field("created_at").type == pa.timestamp("us")  # naive, holding UTC
    assert messages.field("metadata").type == pa.string()
    assert messages.field("sequence").type == pa.int32()
    assert arrow_schema("projects").field("tags").type == pa.list_(pa.string())
    assert arrow_schema("attachments").field("size_bytes").type == pa.int64()
    assert arrow_schema("deployments").field("caused_incident").type == pa.bool_()
    assert arrow_schema("builds").field("duration_seconds").type == pa.float64()
    assert not messages.field("content").nullable
    assert arrow_schema("conversations").field("last_message_at").nullable
    with pytest.raises(KeyError):
        arrow_schema("no_such_table")


def test_row_counts_follow_the_sizes(dataset: Dataset) -> None:
    counts = dataset.row_counts()
    projects = SMALL["projects"]
    conversations = projects * SMALL["conversations_per_project"]
    documents = projects * SMALL["documents_per_project"]
    repositories = projects * SMALL["repositories_per_project"]
    assert counts["projects"] == projects
    assert counts["conversations"] == conversations
    assert counts["messages"] == conversations * SMALL["messages_per_conversation"]
    assert counts["documents"] == documents
    assert counts["document_versions"] == documents * SMALL["versions_per_document"]
    assert counts["repositories"] == repositories
    assert counts["builds"] == repositories * SMALL["builds_per_repository"]
    assert counts["deployments"] == repositories * SMALL["deployments_per_repository"]
    assert 0 < counts["attachments"] < counts["messages"]


def test_rows_are_stored_in_created_at_order(dataset: Dataset) -> None:
    for name, table in dataset.tables.items():
        created = table["created_at"].to_pylist()
        assert created == sorted(created), name


def test_the_same_seed_gives_identical_tables(dataset: Dataset) -> None:
    again = generate_dataset(11, **PINNED)
    for name, table in dataset.tables.items():
        assert table.equals(again.tables[name], check_metadata=True), name
    assert dataset.equals(again)


def test_a_different_seed_gives_different_tables(dataset: Dataset) -> None:
    other = generate_dataset(12, **PINNED)
    assert other.row_counts()["messages"] == dataset.row_counts()["messages"]
    for name in TABLE_NAMES:
        if name != "attachments":  # counts may differ; the rest must not be equal
            assert not dataset.tables[name].equals(other.tables[name]), name
    assert not dataset.equals(other)


def test_now_anchors_every_timestamp() -> None:
    later = REFERENCE_NOW + timedelta(days=100)
    shifted = generate_dataset(11, **SMALL, now=later)
    base = generate_dataset(11, **PINNED)
    assert shifted.now == later
    for name in TABLE_NAMES:
        for field in arrow_schema(name):
            if pa.types.is_timestamp(field.type):
                latest = pc.max(shifted.tables[name][field.name]).as_py()
                assert latest is None or latest <= later.replace(tzinfo=None)
    delta = pc.subtract(
        pc.max(shifted.messages["created_at"]), pc.max(base.messages["created_at"])
    ).as_py()
    assert delta == timedelta(days=100)


def test_the_output_does_not_depend_on_the_process() -> None:
    # Two interpreters with different hash seeds (and clocks) produce the same bytes.
    code = (
        "import hashlib, pyarrow as pa\n"
        "from datetime import UTC, datetime\n"
        "from project_architect_db.datagen import generate_dataset\n"
        "d = generate_dataset(5, projects=3, messages_per_conversation=6,\n"
        "                     now=datetime(2025, 6, 30, tzinfo=UTC))\n"
        "h = hashlib.sha256()\n"
        "for t in d.tables.values():\n"
        "    sink = pa.BufferOutputStream()\n"
        "    with pa.ipc.new_stream(sink, t.schema) as w: w.write_table(t)\n"
        "    h.update(sink.getvalue().to_pybytes())\n"
        "print(h.hexdigest())\n"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


@pytest.mark.parametrize("size", SIZE_NAMES)
def test_a_zero_size_gives_empty_tables_with_the_right_schema(size: str) -> None:
    data = generate_dataset(3, **{**SMALL, size: 0})
    counts = data.row_counts()
    emptied = {
        "projects": set(TABLE_NAMES),
        "conversations_per_project": {"conversations", "messages", "attachments"},
        "messages_per_conversation": {"messages", "attachments"},
        "documents_per_project": {"documents", "document_versions"},
        "versions_per_document": {"document_versions"},
        "repositories_per_project": {"repositories", "builds", "deployments"},
        "builds_per_repository": {"builds"},
        "deployments_per_repository": {"deployments"},
    }[size]
    for name, table in data.tables.items():
        assert table.schema.equals(arrow_schema(name))
        assert (counts[name] == 0) == (name in emptied), name
    if size == "messages_per_conversation":
        assert data.conversations["last_message_at"].null_count == counts["conversations"]
        assert pc.max(data.conversations["message_count"]).as_py() == 0
    if size == "versions_per_document":
        assert pc.max(data.documents["version"]).as_py() == 1
    if size == "builds_per_repository":
        assert data.deployments["build_id"].null_count == counts["deployments"]


def test_everything_zero() -> None:
    zero: dict[str, Any] = dict.fromkeys(SIZE_NAMES, 0)
    data = generate_dataset(3, **zero, attachment_rate=0.0)
    assert all(count == 0 for count in data.row_counts().values())


@pytest.mark.parametrize("size", SIZE_NAMES)
def test_a_negative_size_is_refused_clearly(size: str) -> None:
    with pytest.raises(ValueError, match=rf"^{size} must be >= 0, got -1$"):
        generate_dataset(1, **{**SMALL, size: -1})


def test_other_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="attachment_rate must be between 0 and 1"):
        generate_dataset(1, attachment_rate=1.5)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        generate_dataset(1, now=datetime(2025, 1, 1))
    with pytest.raises(TypeError, match="projects must be an int"):
        generate_dataset(1, projects=2.5)  # type: ignore[arg-type]
    assert generate_dataset(1, projects=1, now=datetime(2025, 1, 1, tzinfo=UTC)).now.tzinfo


def test_hundred_thousand_messages_are_generated_in_seconds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.perf_counter()
    cpu = time.process_time()
    data = generate_dataset(
        2025, projects=500, conversations_per_project=4, messages_per_conversation=50
    )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert data.messages.num_rows == 100_000
    with capsys.disabled():
        print(
            f"\n[factories] 100k messages (+{sum(data.row_counts().values()) - 100_000} rows of "
            f"other tables) generated in {wall:.2f} s wall, {cpu:.2f} s CPU"
        )
    assert wall < 120  # a sanity bound only: shared CI machines vary a lot


def test_by_default_data_ends_at_the_start_of_today_utc() -> None:
    before = start_of_day()
    data = generate_dataset(3, projects=2)
    after = start_of_day()
    assert data.now in {before, after}  # the day may change between the two reads
    assert data.now.time() == datetime.min.time()
    assert data.now.tzinfo is UTC
    latest = pc.max(data.messages["created_at"]).as_py()
    assert latest <= data.now.replace(tzinfo=None)


def test_start_of_day_is_midnight_utc_of_the_given_day() -> None:
    assert start_of_day(date(2025, 6, 30)) == datetime(2025, 6, 30, tzinfo=UTC)
    assert start_of_day(date(2024, 2, 29)).isoformat() == "2024-02-29T00:00:00+00:00"


def test_start_of_day_rejects_a_datetime() -> None:
    with pytest.raises(TypeError, match="not a datetime"):
        start_of_day(datetime(2025, 6, 30, 15, tzinfo=UTC))  # type: ignore[arg-type]


def test_start_of_day_rejects_a_string() -> None:
    with pytest.raises(TypeError, match=r"datetime\.date"):
        start_of_day("2025-06-30")  # type: ignore[arg-type]
