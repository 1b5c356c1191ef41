"""Compiled SQL cached per query shape; parameters bound positionally for native DuckDB.

A cache entry is the ``$n`` SQL text plus, for every bound value of the *value-bearing roots*
(the filter conditions and bound constants of a query, in SQLAlchemy traversal order), the
positions it fills and its bind processor. A query whose shape was seen before only builds those
few conditions and walks them for their values: the statement itself is neither built nor
compiled again. A statement whose parameters cannot all be traced to roots is not cached
(compiled per call: correct, slower).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ClauseElement
from sqlalchemy.sql import visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter

from project_architect_db.core._sqlalchemy import bind_processors
from project_architect_db.core.driver import AsyncDuckDBDialect
from project_architect_db.core.statements import StatementCache
from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.queries.native import native_sql

__all__ = ["DIALECT", "SHAPES", "CompiledQuery", "cache_info", "clear_cache", "compile_cached"]

#: The dialect every analytics statement compiles with (the library's own, ``$n`` parameters).
DIALECT = AsyncDuckDBDialect(paramstyle="numeric_dollar")
_MAX_ENTRIES = 1024


@dataclass(frozen=True, slots=True)
class _Slot:
    positions: tuple[int, ...]
    processor: Callable[[Any], Any] | None
    expanding: bool


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """SQL text and how to lay out the values of a query of this shape.

    ``direct`` says the builder's own value extraction (:func:`values` of the filters, in
    order) was checked against SQLAlchemy's parameters when this entry was compiled, so later
    queries of the shape skip building even the conditions.
    """

    sql: str
    slots: tuple[_Slot, ...]
    size: int
    direct: bool = False

    def parameters(self, roots: Sequence[ClauseElement]) -> list[Any]:
        """The positional parameters for ``roots`` of a query of this entry's shape."""
        return self.layout([bind.effective_value for bind in _binds(roots)])

    def layout(self, flat: Sequence[Any]) -> list[Any]:
        """Place ``flat`` (one value, or one list for an ``IN``, per slot) at their positions."""
        out: list[Any] = [None] * self.size
        if len(flat) != len(self.slots):  # pragma: no cover - shapes guarantee equality
            raise InvalidQueryError("Internal error: a query's parameters do not match its shape.")
        for slot, value in zip(self.slots, flat, strict=True):
            values = list(value) if slot.expanding else [value]
            for position, item in zip(slot.positions, values, strict=True):
                out[position] = _process(slot.processor, item)
        return out


def _process(processor: Callable[[Any], Any] | None, value: Any) -> Any:
    if processor is None or value is None:
        return value
    try:
        return processor(value)
    except LookupError as error:  # an Enum column refusing an unknown member
        raise InvalidQueryError(f"Invalid value {str(value)[:80]!r}: {error}") from None


def _binds(roots: Sequence[ClauseElement]) -> Iterator[BindParameter[Any]]:
    for root in roots:
        for element in visitors.iterate(root):
            if isinstance(element, BindParameter):
                yield element


#: Analytics SQL compiles for the library's fixed dialect, from a builder's *shape*, before
#: (and without) a database: ``.sql()`` works on an unbound builder and answers are remembered
#: across databases. So its entries live in one process-wide cache of the same kind the
#: executor owns per database (``core/statements.py``), keyed by shape and :data:`DIALECT`.
SHAPES = StatementCache(max_entries=_MAX_ENTRIES)


def _compile(statement: ClauseElement, roots: Sequence[ClauseElement]) -> CompiledQuery | None:
    compiled = statement.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True})
    assert isinstance(compiled, SQLCompiler)
    positions = {name: index for index, name in enumerate(compiled.positiontup or [])}
    names = {bind.key: name for bind, name in compiled.bind_names.items()}
    processors = bind_processors(compiled)
    slots: list[_Slot] = []
    covered: list[int] = []
    for bind in _binds(roots):
        name = names.get(bind.key)
        if name is None:
            return None
        if bind.expanding:
            count = len(bind.effective_value or ())
            keys = [f"{name}_{index}" for index in range(1, count + 1)]
        else:
            keys = [name]
        if any(key not in positions for key in keys):
            return None
        slot_positions = tuple(positions[key] for key in keys)
        covered.extend(slot_positions)
        slots.append(_Slot(slot_positions, processors.get(name), bind.expanding))
    if sorted(covered) != list(range(len(positions))):
        return None
    return CompiledQuery(str(compiled), tuple(slots), len(positions))


