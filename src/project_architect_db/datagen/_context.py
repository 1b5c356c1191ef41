"""What one dataset's generation shares: seeds, random streams, and the projects' columns."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import numpy as np

from project_architect_db.datagen import _text as text
from project_architect_db.datagen._draws import Array, _to_us
from project_architect_db.datagen._schema import TABLE_NAMES


class _Context:
    """The state of one dataset's generation, shared by the generators of every table.

    The projects are generated first; their columns (``stacks``, ``project_*``) are then read
    by the conversations, documents and repositories that belong to them.
    """

    stacks: list[text.Stack]
    project_count: int
    project_stack: Array
    project_created: Array
    project_ids: Array
    project_names: list[str]
    project_slugs: list[str]
    project_phase: Array

    def __init__(self, seed: int, now: datetime, sizes: dict[str, Any]) -> None:
        self.seed = seed
        self.now = now
        self.now_us = _to_us(now)
        self.sizes = sizes
        streams = np.random.SeedSequence(seed).spawn(len(TABLE_NAMES) + 1)
        self.gen = {
            name: np.random.default_rng(stream)
            for name, stream in zip(TABLE_NAMES, streams, strict=False)
        }
        self.id_gen = np.random.default_rng(streams[-1])

    def rng(self, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}:{purpose}")
