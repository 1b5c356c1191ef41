"""A user-defined filter for tests of the analytics builder (unit and against DuckDB)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement

from project_architect_db.queries.filters import Filter


@dataclass(frozen=True, slots=True)
class TokensAbove(Filter):
    """A user-defined filter: the builder cannot know which values it binds."""

    minimum: int

    def clause(self, model: type[Any]) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = model.token_count > self.minimum
        return condition
