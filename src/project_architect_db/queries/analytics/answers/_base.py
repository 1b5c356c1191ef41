"""What every group of prebuilt answers shares: the builder entry point and argument checks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from sqlalchemy import ClauseElement, Select, literal, literal_column, select

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.models.types import UtcDateTime, utc_now
from project_architect_db.queries.analytics._execute import NativeRunner, Runner, Source
from project_architect_db.queries.analytics._statement import StatementQuery
from project_architect_db.queries.analytics.builder import Analytics

__all__ = ["AnswersBase", "BucketUnit", "Per", "remembered"]

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="AnswersBase")
_MEMO_SIZE = 256

Per = Literal["repository", "project"]
BucketUnit = Literal["hour", "day", "week", "month"]


def _since(days: int, now: datetime | None) -> datetime:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= 36_600:
        raise InvalidQueryError(f"days must be an integer in 1..36600, not {days!r}.")
    moment = now if now is not None else utc_now()
    if moment.tzinfo is None:
        raise InvalidQueryError("now must be a timezone-aware datetime.")
    return moment - timedelta(days=days)


def _n(n: int, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= 10_000:
        raise InvalidQueryError(f"{name} must be an integer in 1..10000, not {n!r}.")
    return n


def _per(per: str) -> str:
    if per not in ("repository", "project"):
        raise InvalidQueryError(f"per must be 'repository' or 'project', not {per!r}.")
    return "repository_id" if per == "repository" else "project_id"


def _instant(value: datetime) -> Any:
    return literal(value, UtcDateTime())


def remembered(
    method: Callable[Concatenate[S, P], R],
) -> Callable[Concatenate[S, P], R]:
    """Build an answer once per database and set of arguments (for answers with no clock).

    Builders are immutable (every refinement returns a new one), so the same object can be
    handed out again; building one took ~0.1 ms of a 2-5 ms answer (validation and state
    copies). Arguments are keyed with their types (``n=True`` is not ``n=1``); unhashable ones
    are not remembered, and a call that raises remembers nothing.
    """
    name = method.__name__

    @functools.wraps(method)
    def answer(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
        key = (
            name,
            tuple((type(value), value) for value in args),
            tuple((key, type(value), value) for key, value in sorted(kwargs.items())),
        )
        try:
            found: R | None = self._memo.get(key)
        except TypeError:  # an unhashable argument
            return method(self, *args, **kwargs)
        if found is None:
            found = method(self, *args, **kwargs)
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = found
        return found

    return answer  # type: ignore[return-value]  # functools.wraps keeps the signature


class AnswersBase:
    """The database's executor (its units of work and native reads), and :meth:`query`.

    Args:
        executor: Where the queries run; ``None`` builds queries that are not bound to a
            database (their ``sql()`` works, running them raises ``InvalidQueryError``).
    """

    def __init__(self, executor: Runner | None = None) -> None:
        self._source: Source | None = None if executor is None else executor.transaction
        self._native: NativeRunner | None = None if executor is None else executor.run_native_read
        self._memo: dict[Any, Any] = {}

    def query(self, model: type[Any]) -> Analytics:
        """A builder over ``model`` bound to this database."""
        return Analytics(model, source=self._source, native=self._native)

    def _top_groups(
        self,
        name: str,
        groups: Analytics,
        *,
        alias: str,
        key: str,
        parent: type[Any],
        label: Any,
        measures: tuple[str, ...],
        rank: str,
        limit: int,
    ) -> StatementQuery:
        """The ``limit`` groups with the highest ``rank`` measure (ties by ``key``), labelled.

        ``groups`` is grouped by ``key`` (the id of a ``parent`` row) and aggregates
        ``measures``; only the groups meet the parent (joined on its ``id``), for its ``label``
        (a labelled column): joining before grouping would carry the label through every
        child row and group by it.
        """

        def combine(statements: list[Select[Any]]) -> ClauseElement:
            grouped = statements[0].subquery(alias)
            return (
                select(grouped.c[key], label, *(grouped.c[measure] for measure in measures))
                .select_from(grouped)
                .join(parent, parent.id == grouped.c[key])
                .order_by(grouped.c[rank].desc(), grouped.c[key])
                .limit(literal_column(str(limit)))
            )

        return StatementQuery(
            (name, limit), combine, parts=[groups], source=self._source, native=self._native
        )
