"""What the self-check tests share: a fresh database per test, run on uvloop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from project_architect_db import Database, run

__all__ = ["on_database"]

T = TypeVar("T")


def on_database(target: Path | str, body: Callable[[Database], Awaitable[T]]) -> T:
    """Open ``target`` (created and migrated when new), run ``body(db)``, close, return."""

    async def main() -> T:
        async with Database.open(target) as db:
            return await body(db)

    return run(main())
