"""``run(coro)``: run a coroutine on uvloop where it is available."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["run"]


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """Run ``main`` to completion on a new uvloop event loop (asyncio's loop as a fallback).

    Examples:
        >>> import project_architect_db as padb
        >>> async def answer() -> int:
        ...     return 42
        >>> padb.run(answer())
        42
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return asyncio.run(main, debug=debug)
    return uvloop.run(main, debug=bool(debug))
