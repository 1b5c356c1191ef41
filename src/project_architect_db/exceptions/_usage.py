"""Errors for async APIs used from synchronous code, each showing the async form to write."""

from __future__ import annotations

from project_architect_db.exceptions import AsyncUsageError

__all__ = ["sync_for", "sync_with"]


def sync_with(async_form: str) -> AsyncUsageError:
    """The error for ``with x:`` where ``x`` only works with ``async with``."""
    return AsyncUsageError(
        f"Use `{async_form}`, not a plain `with`: the library is async. Write it inside an "
        "`async def` function and run that with `padb.run(main())` (or `await` it where an "
        "event loop already runs, as in Jupyter or an async test)."
    )


def sync_for(async_form: str) -> AsyncUsageError:
    """The error for ``for x in y:`` where ``y`` is an async iterator."""
    return AsyncUsageError(
        f"Use `{async_form}`, not a plain `for`: the library is async. Write it inside an "
        "`async def` function and run that with `padb.run(main())` (or `await` it where an "
        "event loop already runs, as in Jupyter or an async test)."
    )
