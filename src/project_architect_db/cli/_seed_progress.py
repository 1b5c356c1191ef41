"""The seed-progress marker: what a seed committed in batches has done, kept in the database.

``seed`` commits each batch on its own (a single COMMIT of 19M rows needs memory that grows
with the whole load: at the ``scale`` preset it failed with "failed to pin block" under a 2 GB
``memory_limit``). So that a stopped seed is never mistaken for a complete one, every batch's
transaction also writes the marker table :data:`TABLE` (one row: the seed's arguments and how
many batches are in), and the last batch's transaction drops it. The marker is committed
together with the rows it counts, whatever stops the seed (Ctrl-C, an error, a crash, a power
cut): while it exists the file holds exactly its first ``done`` batches. ``seed`` with the same
arguments resumes after them; other arguments are refused with the command that finishes the
seed; ``db-reset`` empties the file and drops the marker.

A seed of one batch (every preset but ``xlarge`` and ``scale``) writes and drops the marker in
its one transaction: it is all or nothing, as before.

The table is not one of the models' (migrations leave unknown tables alone, see
``migration/env.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

__all__ = ["TABLE", "SeedPlan", "clear_plan", "read_plan", "write_plan"]

TABLE: Final = "architect_seed_progress"
"""The marker table's name."""


@dataclass(frozen=True, slots=True)
class SeedPlan:
    """A seed in batches: its arguments, and how far it has committed.

    Attributes:
        seed: The ``--seed``.
        preset: The ``--preset`` name.
        sizes: The generator's size arguments.
        now: The reference instant of the data (kept so a resume on another day makes the
            same rows).
        projects_per_batch: Projects per batch.
        batches: How many batches the seed has.
        done: How many batches are committed.
        rows: How many rows those batches hold.
    """

    seed: int
    preset: str
    sizes: dict[str, Any]
    now: datetime
    projects_per_batch: int
    batches: int
    done: int = 0
    rows: int = 0

    def same_seed(self, other: SeedPlan) -> bool:
        """Whether ``other`` generates the same rows (the same seed, preset and sizes)."""
        return (self.seed, self.preset, self.sizes) == (other.seed, other.preset, other.sizes)

    def after(self, rows: int) -> SeedPlan:
        """This plan once one more batch, of ``rows`` rows, is committed."""
        return replace(self, done=self.done + 1, rows=self.rows + rows)

    @property
    def finished(self) -> bool:
        """Whether every batch is committed."""
        return self.done >= self.batches

    def describe(self) -> str:
        """``seed 42 (preset scale): 3 of 40 batches, 1,500,000 rows``."""
        return (
            f"seed {self.seed} (preset {self.preset}): {self.done} of {self.batches} batches, "
            f"{self.rows:,} rows"
        )


def read_plan(duck: Any) -> SeedPlan | None:
    """The marker's plan, or ``None`` when there is none (no seed stopped midway)."""
    found = duck.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
        [TABLE],
    ).fetchone()
    if not found[0]:
        return None
    row = duck.execute(
        f"SELECT seed, preset, sizes, now, projects_per_batch, batches, done, rows FROM {TABLE}"
    ).fetchone()
    if row is None:  # an empty marker: nothing committed by the seed that made it
        return None
    seed, preset, sizes, now, per_batch, batches, done, rows = row
    return SeedPlan(
        seed, preset, json.loads(sizes), datetime.fromisoformat(now), per_batch, batches, done, rows
    )


def write_plan(duck: Any, plan: SeedPlan) -> None:
    """Record ``plan`` (in the caller's transaction), or drop the marker once it is finished."""
    if plan.finished:
        clear_plan(duck)
        return
    duck.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (seed BIGINT, preset VARCHAR, sizes VARCHAR, "
        "now VARCHAR, projects_per_batch BIGINT, batches BIGINT, done BIGINT, rows BIGINT)"
    )
    duck.execute(f"DELETE FROM {TABLE}")
    duck.execute(
        f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            plan.seed,
            plan.preset,
            json.dumps(plan.sizes, sort_keys=True),
            plan.now.isoformat(),
            plan.projects_per_batch,
            plan.batches,
            plan.done,
            plan.rows,
        ],
    )


def clear_plan(duck: Any) -> None:
    """Drop the marker (the seed is complete, or the database was reset)."""
    duck.execute(f"DROP TABLE IF EXISTS {TABLE}")
