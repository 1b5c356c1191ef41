"""``seed_database`` with a ``SeedPlan``: a commit per batch and the seed-progress marker.

The CLI's messages, resume and refusals are in ``tests/e2e/cli/test_seed_batches.py``; these
tests drive the library functions themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from project_architect_db import Database
from project_architect_db.cli._seed_progress import TABLE, SeedPlan, read_plan, write_plan
from project_architect_db.cli.seed import plan_on_file, seed_database
from project_architect_db.datagen import (
    ROWS_PER_BATCH,
    batch_count,
    default_projects_per_batch,
    generate_batches,
    rows_per_project,
)

NOW = datetime(2025, 6, 30, tzinfo=UTC)
SIZES: dict[str, Any] = {
    "projects": 5,
    "conversations_per_project": 1,
    "messages_per_conversation": 2,
}


def _plan(**changes: Any) -> SeedPlan:
    return SeedPlan(
        **{"seed": 3, "preset": "tiny", "sizes": SIZES, "now": NOW, "projects_per_batch": 2,
           "batches": 3, **changes}
    )  # fmt: skip


async def test_a_planned_seed_commits_each_batch_and_drops_the_marker_at_the_end(
    tmp_path: Path,
) -> None:
    seen: list[tuple[int, int]] = []
    async with Database.open(tmp_path / "plan.duckdb") as db:
        batches = generate_batches(3, now=NOW, projects_per_batch=2, **SIZES)
        written = await seed_database(
            db, batches, search_index=False, plan=_plan(),
            on_commit=lambda plan: seen.append((plan.done, plan.rows)),
        )  # fmt: skip
        async with db.transaction() as tx:
            assert await tx.run_native(read_plan) is None
        assert await db.projects.count() == 5
    assert [done for done, _ in seen] == [1, 2, 3]
    assert seen[-1][1] == written  # the rows counted batch by batch are every row written
    assert seen[0][1] < seen[1][1] < written


async def test_a_failing_batch_leaves_the_committed_ones_and_a_marker_counting_them(
    tmp_path: Path,
) -> None:
    def failing() -> Any:
        made = generate_batches(3, now=NOW, projects_per_batch=2, **SIZES)
        yield next(made)
        raise RuntimeError("disk full while generating")

    async with Database.open(tmp_path / "fail.duckdb") as db:
        with pytest.raises(RuntimeError, match="disk full"):
            await seed_database(db, failing(), search_index=False, plan=_plan())
        async with db.transaction() as tx:
            stopped = await tx.run_native(read_plan)
        assert await db.projects.count() == 2
    assert stopped is not None
    assert (stopped.done, stopped.batches, stopped.now, stopped.sizes) == (1, 3, NOW, SIZES)
    assert stopped.describe().startswith("seed 3 (preset tiny): 1 of 3 batches, ")
    assert not stopped.finished
    assert stopped.same_seed(_plan(done=2, rows=9))
    assert not stopped.same_seed(_plan(seed=4))
    assert not stopped.same_seed(_plan(sizes={**SIZES, "projects": 6}))


def test_an_empty_or_missing_marker_means_no_seed_stopped_midway(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "marker.duckdb")) as duck:
        assert read_plan(duck) is None  # no marker table
        write_plan(duck, _plan(done=1, rows=10))
        assert read_plan(duck) == _plan(done=1, rows=10)
        duck.execute(f"DELETE FROM {TABLE}")
        assert read_plan(duck) is None  # a marker with no row: nothing was committed
        write_plan(duck, _plan(done=3, rows=30))  # finished: the marker goes
        assert read_plan(duck) is None


def test_after_a_stop_the_file_says_what_was_committed_not_the_last_callback(
    tmp_path: Path,
) -> None:
    # a Ctrl-C between a batch's COMMIT and its on_commit callback: memory says 1, the file 2
    path = tmp_path / "stopped.duckdb"
    with duckdb.connect(str(path)) as duck:
        write_plan(duck, _plan(done=2, rows=20))
    assert plan_on_file(str(path), _plan(done=1, rows=10)) == _plan(done=2, rows=20)


def test_after_a_stop_no_marker_means_no_resume_advice(tmp_path: Path) -> None:
    path = tmp_path / "finished.duckdb"
    with duckdb.connect(str(path)) as duck:
        write_plan(duck, _plan(done=3, rows=30))  # the last batch committed: the marker goes
    assert plan_on_file(str(path), _plan(done=2, rows=20)) is None


def test_after_a_stop_an_unreadable_file_falls_back_to_what_memory_knows(
    tmp_path: Path,
) -> None:
    known = _plan(done=1, rows=10)
    assert plan_on_file(str(tmp_path / "gone.duckdb"), known) is known  # no file at all
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"not a duckdb file" * 512)
    assert plan_on_file(str(broken), known) is known


def test_batch_counts_and_the_default_batch_size() -> None:
    assert batch_count(5, 2) == 3
    assert batch_count(4, 2) == 2
    assert batch_count(0, 2) == 1  # an empty dataset is still one (empty) batch
    per_batch = default_projects_per_batch(SIZES)  # about ROWS_PER_BATCH rows a batch
    assert per_batch * rows_per_project(SIZES) <= ROWS_PER_BATCH
    assert (per_batch + 1) * rows_per_project(SIZES) > ROWS_PER_BATCH
    assert default_projects_per_batch({**SIZES, "messages_per_conversation": 10**7}) == 1


@pytest.mark.parametrize(
    ("first_batch", "error", "message"),
    [(-1, ValueError, "first_batch must be >= 0"), ("1", TypeError, "first_batch must be an int"),
     (True, TypeError, "first_batch must be an int")],
)  # fmt: skip
def test_generate_batches_refuses_a_bad_first_batch(
    first_batch: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        generate_batches(1, first_batch=first_batch, **SIZES)


def test_batches_from_a_first_batch_are_those_a_whole_run_yields_after_it() -> None:
    sizes = {**SIZES, "projects": 9, "documents_per_project": 3}
    whole = list(generate_batches(3, now=NOW, projects_per_batch=2, **sizes))
    resumed = list(generate_batches(3, now=NOW, projects_per_batch=2, first_batch=2, **sizes))
    assert len(whole) == 5
    assert len(resumed) == 3
    assert all(a.equals(b) for a, b in zip(whole[2:], resumed, strict=True))
    assert list(generate_batches(3, now=NOW, projects_per_batch=2, first_batch=5, **sizes)) == []
