"""Projects, and the technology stacks their conversations, documents and repositories share."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from project_architect_db.datagen import _text as text
from project_architect_db.datagen import _vocabulary as vocab
from project_architect_db.datagen._columns import _json, _table
from project_architect_db.datagen._context import LIVE_STATUSES, _Context
from project_architect_db.datagen._draws import _US_PER_DAY, _assign_ids
from project_architect_db.schemas.common import slugify


class _Projects(_Context):
    """Generates the projects: the first table, every other row belongs to one of them."""

    def _stacks(self) -> None:
        # A pool of technology stacks shared by projects, so message pools can talk about the
        # stack of the project they end up in.
        def make() -> list[text.Stack]:
            rng = self.shared_rng("stacks")
            count = max(1, min(64, self.shared.projects))
            return [text.random_stack(rng) for _ in range(count)]

        self.stacks = self.pooled("stacks", make)

    def _projects(self, count: int) -> pa.Table:
        gen, rng = self.gen["projects"], self.rng("projects")
        self.project_count = count
        self.project_stack = gen.integers(0, len(self.stacks), size=count)
        created = self.now_us - gen.integers(7 * _US_PER_DAY, 730 * _US_PER_DAY, size=count)
        touched = gen.random(count) < 0.7
        updated = created + (touched * gen.random(count) * (self.now_us - created)).astype(np.int64)
        version = np.where(touched, gen.integers(2, 9, size=count), 1).astype(np.int32)
        owners = [f"usr_{rng.getrandbits(64):016x}" for _ in range(max(1, count // 3))]
        owner_index = gen.integers(0, len(owners), size=count)

        names: list[str] = []
        slugs: list[str] = []
        taken = self.shared.taken  # slugs stay unique across batches
        columns: dict[str, Any] = {
            name: []
            for name in (
                "name", "slug", "description", "status", "phase", "tags", "tech_stack",
                "architecture", "metadata",
            )
        }  # fmt: skip
        phase_index: list[int] = []
        live: list[bool] = []
        for i in range(count):
            base = text.project_name(rng)
            name, number = base, 1
            while slugify(name) in taken:
                number += 1
                name = f"{base} {number}"
            slug = slugify(name)
            taken.add(slug)
            stack = self.stacks[self.project_stack[i]]
            status = text.project_status(rng)
            phase = text.project_phase(rng, status)
            names.append(name)
            slugs.append(slug)
            phase_index.append(vocab.PHASES.index(phase))
            live.append(status in LIVE_STATUSES)
            columns["name"].append(name)
            columns["slug"].append(slug)
            columns["description"].append(text.project_description(rng, name, stack))
            columns["status"].append(status)
            columns["phase"].append(phase)
            columns["tags"].append(text.project_tags(rng))
            columns["tech_stack"].append(stack.tech_stack())
            columns["architecture"].append(_json(text.architecture(rng, slug, stack)))
            columns["metadata"].append(_json(text.project_metadata(rng)))
        ids = _assign_ids(self.id_gen, created)
        self.project_ids = ids.halves
        self.project_created = created
        self.project_names = names
        self.project_slugs = slugs
        self.project_phase = np.asarray(phase_index, dtype=np.int64)
        self.project_live = np.asarray(live, dtype=bool).reshape(count)
        if count and not self.project_live.any():
            # Every dataset has recent activity: the newest project is still being worked on.
            self.project_live[int(np.argmax(created))] = True
        columns.update(
            id=ids.halves,
            owner_id=[owners[i] for i in owner_index.tolist()],
            created_at=created,
            updated_at=updated,
            version=version,
        )
        return _table("projects", columns, ids.order)
