"""The library's :class:`~sqlalchemy.ext.asyncio.AsyncSession`: a plain ``with`` says what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from project_architect_db.exceptions._usage import sync_with

__all__ = ["Session"]


class Session(AsyncSession):
    """SQLAlchemy's ``AsyncSession``; ``with db.session()`` raises ``AsyncUsageError``."""

    if not TYPE_CHECKING:  # pragma: no branch - type checkers still flag a plain `with`

        def __enter__(self) -> NoReturn:
            raise sync_with("async with db.session() as session")

        def __exit__(self, *exc_info: object) -> NoReturn:
            raise sync_with("async with db.session() as session")
