"""The code-repository repository: repositories with their builds and deployments.

A repository is unique by its normalised URL and belongs to one project for good: its builds
and deployments carry that project's id, so an upsert that would move a URL to another project
is refused (``AlreadyExistsError``) rather than leaving them behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import bindparam, select

from project_architect_db.exceptions import AlreadyExistsError, NotFoundError
from project_architect_db.models import Repository
from project_architect_db.models.enums import BuildStatus
from project_architect_db.repositories._code_repositories_runs import (
    BuildStore,
    DeploymentStore,
    check_build_of,
    finish_build,
    for_repository,
)
from project_architect_db.repositories._code_repositories_webhook import repository_fields
from project_architect_db.repositories._reads import _as_id
from project_architect_db.repositories.base import AsyncRepository
from project_architect_db.repositories.changes import ChangeKind
from project_architect_db.schemas import (
    BuildCreate,
    BuildRead,
    DeploymentCreate,
    DeploymentRead,
    Page,
    RepositoryCreate,
    RepositoryRead,
    RepositoryUpdate,
)

__all__ = ["CodeRepositoryRepository"]


def _url_key(url: str) -> tuple[str, str]:
    return ("repositories.url", url)


class CodeRepositoryRepository(
    AsyncRepository[Repository, RepositoryCreate, RepositoryUpdate, RepositoryRead]
):
    """Code repositories of a project, unique by URL, with their CI/CD history.

    Examples:
        >>> # repo = await db.code_repositories.upsert_from_url(pid, "https://github.com/acme/atlas")
        >>> # build = await db.code_repositories.record_build(repo.id, {"commit_sha": "3f2a9c1",
        >>> #                                                      "branch": "main"})
        >>> # await db.code_repositories.finish_build(build.id, "success")
    """

    model = Repository
    create_schema = RepositoryCreate
    update_schema = RepositoryUpdate
    read_schema = RepositoryRead
    natural_key = ("url",)

    @cached_property
    def _builds(self) -> BuildStore:
        return BuildStore(self._context)

    @cached_property
    def _deployments(self) -> DeploymentStore:
        return DeploymentStore(self._context)

    # -- upserts -----------------------------------------------------------------------------
    async def upsert_from_url(
        self, project_id: uuid.UUID | str, url: str, **fields: Any
    ) -> RepositoryRead:
        """Register the repository at ``url`` in the project, or refresh the one there.

        ``provider``, ``owner`` and ``name`` are read from GitHub, GitLab and Bitbucket URLs
        when not given. For an existing repository only the fields passed here change (and
        only if they differ, which bumps ``version``); the others keep their stored values.

        Args:
            project_id: The project the repository belongs to.
            url: Its http(s) URL (normalised: lowercase host, no ``.git`` or trailing ``/``).
            **fields: Other ``RepositoryCreate`` fields (``language="python"``, ``stars=3``).

        Raises:
            ValidationError: A bad URL or field.
            IntegrityError: The project does not exist.
            AlreadyExistsError: The URL is registered in another project.
        """
        record = self._coerce({**fields, "project_id": project_id, "url": url}, RepositoryCreate)
        return await self._merge(record, set(record.model_fields_set))

    async def upsert_from_webhook(
        self, project_id: uuid.UUID | str, payload: Mapping[str, Any]
    ) -> RepositoryRead:
        """Register or refresh a repository from a GitHub ``push`` / ``repository`` webhook.

        Reads ``payload["repository"]`` (see ``_code_repositories_webhook.py``); its stars,
        forks, open issues, language, default branch, visibility and ``pushed_at`` (as
        ``last_commit_at``) refresh the stored repository.

        Raises:
            ValidationError: The payload is malformed (the message names the missing or
                invalid fields).
            IntegrityError: The project does not exist.
            AlreadyExistsError: The repository is registered in another project.
        """
        fields = repository_fields(payload)
        record = self._coerce({**fields, "project_id": project_id}, RepositoryCreate)
        return await self._merge(record, set(record.model_fields_set))

    async def upsert(
        self, data: RepositoryCreate | Mapping[str, Any], *, on: Sequence[str] | None = None
    ) -> RepositoryRead:
        """Insert, or update the repository with the same URL (every field of ``data``).

        Raises:
            AlreadyExistsError: The URL is registered in another project.
        """
        record: RepositoryCreate = self._coerce(data, RepositoryCreate)
        async with self._context.transaction():
            await self._refuse_moves([record])
            return await super().upsert(record, on=on)

    async def bulk_upsert(self, records: Iterable[Any], *, on: Sequence[str] | None = None) -> int:
        """Insert or update many repositories by URL; refuses to move one between projects.

        Raises:
            AlreadyExistsError: A URL is registered in another project (nothing is written).
        """
        batch: list[RepositoryCreate] = self._records(records)  # type: ignore[assignment]
        async with self._context.transaction():
            await self._refuse_moves(batch)
            return await super().bulk_upsert(batch, on=on)

    async def _merge(self, record: RepositoryCreate, given: set[str]) -> RepositoryRead:
        locks = self._context.locks
        async with self._context.transaction() as tx:
            await locks.exclusive(tx, _url_key(record.url))
            row = (await tx.execute(self._by_url(), {"url": record.url})).one_or_none()
            if row is None:
                return await self.create(record)
            current = self._read(row)
            self._check_project(current, record)
            changes = {
                self._attributes[name].key: getattr(record, name)
                for name in sorted(given - {"project_id", "url"})
                if getattr(current, name) != getattr(record, name)
            }
            if not changes:
                return current
            await locks.shared(tx, current.id)
            locks.check_not_deleted(tx, current.id, "repository")
            updated = await self._apply_update(tx, current.id, changes, None)
            self._emit(tx, ChangeKind.UPDATED, [updated])
        return self._read(updated)

    def _by_url(self) -> Any:
        return select(self._table).where(self._table.c.url == bindparam("url"))

    async def _refuse_moves(self, records: Sequence[RepositoryCreate]) -> None:
        wanted = {record.url: record for record in records}
        if not wanted:
            return
        table = self._table
        statement = select(table.c.url, table.c.project_id).where(table.c.url.in_(list(wanted)))
        async with self._context.transaction() as tx:
            for row in (await tx.execute(statement)).all():
                url, project_id = row.url, row.project_id
                if project_id != wanted[url].project_id:
                    raise AlreadyExistsError(
                        f"The repository {url} belongs to project {project_id}; a repository "
                        "cannot move between projects (its builds and deployments carry the "
                        "project id). Delete it there first."
                    )

    @staticmethod
    def _check_project(current: RepositoryRead, record: RepositoryCreate) -> None:
        if current.project_id != record.project_id:
            raise AlreadyExistsError(
                f"The repository {current.url} belongs to project {current.project_id}; a "
                "repository cannot move between projects (its builds and deployments carry "
                "the project id). Delete it there first."
            )

    # -- builds and deployments --------------------------------------------------------------
    async def record_build(
        self, repository_id: uuid.UUID | str, build: BuildCreate | Mapping[str, Any]
    ) -> BuildRead:
        """Record a CI build of the repository (its project id is copied from the repository).

        Raises:
            ValidationError: Invalid build, or it names another repository.
            IntegrityError: The repository does not exist.
        """
        record = for_repository(build, BuildCreate, _as_id(repository_id))
        return await self._builds.create(record)

    async def record_deployment(
        self,
        repository_id: uuid.UUID | str,
        deployment: DeploymentCreate | Mapping[str, Any],
    ) -> DeploymentRead:
        """Record a deployment of the repository (optionally of one of its builds).

        Raises:
            ValidationError: Invalid deployment, or it names another repository.
            IntegrityError: The repository, or the build, does not exist, or the build belongs
                to another repository.
        """
        owner = _as_id(repository_id)
        record = for_repository(deployment, DeploymentCreate, owner)
        async with self._context.transaction() as tx:
            await check_build_of(tx, record.build_id, owner)
            return await self._deployments.create(record)

    async def finish_build(
        self,
        build_id: uuid.UUID | str,
        status: BuildStatus | str,
        finished_at: datetime | None = None,
    ) -> BuildRead:
        """Mark a build finished and compute ``duration_seconds`` from its ``started_at``.

        Args:
            build_id: The build.
            status: ``success``, ``failure`` or ``cancelled``.
            finished_at: When it finished (aware); now when omitted. A build recorded without
                ``started_at`` gets no duration.

        Raises:
            ValidationError: Not a finished status, a naive ``finished_at``, or one before the
                build started.
            NotFoundError: No such build.
            ConflictError: The build already finished.
        """
        async with self._context.transaction() as tx:
            row = await finish_build(
                tx, self._context.locks, self._builds, build_id, status, finished_at
            )
        return self._builds._read(row)

    async def builds(
        self,
        repository_id: uuid.UUID | str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        order_by: str | Sequence[str] = "-created_at",
        **conditions: Any,
    ) -> Page[BuildRead]:
        """One page of the repository's builds, newest first by default.

        Args:
            repository_id: The repository.
            limit: Page size, 0-1000.
            cursor: ``next_cursor`` of the previous page (keyset pagination).
            order_by: Sort fields, e.g. ``"-created_at"``; ``id`` breaks ties.
            **conditions: Keyword filters, e.g. ``status="failure"``, ``branch="main"``.

        Raises:
            NotFoundError: The repository does not exist.
            InvalidQueryError: Bad page arguments or filters.
        """
        owner = _as_id(repository_id)
        # one read (no BEGIN/COMMIT hops); an empty page then asks whether the repository exists
        page = await self._builds.list(
            order_by=order_by, limit=limit, cursor=cursor, repository_id=owner, **conditions
        )
        if not page.items:
            await self._require(owner)
        return page

    async def deployments(
        self,
        repository_id: uuid.UUID | str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        order_by: str | Sequence[str] = "-created_at",
        **conditions: Any,
    ) -> Page[DeploymentRead]:
        """One page of the repository's deployments, newest first by default.

        Keyword filters work as in :meth:`builds`, e.g. ``environment="production"``.

        Raises:
            NotFoundError: The repository does not exist.
            InvalidQueryError: Bad page arguments or filters.
        """
        owner = _as_id(repository_id)
        # one read (no BEGIN/COMMIT hops); an empty page then asks whether the repository exists
        page = await self._deployments.list(
            order_by=order_by, limit=limit, cursor=cursor, repository_id=owner, **conditions
        )
        if not page.items:
            await self._require(owner)
        return page

    async def _require(self, row_id: uuid.UUID) -> None:
        if await self.get_or_none(row_id) is None:
            raise NotFoundError(f"No repository with id {row_id}.")
