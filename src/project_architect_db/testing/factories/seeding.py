"""The seeded state behind the schema factories, and :func:`seed_factories` to reset it.

Nothing the factories make depends on the wall clock, ``uuid4`` or the global ``random``
module: instants are relative to a fixed reference (:data:`REFERENCE_NOW` unless another is
given), ids are :class:`~project_architect_db.datagen.ids.SeededUUID7` values, and
every random draw comes from the :class:`FactoryState`'s own ``random.Random`` and ``Faker``.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import factory.random as _factory_random_module
from faker import Faker

from project_architect_db.datagen._clock import check_aware
from project_architect_db.datagen.ids import SeededUUID7

__all__ = ["REFERENCE_NOW", "STATE", "FactoryState", "seed_factories"]

REFERENCE_NOW: Final = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
"""The instant the schema factories treat as "now" unless told otherwise (a constant, not the
clock); pass it to ``generate_dataset(now=...)`` for Arrow data that never changes."""

# factory-boy ships py.typed but leaves its functions unannotated; call it through Any.
_factory_random: Any = _factory_random_module

# Factories whose ``factory.Sequence`` counters restart on every seed_factories() call.
_SEQUENCED: list[Any] = []


class FactoryState:
    """The random sources and the reference instant every schema factory draws from.

    Attributes:
        seed: The seed last applied.
        now: The reference instant: generated timestamps are at or before it.
        random: The ``random.Random`` behind every choice the factories make.
        faker: A ``Faker`` seeded with the same seed (person and company names).
        ids: The source of ids (time-ordered along a synthetic clock ending before ``now``).
    """

    def __init__(self, seed: int = 0, now: datetime = REFERENCE_NOW) -> None:
        self.faker = Faker("en_US")
        self.random = random.Random()
        self.ids = SeededUUID7(random.Random())
        self.reset(seed, now)

    def reset(self, seed: int, now: datetime = REFERENCE_NOW) -> None:
        """Restart every source from ``seed`` with ``now`` as the reference instant."""
        self.seed = seed
        self.now = check_aware(now)
        self.random.seed(seed)
        self.faker.seed_instance(seed)
        self.ids.seed(seed ^ 0x5EED_1D5)
        self._clock = self.now - timedelta(days=30)
        self._taken: dict[str, set[str]] = {}

    def new_id(self) -> uuid.UUID:
        """A fresh id; successive ids are time-ordered (a synthetic clock ticks a little each)."""
        self._clock += timedelta(milliseconds=self.random.randint(1, 500))
        return self.ids.at(self._clock)

    def id_at(self, instant: datetime) -> uuid.UUID:
        """A fresh id carrying ``instant``."""
        return self.ids.at(instant)

    def before_now(self, low: timedelta, high: timedelta) -> datetime:
        """An instant between ``high`` and ``low`` before :attr:`now`, at microsecond precision."""
        span = self.random.uniform(low.total_seconds(), high.total_seconds())
        return self.now - timedelta(microseconds=round(span * 1_000_000))

    def unique(self, namespace: str, candidate: str, *, separator: str = " ") -> str:
        """``candidate``, or it plus ``separator`` and a number, not yet taken in ``namespace``.

        Uniqueness holds until the next :func:`seed_factories` call.
        """
        taken = self._taken.setdefault(namespace, set())
        value, number = candidate, 1
        while value.lower() in taken:
            number += 1
            value = f"{candidate}{separator}{number}"
        taken.add(value.lower())
        return value


STATE: Final = FactoryState()
"""The state every schema factory reads; reset it with :func:`seed_factories`."""


def register_sequenced(factory_class: Any) -> Any:
    """Class decorator: restart ``factory_class``'s sequence counter in :func:`seed_factories`."""
    _SEQUENCED.append(factory_class)
    return factory_class


def seed_factories(seed: int, *, now: datetime = REFERENCE_NOW) -> None:
    """Make the factories' output a function of ``seed`` (and ``now``) alone.

    Seeds factory-boy's random generator (``factory.fuzzy`` and the ``Faker`` behind
    ``factory.Faker`` declarations), this package's ``random.Random`` and ``Faker``, the id
    source, restarts every sequence counter and forgets the names handed out so far.

    Args:
        seed: Any integer; the same seed gives the same objects in the same order.
        now: The reference instant timestamps are generated before (timezone-aware).

    Raises:
        ValueError: If ``now`` is naive.

    Examples:
        >>> from project_architect_db.testing.factories import ProjectCreateFactory
        >>> seed_factories(7)
        >>> first = ProjectCreateFactory.build()
        >>> seed_factories(7)
        >>> ProjectCreateFactory.build() == first
        True
    """
    now = check_aware(now)
    _factory_random.reseed_random(seed)
    STATE.reset(seed, now)
    for factory_class in _SEQUENCED:
        factory_class.reset_sequence(0)
