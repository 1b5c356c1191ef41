"""The document repository: documents with their version history, and folder import/export.

**Versions.** A document's ``version`` counts its revisions from 1 (and is its optimistic
lock). Every change that bumps it (new content, title, path, type or metadata, through
``update``, ``upsert``, ``bulk_upsert`` or ``import_dir``) first copies the document's state
into a ``document_versions`` row numbered with the version being replaced, whose
``created_at`` is when the document reached that version. So for a document at version *n*:

* versions ``1 .. n-1`` are ``document_versions`` rows: :meth:`DocumentRepository.history`
  lists exactly these (newest first) and :meth:`DocumentRepository.get_version` returns one;
* version ``n`` is the document itself (:meth:`DocumentRepository.get`): ``get_version(id, n)``
  raises ``NotFoundError`` saying so, like any version ``history()`` does not list.

Only the previous state is stored, never the current one twice, so a document costs one row
until it is edited. A change that sets fields to the values they already have writes nothing
and keeps the version (re-importing an unchanged folder is free). ``create`` and ``bulk_create``
start documents at version 1 with no history; deleting a document deletes its history.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import exists, select

from project_architect_db.core._worker import to_thread
from project_architect_db.exceptions import InvalidQueryError, NotFoundError, ValidationError
from project_architect_db.exceptions._translate import translate
from project_architect_db.models import Document, Project
from project_architect_db.queries.sorting import parse_order
from project_architect_db.repositories._documents_files import (
    DocumentSyncSummary,
    check_targets,
    read_tree,
    write_files,
)
from project_architect_db.repositories._documents_history import (
    VersionStore,
    revise,
    sync_documents,
)
from project_architect_db.repositories._pages import page_statement
from project_architect_db.repositories._reads import _as_id
from project_architect_db.repositories.base import AsyncRepository
from project_architect_db.schemas import (
    DocumentCreate,
    DocumentRead,
    DocumentUpdate,
    DocumentVersionRead,
)

__all__ = ["DocumentRepository", "DocumentSyncSummary"]

_NATURAL_KEY = ("project_id", "path")
_EXPORT_BATCH = 200


class DocumentRepository(AsyncRepository[Document, DocumentCreate, DocumentUpdate, DocumentRead]):
    """Documents of a project, unique by (project, path), with their revisions.

    Examples:
        >>> # doc = await db.documents.create({"project_id": pid, "path": "README.md"})
        >>> # doc = await db.documents.update(doc.id, {"content": "# Atlas"})   # version 2
        >>> # [v.version for v in await db.documents.history(doc.id)]            # [1]
    """

    model = Document
    create_schema = DocumentCreate
    update_schema = DocumentUpdate
    read_schema = DocumentRead
    natural_key = _NATURAL_KEY

    @cached_property
    def _versions(self) -> VersionStore:
        return VersionStore(self._context)

    # -- revisions ---------------------------------------------------------------------------
    async def update(
        self,
        id: uuid.UUID | str,
        data: DocumentUpdate | Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> DocumentRead:
        """Change a document, keeping its previous state as a version row.

        Args:
            id: The document.
            data: The fields to change; a new ``content`` recomputes hash and size.
            expected_version: Fail with ``ConflictError`` unless the document is at this
                version (also read from ``data.expected_version``).

        Raises:
            NotFoundError: No such document.
            ConflictError: It is not at ``expected_version``.
            ValidationError: Invalid data.
            AlreadyExistsError: The new ``path`` is taken in the project.
        """
        row_id = _as_id(id)
        record: DocumentUpdate = self._coerce(data, DocumentUpdate)
        changes = record.changes()
        changes.pop("expected_version", None)
        if expected_version is None:
            expected_version = record.expected_version
        async with self._context.transaction() as tx:
            row = await revise(self, self._versions, tx, row_id, changes, expected_version)
        return self._read(row)

    async def history(self, document_id: uuid.UUID | str) -> list[DocumentVersionRead]:
        """The document's previous versions, newest first (the current one is ``get(id)``).

        Raises:
            NotFoundError: No such document.
        """
        row_id = _as_id(document_id)
        versions = self._versions._table
        statement = (
            select(versions)
            .where(versions.c.document_id == row_id)
            .order_by(versions.c.version.desc())
        )
        async with self._context.transaction() as tx:
            rows = (await tx.execute(statement)).all()
            if not rows:
                await self.get(row_id)
        return [self._versions._read(row) for row in rows]

    async def get_version(self, document_id: uuid.UUID | str, version: int) -> DocumentVersionRead:
        """The document as it was at ``version`` (one of those :meth:`history` lists).

        Raises:
            NotFoundError: No such document, or it has no such previous version (including
                its current version: read that with ``get``).
            ValidationError: ``version`` is not a positive integer.
        """
        row_id = _as_id(document_id)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValidationError(f"version must be a positive integer, not {version!r}.")
        versions = self._versions._table
        statement = select(versions).where(
            versions.c.document_id == row_id, versions.c.version == version
        )
        async with self._context.transaction() as tx:
            row = (await tx.execute(statement)).one_or_none()
            if row is None:
                current = await self.get(row_id)
                if version == current.version:
                    raise NotFoundError(
                        f"Version {version} is document {row_id}'s current version; read it "
                        "with get(id). get_version returns previous versions."
                    )
                raise NotFoundError(
                    f"Document {row_id} has no version {version} (it is at version "
                    f"{current.version})."
                )
        return self._versions._read(row)

    async def get_by_path(self, project_id: uuid.UUID | str, path: str) -> DocumentRead:
        """The document at ``path`` in the project (the path is normalised as on create).

        Raises:
            NotFoundError: No document at that path.
            ValidationError: ``path`` is not a valid document path.
        """
        record = self._coerce({"project_id": project_id, "path": path}, DocumentCreate)
        table = self._table
        # One read, not a unit of work (no BEGIN/COMMIT hops). The composite unique index
        # cannot answer it (DuckDB's ART serves a single-column equality only): the project's
        # rows come from the project_id index, and the path is checked among them.
        statement = page_statement(
            table,
            [table.c.project_id == record.project_id, table.c.path == record.path],
            parse_order(self.model, None),
            limit=1,
        )
        async with self._context.reading() as reader:
            rows = await reader.rows(statement)
        if not rows:
            raise NotFoundError(f"No document at {record.path!r} in project {record.project_id}.")
        return self._read(rows[0])

    # -- upserts keep history too ------------------------------------------------------------
    async def upsert(
        self, data: DocumentCreate | Mapping[str, Any], *, on: Sequence[str] | None = None
    ) -> DocumentRead:
        """Create the document at ``(project_id, path)``, or revise the one there.

        An existing document that differs gets every field of ``data`` and a new version
        (its previous state kept); one that does not differ is returned as it is.

        Raises:
            InvalidQueryError: ``on`` is not ``("project_id", "path")``.
            IntegrityError: The project does not exist.
        """
        self._check_key(on)
        record: DocumentCreate = self._coerce(data, DocumentCreate)
        async with self._context.transaction() as tx:
            result = await sync_documents(self, self._versions, tx, [record], content_only=False)
            (row_id,) = result.created or result.updated or result.unchanged
            row = (await tx.execute(self._by_id(), {"row_id": row_id})).one()
        return self._read(row)

    async def bulk_upsert(self, records: Iterable[Any], *, on: Sequence[str] | None = None) -> int:
        """Upsert many documents by ``(project_id, path)`` in a few set-based statements.

        Changed documents keep their previous state as a version row; unchanged ones are
        skipped. Returns how many distinct documents were given (last record per path wins).

        Raises:
            InvalidQueryError: ``on`` is not ``("project_id", "path")``.
            IntegrityError: A project does not exist.
        """
        self._check_key(on)
        batch: list[DocumentCreate] = self._records(records)  # type: ignore[assignment]
        if not batch:
            return 0
        async with self._context.transaction() as tx:
            result = await sync_documents(self, self._versions, tx, batch, content_only=False)
        return len(result.created) + len(result.updated) + len(result.unchanged)

    def _check_key(self, on: Sequence[str] | None) -> None:
        if on is not None and tuple(on) != _NATURAL_KEY:
            raise InvalidQueryError("Documents are upserted on ('project_id', 'path') only.")

    # -- folders -----------------------------------------------------------------------------
    async def import_dir(
        self,
        project_id: uuid.UUID | str,
        folder: str | os.PathLike[str],
        *,
        pattern: str = "**/*.md",
    ) -> DocumentSyncSummary:
        """Import the files under ``folder`` matching ``pattern`` as the project's documents.

        Each file becomes the document at its path relative to ``folder``. New paths are
        created (titled after the file name); a document whose content differs gets the file's
        content as a new version (title, type and metadata are kept); identical ones are
        skipped. Files are read in a worker thread; the writes are one transaction.

        Raises:
            ValidationError: ``folder`` is not a directory, a bad ``pattern``, a file that is
                not UTF-8 or is not a valid document (NUL characters, a path too long ...).
            NotFoundError: The project does not exist.
            StorageError: A file cannot be read.
        """
        owner = _as_id(project_id)
        await self._require_project(owner)
        files = await to_thread(read_tree, Path(folder), pattern)
        records = [_imported(owner, path, text) for path, text in files]
        if not records:
            return DocumentSyncSummary()
        async with self._context.transaction() as tx:
            result = await sync_documents(self, self._versions, tx, records, content_only=True)
        return DocumentSyncSummary(
            created=len(result.created),
            updated=len(result.updated),
            unchanged=len(result.unchanged),
        )

    async def export_dir(
        self, project_id: uuid.UUID | str, folder: str | os.PathLike[str]
    ) -> DocumentSyncSummary:
        """Write every document of the project to ``folder / path`` (folders created).

        Files already holding a document's exact content are left alone; others are written
        atomically. All paths are checked first: if one would land outside ``folder``, nothing
        is written. File IO runs in worker threads, a batch at a time.

        Raises:
            NotFoundError: The project does not exist.
            ValidationError: ``folder`` is a file, or a document path escapes it.
            StorageError: A file cannot be written.
        """
        owner = _as_id(project_id)
        target = Path(folder)
        table = self._table
        created = updated = unchanged = 0
        async with self._context.transaction() as tx:
            await self._require_project(owner)
            paths = list(
                (await tx.execute(select(table.c.path).where(table.c.project_id == owner)))
                .scalars()
                .all()
            )
            root = await to_thread(check_targets, target, paths)
            async for batch in self.stream(
                project_id=owner, order_by="path", batch_size=_EXPORT_BATCH
            ):
                written = await to_thread(
                    write_files, root, [(doc.path, doc.content) for doc in batch]
                )
                created, updated, unchanged = (
                    created + written[0],
                    updated + written[1],
                    unchanged + written[2],
                )
        return DocumentSyncSummary(created=created, updated=updated, unchanged=unchanged)

    async def _require_project(self, project_id: uuid.UUID) -> None:
        projects = Project.__table__
        async with self._context.transaction() as tx:
            found = (
                await tx.execute(select(exists().where(projects.c.id == project_id)))
            ).scalar_one()
        if not found:
            raise NotFoundError(f"No project with id {project_id}.")


def _imported(project_id: uuid.UUID, path: str, text: str) -> DocumentCreate:
    try:
        return DocumentCreate.model_validate(
            {"project_id": project_id, "path": path, "content": text}
        )
    except PydanticValidationError as error:
        translated = translate(error)
        raise ValidationError(f"Cannot import {path}: {translated}") from None
