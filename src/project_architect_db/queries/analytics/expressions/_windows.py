"""Window functions computed over the grouped rows: running totals, ranks, period changes."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, func

from project_architect_db.exceptions import InvalidQueryError

_WINDOW_KINDS = ("running_total", "rank", "lag_change")


@dataclass(frozen=True, slots=True)
class Window:
    """A window function over the grouped rows, referring to output names."""

    kind: str
    of: str
    order_by: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    alias: str | None = None

    def as_(self, alias: str) -> Window:
        """The same window under the output name ``alias``."""
        return replace(self, alias=alias)

    def shape(self) -> Hashable:
        """Everything: a window holds no values."""
        return ("window", self.kind, self.of, self.order_by, self.partition_by)

    def name(self) -> str:
        """The alias, or ``<kind>_<of>``."""
        return self.alias if self.alias is not None else f"{self.kind}_{self.of}"

    def build(self, columns: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
        """The window expression over the grouped subquery's ``columns``."""

        def ref(name: str) -> ColumnElement[Any]:
            try:
                return columns[name]
            except KeyError:
                raise InvalidQueryError(
                    f"Window refers to unknown output {name[:60]!r}. Outputs: {', '.join(columns)}."
                ) from None

        def ordering(key: str) -> ColumnElement[Any]:
            return ref(key[1:]).desc() if key.startswith("-") else ref(key).asc()

        target = ref(self.of)
        partition = [ref(name) for name in self.partition_by] or None
        if self.kind == "rank":
            return func.rank().over(partition_by=partition, order_by=target.desc())
        order = [ordering(key) for key in self.order_by]
        if not order:
            raise InvalidQueryError(f"{self.kind} needs order_by (e.g. the bucket).")
        if self.kind == "running_total":
            return func.sum(target).over(partition_by=partition, order_by=order, rows=(None, 0))
        previous = func.lag(target).over(partition_by=partition, order_by=order)
        change: ColumnElement[Any] = target - previous
        return change


def _window(kind: str, of: str, order_by: str | tuple[str, ...], partition_by: Any) -> Window:
    order = (order_by,) if isinstance(order_by, str) else tuple(order_by)
    partition = (partition_by,) if isinstance(partition_by, str) else tuple(partition_by or ())
    return Window(kind, of, order, partition)


def running_total(
    of: str, *, order_by: str | tuple[str, ...], partition_by: str | tuple[str, ...] = ()
) -> Window:
    """Cumulative sum of the output ``of`` in ``order_by`` order (per partition)."""
    return _window("running_total", of, order_by, partition_by)


def rank(of: str, *, partition_by: str | tuple[str, ...] = ()) -> Window:
    """Rank by the output ``of``, largest first, within each partition (``rank()``)."""
    return _window("rank", of, (), partition_by)


def lag_change(
    of: str, *, order_by: str | tuple[str, ...], partition_by: str | tuple[str, ...] = ()
) -> Window:
    """Period-over-period change: ``of - lag(of)`` (``NULL`` for the first period)."""
    return _window("lag_change", of, order_by, partition_by)
