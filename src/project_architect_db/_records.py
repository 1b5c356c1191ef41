"""Building many dicts with the same keys quickly (analytics results, repository pages)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["row_maker"]


@functools.lru_cache(maxsize=512)
def row_maker(names: tuple[str, ...]) -> Callable[..., dict[str, Any]]:
    """``lambda _0, _1, ...: {name0: _0, name1: _1, ...}`` for these names.

    A dict display is the cheapest way CPython builds a dict (one opcode); ``map`` feeds it the
    columns without building a tuple per row. The names only appear as ``repr`` literals; a
    repeated name keeps its last value, as a dict comprehension would.
    """
    arguments = ", ".join(f"_{index}" for index in range(len(names)))
    items = ", ".join(f"{name!r}: _{index}" for index, name in enumerate(names))
    maker: Callable[..., dict[str, Any]] = eval(f"lambda {arguments}: {{{items}}}")
    return maker
