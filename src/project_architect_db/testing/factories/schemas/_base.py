"""The base of the schema factories: typed ``build`` methods and seeded draws."""

# factory-boy's nested ``Meta`` / ``Params`` classes are configuration, not API to document.

from __future__ import annotations

import math
from typing import Any, Generic, TypeVar, cast

import factory as _factory_boy
from pydantic import BaseModel

from project_architect_db.datagen import _text as text
from project_architect_db.testing.factories.seeding import STATE

# factory-boy ships py.typed but leaves its API unannotated; use it through Any and give the
# factories typed build methods instead.
fb: Any = _factory_boy

SchemaT = TypeVar("SchemaT", bound=BaseModel)


class SchemaFactory(fb.Factory, Generic[SchemaT]):  # type: ignore[misc]  # untyped base
    """Base of the schema factories: factory-boy's ``Factory`` with typed build methods.

    Pydantic schemas are plain values, so ``create`` is ``build`` (nothing is saved; save the
    result through a repository: ``await db.projects.create(ProjectCreateFactory.build())``).
    """

    class Meta:
        abstract = True

    @classmethod
    def build(cls, **kwargs: Any) -> SchemaT:
        """Build one validated schema object; keyword arguments override fields."""
        return cast(SchemaT, super().build(**kwargs))

    @classmethod
    def build_batch(cls, size: int, **kwargs: Any) -> list[SchemaT]:
        """Build ``size`` objects with the same overrides."""
        return cast("list[SchemaT]", super().build_batch(size, **kwargs))

    @classmethod
    def create(cls, **kwargs: Any) -> SchemaT:
        """Same as :meth:`build`: a schema object is not persisted by a factory."""
        return cast(SchemaT, super().create(**kwargs))

    @classmethod
    def create_batch(cls, size: int, **kwargs: Any) -> list[SchemaT]:
        """Same as :meth:`build_batch`."""
        return cast("list[SchemaT]", super().create_batch(size, **kwargs))


def _pick(items: tuple[str, ...], weights: tuple[float, ...]) -> str:
    return text.weighted(STATE.random, items, weights)


def _lognormal_seconds(median: float, sigma: float, cap: float) -> float:
    return min(cap, STATE.random.lognormvariate(math.log(median), sigma))
