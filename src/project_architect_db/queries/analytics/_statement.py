"""``StatementQuery``: a prebuilt statement run like a builder query (see ``answers.py``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy import ClauseElement, Select

from project_architect_db.queries.analytics._compile import compile_cached
from project_architect_db.queries.analytics._execute import NativeRunner, Runnable, Source
from project_architect_db.queries.analytics.builder import Analytics

__all__ = ["StatementQuery"]


class StatementQuery(Runnable):
    """A prebuilt statement run like a builder query, its SQL compiled once per shape.

    ``combine`` builds the statement from the statements of the builder ``parts`` (as
    subqueries); the parts' filter values are then laid out without rebuilding anything, like a
    builder's. Without parts, the statement is rebuilt per call and its parameters traced.
    """

    __slots__ = ("_combine", "_native", "_parts", "_shape", "_source")

    def __init__(
        self,
        shape: Hashable,
        combine: Callable[[list[Select[Any]]], ClauseElement],
        *,
        parts: Sequence[Analytics] = (),
        source: Source | None = None,
        native: NativeRunner | None = None,
    ) -> None:
        self._shape = (shape, tuple(part.shape() for part in parts))
        self._combine = combine
        self._parts = tuple(parts)
        self._source = source
        self._native = native

    def _prepare(self) -> tuple[str, list[Any]]:
        if not self._parts:

            def whole() -> tuple[Callable[[], ClauseElement], list[ClauseElement]]:
                statement = self._combine([])
                return (lambda: statement), [statement]

            return compile_cached(self._shape, whole)

        def build() -> tuple[Callable[[], ClauseElement], list[ClauseElement]]:
            pieces = [part.parts() for part in self._parts]
            roots = [root for _, part_roots in pieces for root in part_roots]
            return (lambda: self._combine([factory() for factory, _ in pieces])), roots

        values: list[list[Any]] | None = []
        for part in self._parts:
            part_values = part.values()
            if part_values is None or values is None:
                values = None
                break
            values.extend(part_values)
        return compile_cached(self._shape, build, values)

    def __repr__(self) -> str:
        return f"<StatementQuery {self._shape[0]!r}>"
