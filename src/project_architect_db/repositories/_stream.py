"""``Stream``: the async iterator repositories return, which says so when used with ``for``."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Generic, NoReturn, TypeVar

from project_architect_db.exceptions import DatabaseNotOpenError
from project_architect_db.exceptions._usage import sync_for

__all__ = ["Stream"]

T = TypeVar("T")


class Stream(Generic[T]):
    """An async iterator over batches; a plain ``for`` raises ``AsyncUsageError``.

    Without it, ``for batch in db.projects.stream()`` fails with Python's "'async_generator'
    object is not iterable", which does not say what to write instead.

    ``Database.close()`` ends a stream still open (its read is rolled back, its connection
    given back); the stream's next read raises ``DatabaseNotOpenError``.

    An ``async for`` that ends early (``break``, an exception, a cancellation) does not close
    what it iterates (Python's rule): the read stays open until the stream is garbage
    collected. ``async with db.projects.stream() as batches:`` (or ``aclose()``) ends it at
    once, whatever way the block is left.
    """

    __slots__ = ("_batches", "_form", "_started")

    def __init__(self, batches: AsyncGenerator[T, None], form: str) -> None:
        self._batches = batches
        self._form = form
        self._started = False

    def __aiter__(self) -> Stream[T]:
        return self

    async def __anext__(self) -> T:
        try:
            batch = await self._batches.__anext__()
        except DatabaseNotOpenError as error:
            if not self._started:
                raise
            # Database.close() ended the stream's read: say which call to start again
            raise DatabaseNotOpenError(
                f"The database was closed while `{self._form}` was still being read: open "
                f"the database again and start a new stream (the batches already yielded "
                f"came from one snapshot; the rest were not read)."
            ) from error
        self._started = True
        return batch

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
