"""The analytics builder's state: structure and values, copied on every step."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from project_architect_db.queries.analytics._validate import Resolver
from project_architect_db.queries.analytics.expressions import AggregateLike, Expr, Window
from project_architect_db.queries.filters import Filter

__all__ = ["BuilderState"]


class BuilderState:
    """The builder's structure and values (copied, never mutated after a step returns)."""

    __slots__ = (
        "aggregates",
        "groups",
        "having",
        "joins",
        "limit",
        "model",
        "order",
        "resolver",
        "selects",
        "shape",
        "where",
        "windows",
    )

    def __init__(self, model: type[Any]) -> None:
        self.model = model
        self.joins: tuple[tuple[str, ...], ...] = ()
        self.where: tuple[tuple[str | None, Filter], ...] = ()
        self.selects: tuple[tuple[str, Expr], ...] = ()
        self.groups: tuple[tuple[str, Expr], ...] = ()
        self.aggregates: tuple[tuple[str, AggregateLike], ...] = ()
        self.having: tuple[Filter, ...] = ()
        self.windows: tuple[tuple[str, Window], ...] = ()
        self.order: tuple[str, ...] = ()
        self.limit: int | None = None
        self.shape: Hashable = None
        self.resolver: Resolver | None = None

    def copy(self, **changes: Any) -> BuilderState:
        # Spelled out: a generic getattr/setattr loop or dataclasses.replace() measured 3-4x
        # slower, and builder steps are on the hot path (<= 0.3 ms per query in all).
        clone = object.__new__(BuilderState)
        clone.model = self.model
        clone.joins = changes.get("joins", self.joins)
        clone.where = changes.get("where", self.where)
        clone.selects = changes.get("selects", self.selects)
        clone.groups = changes.get("groups", self.groups)
        clone.aggregates = changes.get("aggregates", self.aggregates)
        clone.having = changes.get("having", self.having)
        clone.windows = changes.get("windows", self.windows)
        clone.order = changes.get("order", self.order)
        clone.limit = changes.get("limit", self.limit)
        clone.shape = None
        clone.resolver = None if "joins" in changes else self.resolver
        return clone
