"""Builds and deployments of a code repository: recording runs and finishing builds."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import select, update

from project_architect_db.core.locks import IntegrityLocks
from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    ValidationError,
)
from project_architect_db.exceptions._translate import translating
from project_architect_db.models import Build, Deployment
from project_architect_db.models.enums import BuildStatus
from project_architect_db.repositories._reads import _as_id
from project_architect_db.repositories.base import AsyncRepository
from project_architect_db.repositories.changes import ChangeKind
from project_architect_db.schemas import (
    BuildCreate,
    BuildRead,
    BuildUpdate,
    DeploymentCreate,
    DeploymentRead,
    DeploymentUpdate,
)
from project_architect_db.schemas.common import CreateSchema

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

__all__ = [
    "FINISHED",
    "BuildStore",
    "DeploymentStore",
    "check_build_of",
    "finish_build",
    "for_repository",
]

#: The statuses a finished build can have.
FINISHED = frozenset({BuildStatus.SUCCESS, BuildStatus.FAILURE, BuildStatus.CANCELLED})

RecordT = TypeVar("RecordT", bound=CreateSchema)


class BuildStore(AsyncRepository[Build, BuildCreate, BuildUpdate, BuildRead]):
    """Generic writes, reads and change events for ``builds``."""

    model = Build
    create_schema = BuildCreate
    update_schema = BuildUpdate
    read_schema = BuildRead


class DeploymentStore(
    AsyncRepository[Deployment, DeploymentCreate, DeploymentUpdate, DeploymentRead]
):
    """Generic writes, reads and change events for ``deployments``."""

    model = Deployment
    create_schema = DeploymentCreate
    update_schema = DeploymentUpdate
    read_schema = DeploymentRead


def for_repository(data: Any, schema: type[RecordT], repository_id: uuid.UUID) -> RecordT:
    """``data`` validated as ``schema``, belonging to ``repository_id``.

    Raises:
        ValidationError: Invalid data, or it names another repository.
    """
    if isinstance(data, schema):
        record = data
    elif isinstance(data, Mapping):
        values = dict(data)
        values.setdefault("repository_id", repository_id)
        with translating():
            record = schema.model_validate(values)
    else:
        raise ValidationError(f"Expected a {schema.__name__} or a dict, got {type(data).__name__}.")
    given = getattr(record, "repository_id", None)
    if given != repository_id:
        raise ValidationError(
            f"The record names repository {given}, but it is being recorded for repository "
            f"{repository_id}; leave repository_id out or make them agree."
        )
    return record


async def check_build_of(
    tx: Transaction, build_id: uuid.UUID | None, repository_id: uuid.UUID
) -> None:
    """Refuse a deployment whose build belongs to another repository."""
    if build_id is None:
        return
    builds = Build.__table__
    owner = (
        await tx.execute(select(builds.c.repository_id).where(builds.c.id == build_id))
    ).scalar_one_or_none()
    if owner is not None and owner != repository_id:
        raise IntegrityError(
            f"Build {build_id} belongs to repository {owner}, not {repository_id}: a "
            "deployment's build must come from the same repository."
        )


async def finish_build(
    tx: Transaction,
    locks: IntegrityLocks,
    store: BuildStore,
    build_id: uuid.UUID | str,
    status: BuildStatus | str,
    finished_at: datetime | None,
) -> Any:
    """Mark a build finished; its duration is ``finished_at - started_at`` (if it started).

    Raises:
        ValidationError: ``status`` is not a finished status, ``finished_at`` is naive or
            earlier than the build's start.
        NotFoundError: No such build.
        ConflictError: The build has already finished.
    """
    row_id = _as_id(build_id)
    with translating():
        change = BuildUpdate.model_validate(
            {"status": status, "finished_at": finished_at or datetime.now(UTC)}
        )
    if change.status not in FINISHED:
        raise ValidationError(
            f"A finished build's status is one of {sorted(s.value for s in FINISHED)}, "
            f"not {str(change.status)!r}."
        )
    ended = change.finished_at
    assert ended is not None
    await locks.shared(tx, row_id)
    locks.check_not_deleted(tx, row_id, "build")
    table = store._table
    current = (await tx.execute(store._by_id(), {"row_id": row_id})).one_or_none()
    if current is None:
        raise NotFoundError(f"No build with id {row_id}.")
    if current.finished_at is not None or current.status in FINISHED:
        raise ConflictError(
            f"Build {row_id} already finished ({current.status}); a build finishes once."
        )
    started = current.started_at
    if started is not None and ended < started:
        raise ValidationError(
            f"finished_at {ended.isoformat()} is earlier than the build's start "
            f"{started.isoformat()}."
        )
    duration = None if started is None else (ended - started).total_seconds()
    statement = (
        update(table)
        .where(table.c.id == row_id, table.c.finished_at.is_(None))
        .values(status=change.status, finished_at=ended, duration_seconds=duration)
    )
    # no RETURNING: DuckDB 1.5 can update a row twice with it (AsyncRepository._update_statement)
    updated = cast("CursorResult[Any]", await tx.execute(statement)).rowcount
    if not updated:  # pragma: no cover - DuckDB reports the concurrent update as a conflict
        raise ConflictError(f"Build {row_id} was finished concurrently.")
    row = (await tx.execute(store._by_id(), {"row_id": row_id})).one()  # sees its own write
    store._emit(tx, ChangeKind.UPDATED, [row])
    return row
