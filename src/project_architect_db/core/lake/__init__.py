"""DuckLake with a PostgreSQL catalog: what lets several OS processes share one lake.

* :class:`LakeGuard`: advisory locks on the catalog, held across a lake transaction, so checks
  (unique values, ``max + 1``, parents, versions) hold between processes.
* :func:`insert_keys`, :func:`update_keys`, :func:`delete_keys`: which keys each write takes.
* :class:`LakeFeed`: commits of every process, in commit order, woken by ``NOTIFY``.
* :func:`parse_conninfo`: the libpq string of ``ATTACH 'ducklake:postgres:...'``.

See docs/architecture.md, "Integrity on a lake".
"""

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

__all__ = [
    "CHANNEL",
    "ConnInfo",
    "Hold",
    "Keys",
    "LakeCommit",
    "LakeFeed",
    "LakeGap",
    "LakeGuard",
    "LockPlan",
    "delete_keys",
    "insert_keys",
    "lock_id",
    "parse_conninfo",
    "plan_locks",
    "row_key",
    "table_key",
    "unique_key",
    "update_keys",
]
