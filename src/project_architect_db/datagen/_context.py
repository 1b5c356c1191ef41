"""What one dataset's generation shares: seeds, random streams, and the projects' columns."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any, Final

import numpy as np

from project_architect_db.datagen import _text as text
from project_architect_db.datagen._draws import _US_PER_DAY, Array, _to_us
from project_architect_db.datagen._schema import TABLE_NAMES

RECENT_DAYS: Final = 14
"""The newest conversation, build and deployment of a live project are this recent."""

LIVE_STATUSES: Final = ("active", "draft", "paused")
"""Project statuses whose work is still going on (completed and archived projects are quiet)."""


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
    project_live: Array

    def __init__(self, seed: int, now: datetime, sizes: dict[str, Any]) -> None:
        self.seed = seed
        self.now = now
        self.now_us = _to_us(now)
        self.sizes = sizes
        tables = len(TABLE_NAMES)
        streams = np.random.SeedSequence(seed).spawn(tables + 2)
        self.gen = {
            name: np.random.default_rng(stream)
            for name, stream in zip(TABLE_NAMES, streams, strict=False)
        }
        self.id_gen = np.random.default_rng(streams[tables])
        # Its own stream, so the draws that keep live projects busy lately leave every other
        # column as it was.
        self.recent_gen = np.random.default_rng(streams[tables + 1])

    def rng(self, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}:{purpose}")

    def recent_starts(self, earliest: Array, latest: Array) -> Array:
        """One instant per element in ``[earliest, latest]``, within the last :data:`RECENT_DAYS`.

        Used for the newest conversation, build and deployment of every live project, so "the
        last 30 days" of a freshly generated dataset has rows. Where ``[earliest, latest]``
        ends before that window, the instant is ``latest``.
        """
        low = np.minimum(np.maximum(earliest, self.now_us - RECENT_DAYS * _US_PER_DAY), latest)
        fraction = self.recent_gen.random(len(earliest))
        starts: Array = low + (fraction * (latest - low)).astype(np.int64)
        return starts