Build = Callable[[], tuple[Callable[[], ClauseElement], Sequence[ClauseElement]]]


def compile_cached(
    shape: Hashable | None, build: Build, grouped_values: Sequence[Sequence[Any]] | None = None
) -> tuple[str, list[Any]]:
    """``(sql, parameters)`` for a query of ``shape``.

    Args:
        shape: The query's structure without values; ``None`` disables caching.
        build: Returns ``(statement_factory, roots)``: the value-bearing conditions of the query
            and a factory for the full statement embedding those very objects (called on a
            cache miss only), so their parameters can be traced to positions.
        grouped_values: The query's values as the caller extracts them without SQLAlchemy,
            one list per root (one value per bind, a list per ``IN``), or ``None``. Checked
            root by root against the traced parameters on a miss; when they match, hits use
            them and skip :func:`build` entirely.
    """
    if shape is None:
        factory, roots = build()
        return _compiled(factory(), roots, grouped_values)
    built: list[Any] = []

    def compile_shape() -> CompiledQuery | None:
        factory, roots = build()
        statement = factory()
        built.extend((statement, roots))
        return _compile_checked(statement, roots, grouped_values)

    entry = SHAPES.get_or_compile("analytics", shape, DIALECT, compile_shape)
    if built:  # compiled by this call, from the statement and roots it built
        statement, roots = built
        if entry is None:
            return native_sql(statement, DIALECT)
        return entry.sql, entry.parameters(roots)
    if entry is None:  # known to be uncacheable
        return native_sql(build()[0](), DIALECT)
    if entry.direct and grouped_values is not None:
        return entry.sql, entry.layout([v for group in grouped_values for v in group])
    return entry.sql, entry.parameters(build()[1])


def _compiled(
    statement: ClauseElement,
    roots: Sequence[ClauseElement],
    grouped_values: Sequence[Sequence[Any]] | None,
) -> tuple[str, list[Any]]:
    compiled = _compile_checked(statement, roots, grouped_values)
    if compiled is None:
        return native_sql(statement, DIALECT)
    return compiled.sql, compiled.parameters(roots)


def _compile_checked(
    statement: ClauseElement,
    roots: Sequence[ClauseElement],
    grouped_values: Sequence[Sequence[Any]] | None,
) -> CompiledQuery | None:
    """The compiled entry, marked ``direct`` when the caller's own values match the traced."""
    compiled = _compile(statement, roots)
    if (
        compiled is not None
        and grouped_values is not None
        and len(grouped_values) == len(roots)
        and all(
            _same([bind.effective_value for bind in _binds([root])], group)
            for root, group in zip(roots, grouped_values, strict=True)
        )
    ):
        compiled = CompiledQuery(compiled.sql, compiled.slots, compiled.size, direct=True)
    return compiled


def _same(traced: Sequence[Any], flat: Sequence[Any]) -> bool:
    """Whether the extracted values are the traced ones, in the same order, unambiguously."""
    if len(traced) != len(flat):
        return False
    for left, right in zip(traced, flat, strict=True):
        if type(left) is not type(right) or left != right:
            return False
    # Equal values within one root could hide a swapped order; then trust only the traced path.
    seen: list[Any] = []
    for value in flat:
        if any(type(value) is type(other) and value == other for other in seen):
            return False
        seen.append(value)
    return True


def cache_info() -> dict[str, int]:
    """Hits, misses and entries of the compiled-SQL cache (for tests and benchmarks)."""
    info = SHAPES.info()
    return {"hits": info["hits"], "misses": info["misses"], "entries": info["entries"]}


def clear_cache() -> None:
    """Forget every compiled query."""
    SHAPES.clear()
