"""What one dataset's generation shares: seeds, random streams, and the projects' columns."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, TypeVar

import numpy as np

from project_architect_db.datagen import _text as text
from project_architect_db.datagen._draws import _US_PER_DAY, Array, _to_us
from project_architect_db.datagen._schema import TABLE_NAMES

RECENT_DAYS: Final = 14
"""The newest conversation, build and deployment of a live project are this recent."""

T = TypeVar("T")

LIVE_STATUSES: Final = ("active", "draft", "paused")
"""Project statuses whose work is still going on (completed and archived projects are quiet)."""


class _Shared:
    """What the batches of one dataset share: its whole size, the slugs taken, the pools.

    A batch is a block of projects with all their children (``generate_batches``); only
    this object lives from one batch to the next, so memory follows the batch, not the
    dataset (plus about 100 bytes per project for the slugs, which must stay unique).
    """

    def __init__(self, sizes: dict[str, Any]) -> None:
        projects = sizes["projects"]
        conversations = projects * sizes["conversations_per_project"]
        self.projects: int = projects
        self.messages: int = conversations * sizes["messages_per_conversation"]
        self.documents: int = projects * sizes["documents_per_project"]
        self.taken: set[str] = set()
        self.pools: dict[str, Any] = {}


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

    def __init__(
        self,
        seed: int,
        now: datetime,
        sizes: dict[str, Any],
        batch: int = 0,
        shared: _Shared | None = None,
    ) -> None:
        self.seed = seed
        self.now = now
        self.now_us = _to_us(now)
        self.sizes = sizes
        self.shared = _Shared(sizes) if shared is None else shared
        # Batch 0 draws exactly what a whole dataset drew before batches existed; every later
        # batch has streams of its own, so each batch depends only on the seed and its index.
        self._prefix = f"{seed}:" if batch == 0 else f"{seed}:{batch}:"
        tables = len(TABLE_NAMES)
        streams = np.random.SeedSequence(seed if batch == 0 else [seed, batch]).spawn(tables + 2)
        self.gen = {
            name: np.random.default_rng(stream)
            for name, stream in zip(TABLE_NAMES, streams, strict=False)
        }
        self.id_gen = np.random.default_rng(streams[tables])
        # Its own stream, so the draws that keep live projects busy lately leave every other
        # column as it was.
        self.recent_gen = np.random.default_rng(streams[tables + 1])

    def rng(self, purpose: str) -> random.Random:
        """This batch's stream for ``purpose``."""
        return random.Random(f"{self._prefix}{purpose}")

    def shared_rng(self, purpose: str) -> random.Random:
        """The dataset's stream for ``purpose``: for pools every batch draws from."""
        return random.Random(f"{self.seed}:{purpose}")

    def pooled(self, key: str, make: Callable[[], T]) -> T:
        """``make()``, made once per dataset and kept for the following batches."""
        if key not in self.shared.pools:
            self.shared.pools[key] = make()
        value: T = self.shared.pools[key]
        return value

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
