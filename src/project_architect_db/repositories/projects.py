"""The project repository: unique, renameable slugs; archiving; cascading deletes.

A project's slug is unique (``ix_projects_slug``) and renameable while children exist: the
schema has no database foreign keys (see ``docs/schema.md``), so a rename is a plain ``UPDATE``.
``delete`` (inherited) removes the project and every row below it in one transaction.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sqlalchemy import bindparam, select

from project_architect_db.exceptions import NotFoundError, ValidationError
from project_architect_db.exceptions._translate import translating
from project_architect_db.models import Project
from project_architect_db.models.enums import ProjectStatus
from project_architect_db.repositories._native_read import NativeGet
from project_architect_db.repositories._reads import _as_id
from project_architect_db.repositories.base import AsyncRepository
from project_architect_db.schemas import ProjectCreate, ProjectRead, ProjectUpdate

__all__ = ["ProjectRepository"]


class ProjectRepository(AsyncRepository[Project, ProjectCreate, ProjectUpdate, ProjectRead]):
    """Projects: unique, renameable slugs; deleting one removes everything it owns.

    Examples:
        >>> # project = await db.projects.create({"name": "Atlas"})
        >>> # await db.projects.rename_slug(project.id, "atlas-v2")
        >>> # (await db.projects.get_by_slug("atlas-v2")).id == project.id
    """

    model = Project
    create_schema = ProjectCreate
    update_schema = ProjectUpdate
    read_schema = ProjectRead
    natural_key = ("slug",)
    project_column = None  # a project is its own project

    async def get_by_slug(self, slug: str) -> ProjectRead:
        """The project with ``slug``.

        Args:
            slug: The project's slug, e.g. ``"atlas-v2"``.

        Raises:
            NotFoundError: No project has this slug.
            ValidationError: ``slug`` is not a string.
        """
        if not isinstance(slug, str):
            raise ValidationError(f"A slug is a string, not {type(slug).__name__}.")
        # The unique index on slug answers it as the primary key answers an id, so it takes
        # get()'s path: one point read (no BEGIN/COMMIT), the statement compiled once, the
        # record made inside the read. The point read binds its one value whatever its type.
        key: Any = slug.strip()
        found = await self._context.get_record(self._get_by_slug, key)
        if found is None:
            raise NotFoundError(f"No project with slug {slug[:100]!r}.")
        return found  # type: ignore[no-any-return]

    @functools.cached_property
    def _get_by_slug(self) -> NativeGet:
        table = self._table
        return NativeGet(select(table).where(table.c.slug == bindparam("row_id")), ProjectRead)

    async def rename_slug(
        self,
        id: uuid.UUID | str,
        new_slug: str,
        *,
        expected_version: int | None = None,
    ) -> ProjectRead:
        """Give the project a new slug (its children keep pointing at it by id).

        Args:
            id: The project.
            new_slug: The new slug (``^[a-z0-9]+(?:-[a-z0-9]+)*$``, at most 100 characters).
            expected_version: Fail with ``ConflictError`` unless the project is at this version.

        Raises:
            NotFoundError: No such project.
            ValidationError: ``new_slug`` is not a valid slug.
            AlreadyExistsError: Another project has this slug.
            ConflictError: The project is not at ``expected_version``.
        """
        changes = self._validated({"slug": new_slug})
        return await self.update(id, changes, expected_version=expected_version)

    async def archive(
        self, id: uuid.UUID | str, *, expected_version: int | None = None
    ) -> ProjectRead:
        """Set the project's status to ``archived`` (a no-op if it already is).

        Archiving bumps ``version`` and publishes an ``updated`` change; archiving an archived
        project changes nothing and returns it as stored.

        Raises:
            NotFoundError: No such project.
            ConflictError: The project is not at ``expected_version``.
        """
        row_id = _as_id(id)
        async with self._context.transaction():
            current = await self.get(row_id)
            if current.status is ProjectStatus.ARCHIVED:
                if expected_version is not None and current.version != expected_version:
                    raise self._stale(row_id, expected_version, current.version)
                return current
            return await self.update(
                row_id,
                self._validated({"status": ProjectStatus.ARCHIVED}),
                expected_version=expected_version,
            )

    @staticmethod
    def _validated(values: dict[str, Any]) -> ProjectUpdate:
        with translating():
            return ProjectUpdate.model_validate(values)
