"""DuckLake with a PostgreSQL catalog: what lets several OS processes share one lake."""

from project_architect_db.core.lake._conninfo import ConnInfo, parse_conninfo
from project_architect_db.core.lake._guard import LakeGuard
from project_architect_db.core.lake._keys import LockPlan, lock_id, plan_locks

__all__ = ["ConnInfo", "LakeGuard", "LockPlan", "lock_id", "parse_conninfo", "plan_locks"]
