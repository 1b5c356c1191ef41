"""``Stream``: the async iterator repositories return, which says so when used with ``for``."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Generic, NoReturn, TypeVar

from project_architect_db.exceptions._usage import sync_for

__all__ = ["Stream"]

T = TypeVar("T")


class Stream(Generic[T]):
    """An async iterator over batches; a plain ``for`` raises ``AsyncUsageError``.

    Without it, ``for batch in db.projects.stream()`` fails with Python's "'async_generator'
    object is not iterable", which does not say what to write instead.

    An ``async for`` that ends early (``break``, an exception, a cancellation) does not close
    what it iterates (Python's rule): the read stays open until the stream is garbage
    collected. ``async with db.projects.stream() as batches:`` (or ``aclose()``) ends it at
    once, whatever way the block is left.
    """

    __slots__ = ("_batches", "_form")

    def __init__(self, batches: AsyncGenerator[T, None], form: str) -> None:
        self._batches = batches
        self._form = form

    def __aiter__(self) -> Stream[T]:
        return self

    async def __anext__(self) -> T:
        return await self._batches.__anext__()

    async def __aenter__(self) -> Stream[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop early: end the read and give its connection back."""
        await self._batches.aclose()

    if not TYPE_CHECKING:  # pragma: no branch - type checkers still flag a plain `for`

        def __iter__(self) -> NoReturn:
            raise sync_for(f"async for batch in {self._form}")
