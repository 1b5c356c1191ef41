"""The library's :class:`~sqlalchemy.ext.asyncio.AsyncSession`.

Two differences from SQLAlchemy's: a plain ``with`` says what to do, and a point select by
primary key takes a shorter path when it can (``core/point_select.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn, cast

from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession

from project_architect_db.exceptions._usage import sync_with

if TYPE_CHECKING:
    from project_architect_db.core.point_select import PointSelects

__all__ = ["Session"]


class Session(AsyncSession):
    """SQLAlchemy's ``AsyncSession``; ``with db.session()`` raises ``AsyncUsageError``.

    Args:
        point_selects: The database's point-select path (``None``: every statement takes
            SQLAlchemy's path). The other arguments are ``AsyncSession``'s.
    """

    def __init__(self, *args: Any, point_selects: PointSelects | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._point_selects = point_selects

    async def execute(
        self,
        statement: Any,
        params: Any = None,
        *,
        execution_options: Any = None,
        bind_arguments: Any = None,
        **kw: Any,
    ) -> Result[Any]:
        """``AsyncSession.execute``; a Core point select by primary key runs natively."""
        points = self._point_selects
        if points is not None and execution_options is None and bind_arguments is None and not kw:
            found = await points.execute(self, statement, params)
            if isinstance(found, Result):
                return found
            result = cast("Result[Any]", await super().execute(statement, params))
            if found is not None:  # the shape's first run: keep SQLAlchemy's row layout
                found(result)
            return result
        if execution_options is not None:
            kw["execution_options"] = execution_options
        return await super().execute(  # type: ignore[no-any-return]
            statement, params, bind_arguments=bind_arguments, **kw
        )

    if not TYPE_CHECKING:  # pragma: no branch - type checkers still flag a plain `with`

        def __enter__(self) -> NoReturn:
            raise sync_with("async with db.session() as session")

        def __exit__(self, *exc_info: object) -> NoReturn:
            raise sync_with("async with db.session() as session")
