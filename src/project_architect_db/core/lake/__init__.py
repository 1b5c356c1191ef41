"""DuckLake with a PostgreSQL catalog: opening a lake, and what lets processes share one.

Opening (``Database.open("ducklake:postgres:<conninfo>", data_path=...)``, docs/architecture.md
"DuckLake"): the extensions from their wheels, the ATTACH, the errors of a catalog that cannot
be reached (:func:`lake_init_sql`, :func:`check_data_path`, :func:`lake_errors`), and the
dialect whose DDL a lake accepts (:class:`AsyncDuckLakeDialect`).

Sharing (docs/architecture.md "Integrity on a lake"):

* :class:`LakeGuard`: advisory locks on the catalog, held across a lake transaction, so checks
  (unique values, ``max + 1``, parents, versions) hold between processes.
* :func:`insert_keys`, :func:`update_keys`, :func:`delete_keys`: which keys each write takes.
* :class:`LakeFeed`: commits of every process, in commit order, woken by ``NOTIFY``.
* :func:`parse_conninfo`: the libpq string of ``ATTACH 'ducklake:postgres:...'``.

The sharing names are imported on first use: they need ``asyncpg`` (the ``[lake]`` extra), and
opening a DuckDB file imports this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from project_architect_db.core.lake._dialect import AsyncDuckLakeDialect, LakeDDLCompiler
from project_architect_db.core.lake._open import (
    FIRST_OPEN_ATTEMPTS,
    LAKE_ALIAS,
    LAKE_EXTRA,
    check_data_path,
    install_lake_extensions,
    is_first_open_race,
    lake_errors,
    lake_init_sql,
)

if TYPE_CHECKING:
    from project_architect_db.core.lake._conninfo import ConnInfo, parse_conninfo
    from project_architect_db.core.lake._feed import LakeCommit, LakeFeed, LakeGap
    from project_architect_db.core.lake._guard import CHANNEL, Hold, LakeGuard
    from project_architect_db.core.lake._keys import LockPlan, lock_id, plan_locks
    from project_architect_db.core.lake._policy import (
        Keys,
        delete_keys,
        insert_keys,
        row_key,
        table_key,
        unique_key,
        update_keys,
    )

_LAZY = {
    "ConnInfo": "_conninfo",
    "parse_conninfo": "_conninfo",
    "LakeCommit": "_feed",
    "LakeFeed": "_feed",
    "LakeGap": "_feed",
    "CHANNEL": "_guard",
    "Hold": "_guard",
    "LakeGuard": "_guard",
    "LockPlan": "_keys",
    "lock_id": "_keys",
    "plan_locks": "_keys",
    "Keys": "_policy",
    "delete_keys": "_policy",
    "insert_keys": "_policy",
    "row_key": "_policy",
    "table_key": "_policy",
    "unique_key": "_policy",
    "update_keys": "_policy",
}

__all__ = [
    "CHANNEL",
    "FIRST_OPEN_ATTEMPTS",
    "LAKE_ALIAS",
    "LAKE_EXTRA",
    "AsyncDuckLakeDialect",
    "ConnInfo",
    "Hold",
    "Keys",
    "LakeCommit",
    "LakeDDLCompiler",
    "LakeFeed",
    "LakeGap",
    "LakeGuard",
    "LockPlan",
    "check_data_path",
    "delete_keys",
    "insert_keys",
    "install_lake_extensions",
    "is_first_open_race",
    "lake_errors",
    "lake_init_sql",
    "lock_id",
    "parse_conninfo",
    "plan_locks",
    "row_key",
    "table_key",
    "unique_key",
    "update_keys",
]


def __getattr__(name: str) -> Any:
    """Import a sharing name (it needs asyncpg) when it is first used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
