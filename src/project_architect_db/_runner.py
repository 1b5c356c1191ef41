"""``run(coro)``: run a coroutine on uvloop where it is available."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from project_architect_db.exceptions import RunningLoopError

T = TypeVar("T")

__all__ = ["run"]


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """Run ``main`` to completion on a new uvloop event loop (asyncio's loop as a fallback).

    Raises:
        RunningLoopError: An event loop already runs in this thread (Jupyter, an async test, an
            async web framework): ``await main`` there instead. ``main`` is closed, so Python
            does not warn that it was never awaited.

    Examples:
        >>> import project_architect_db as padb
        >>> async def answer() -> int:
        ...     return 42
        >>> padb.run(answer())
        42
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        name = getattr(main, "__name__", None) or "main"
        if hasattr(main, "close"):
            main.close()
        raise RunningLoopError(
            "padb.run() cannot start an event loop here: one is already running in this thread "
            "(Jupyter, an async test or an async web framework). Await the coroutine instead: "
            f"`await {name}()` (top-level await works in Jupyter and IPython)."
        )
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return asyncio.run(main, debug=debug)
    return uvloop.run(main, debug=bool(debug))
