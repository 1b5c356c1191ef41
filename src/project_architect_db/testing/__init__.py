"""Testing helpers for applications built on project-architect-db.

The pytest plugin (registered through the ``pytest11`` entry point) gives every test a fresh
database: ``padb_db`` on a DuckDB file (one template per xdist worker, copied per test) and
``padb_memory_db`` in memory.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from project_architect_db.testing.databases import TemplateDatabase, open_fresh_database

__all__ = ["TemplateDatabase", "open_fresh_database"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module("project_architect_db.testing.databases"), name)
