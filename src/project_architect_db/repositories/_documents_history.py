"""Document revisions: every change that bumps a document's version keeps its previous state.

See the module docstring of ``documents.py`` for the design. Two write paths share it:

* :func:`revise` changes one document (``update``): it copies the current state into a
  ``document_versions`` row numbered with the current version (with the ``created_at`` of the
  row numbered one less as its ``previous_created_at``: ``document_churn`` counts from it), then
  applies the change with
  ``version = version + 1`` (``WHERE version = <read version>``, so a concurrent change is a
  ``ConflictError``, never a lost revision).
* :func:`sync_documents` upserts a batch by ``(project_id, path)`` (``upsert``,
  ``bulk_upsert``, ``import_dir``): it reads the existing rows of those paths in one join, skips
  records whose fields are unchanged, inserts the new ones through Arrow, and for the changed
  ones copies their states into ``document_versions`` and updates them with two set-based
  statements (``INSERT ... SELECT`` and ``UPDATE ... FROM`` over an Arrow table).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import pyarrow as pa
from pydantic_core import to_json
from sqlalchemy import select, update

from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import AlreadyExistsError, ConflictError, NotFoundError
from project_architect_db.models import Document, DocumentVersion
from project_architect_db.repositories._arrow import new_ids
from project_architect_db.repositories._integrity import resolve_parents
from project_architect_db.repositories._lake import insert_rows
from project_architect_db.repositories._lake_writes import claim_natural_keys
from project_architect_db.repositories.base import AsyncRepository
from project_architect_db.repositories.changes import ChangeKind
from project_architect_db.schemas import DocumentCreate, DocumentVersionRead, content_digest
from project_architect_db.schemas.common import CreateSchema, UpdateSchema

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

    from project_architect_db.repositories.documents import DocumentRepository

__all__ = ["SyncResult", "VersionStore", "paths_key", "revise", "sync_documents", "writes_key"]

_views = itertools.count(1)
#: Fields written by an import (content only) and by a full upsert; a record differs from the
#: stored row when one of them differs (the content through its hash: it is not read back).
_CONTENT = ("content", "content_hash", "size_bytes")
_ALL = ("title", "doc_type", "metadata", *_CONTENT)
_COMPARED = frozenset({"title", "doc_type", "metadata", "content_hash"})


class VersionStore(
    AsyncRepository[DocumentVersion, CreateSchema, UpdateSchema, DocumentVersionRead]
):
    """Reads and change events for ``document_versions`` (rows are written only here)."""

    model = DocumentVersion
    read_schema = DocumentVersionRead


class _Changed(NamedTuple):
    """What the change feed needs of a row written by a set-based statement."""

    id: uuid.UUID
    project_id: uuid.UUID
    version: int | None


@dataclass(slots=True)
class SyncResult:
    """The ids a batch upsert created, updated (a new revision) and left unchanged."""

    created: list[uuid.UUID] = field(default_factory=list)
    updated: list[uuid.UUID] = field(default_factory=list)
    unchanged: list[uuid.UUID] = field(default_factory=list)


def writes_key(document_id: uuid.UUID) -> tuple[str, uuid.UUID]:
    """The lock key serialising revisions of one document."""
    return ("documents.writes", document_id)


def paths_key(project_id: uuid.UUID) -> tuple[str, uuid.UUID]:
    """The lock key serialising batch upserts into one project's paths."""
    return ("documents.paths", project_id)


async def revise(
    repo: DocumentRepository,
    versions: VersionStore,
    tx: Transaction,
    row_id: uuid.UUID,
    changes: dict[str, Any],
    expected: int | None,
) -> Any:
    """Apply ``changes`` (attribute names) to one document, keeping its previous state.

    Returns the document's row as stored (unchanged, and no revision written, when every
    given field already has the given value).

    Raises:
        NotFoundError: No such document.
        ConflictError: It is not at ``expected``, or changed concurrently.
    """
    locks = repo._context.locks
    await locks.exclusive(tx, writes_key(row_id))
    await locks.shared(tx, row_id)
    locks.check_not_deleted(tx, row_id, "document")
    current = (await tx.execute(repo._by_id(), {"row_id": row_id})).one_or_none()
    if current is None:
        raise NotFoundError(f"No document with id {row_id}.")
    if expected is not None and current.version != expected:
        raise repo._stale(row_id, expected, current.version)
    if "content" in changes:
        changes["content_hash"], changes["size_bytes"] = content_digest(changes["content"])
    table = repo._table
    values = {
        repo._attributes[key].key: value
        for key, value in changes.items()
        if key in repo._attributes and current._mapping[repo._attributes[key].name] != value
    }
    if not values:
        return current
    if "path" in values:  # a lake has no UNIQUE (project_id, path) index to refuse a taken one
        moved = {"project_id": current.project_id, "path": values["path"]}
        await claim_natural_keys(repo, tx, [moved], own_id=row_id)
    kept = versions._table
    previous = await tx.execute(
        select(kept.c.created_at).where(
            kept.c.document_id == current.id, kept.c.version == current.version - 1
        )
    )
    async with _revised_concurrently(f"Document {row_id} was"):
        (version_row,) = await insert_rows(  # RETURNING, or read back on a lake
            tx,
            kept,
            [
                {
                    "document_id": current.id,
                    "project_id": current.project_id,
                    "version": current.version,
                    "title": current.title,
                    "content": current.content,
                    "content_hash": current.content_hash,
                    "size_bytes": current.size_bytes,
                    "created_at": current.updated_at,
                    "previous_created_at": previous.scalar_one_or_none(),
                }
            ],
        )
    statement = (
        update(table)
        .where(table.c.id == row_id, table.c.version == current.version)
        .values({**values, "version": table.c.version + 1, "updated_at": datetime.now(UTC)})
    )
    # no RETURNING: DuckDB 1.5 can update a row twice with it (AsyncRepository._update_statement)
    updated = cast("CursorResult[Any]", await tx.execute(statement)).rowcount
    if not updated:  # pragma: no cover - the writes lock and DuckDB's conflict check prevent it
        raise ConflictError(f"Document {row_id} changed while it was being revised; retry.")
    row = (await tx.execute(repo._by_id(), {"row_id": row_id})).one()  # sees its own write
    repo._emit(tx, ChangeKind.UPDATED, [row])
    versions._emit(tx, ChangeKind.CREATED, [version_row])
    return row


async def sync_documents(
    repo: DocumentRepository,
    versions: VersionStore,
    tx: Transaction,
    records: Sequence[DocumentCreate],
    *,
    content_only: bool,
) -> SyncResult:
    """Upsert ``records`` by ``(project_id, path)``, keeping the previous state of changed ones.

    Args:
        repo: The document repository (its table, Arrow helpers and change feed).
        versions: Where previous states go.
        tx: The unit of work.
        records: The documents; for a repeated path the last record wins.
        content_only: Compare and write only the content (an import keeps an existing
            document's title, type and metadata); otherwise every field of the record.

    Raises:
        IntegrityError: A project does not exist.
        ConflictError: A document changed concurrently.
    """
    latest = {(record.project_id, record.path): record for record in records}
    projects = sorted({project_id for project_id, _ in latest})
    locks = repo._context.locks
    for project_id in projects:
        await locks.exclusive(tx, paths_key(project_id))
    if not tx.snapshot_taken():
        # An update of one of these documents (``revise``) holds its writes lock while it
        # copies the current version. Taking the same locks before this transaction's
        # snapshot serialises the two: a revision committed while this waited is seen here,
        # not copied a second time (a duplicate version). In a unit of work that already read,
        # DuckDB's conflict check refuses the second writer instead (retryable ConflictError).
        ahead = await _at_keys(repo._context.executor.run_native_read, latest, "d.id")
        keys = sorted(writes_key(row_id) for (row_id,) in ahead)
        await locks.many(tx, [(key, True) for key in keys])
    await resolve_parents(tx, locks, Document, [{"project_id": pid} for pid in projects])
    existing = await _existing(tx.run_native, latest)
    fields = _CONTENT if content_only else _ALL
    result = SyncResult()
    fresh: list[DocumentCreate] = []
    changed: list[tuple[dict[str, Any], DocumentCreate]] = []
    for key, record in latest.items():
        old = existing.get(key)
        if old is None:
            fresh.append(record)
        elif any(old[name] != _value(record, name) for name in _COMPARED.intersection(fields)):
            changed.append((old, record))
        else:
            result.unchanged.append(old["id"])
    if changed:
        result.updated = await _revise_many(repo, versions, tx, changed, fields)
    if fresh:
        result.created = await repo.bulk_create(fresh)  # joins tx; publishes the creations
    return result


@asynccontextmanager
async def _revised_concurrently(what: str) -> AsyncIterator[None]:
    """A duplicate ``(document_id, version)`` while copying: a concurrent revision won.

    The copy reads the version in this transaction's snapshot; a revision that committed after
    the snapshot was taken already kept that version. DuckDB reports the clash as a unique-key
    violation: it is a write-write conflict, and running the unit of work again succeeds.
    """
    try:
        yield
    except AlreadyExistsError as error:
        raise ConflictError(
            f"{what} revised by another transaction after this one began (its snapshot still "
            "showed the older version); nothing of this transaction was written. Run the unit "
            "of work again."
        ) from error


def _value(record: DocumentCreate, name: str) -> Any:
    if name == "metadata":
        return record.metadata_
    return getattr(record, name)


_Run = Callable[[Callable[[Any], list[tuple[Any, ...]]]], Awaitable[list[tuple[Any, ...]]]]
_COLUMNS = ("id", "project_id", "path", "version", "title", "doc_type", "content_hash")


async def _at_keys(
    run: _Run, latest: dict[tuple[uuid.UUID, str], DocumentCreate], select: str
) -> list[tuple[Any, ...]]:
    """``SELECT {select}`` of the documents ``d`` at the given ``(project_id, path)`` keys.

    ``run`` runs the read on a DuckDB connection: the transaction's, or a kept reader's.
    """
    keys = pa.table(
        {
            "project_id": pa.array([key[0].bytes for key in latest], pa.uuid()),
            "path": pa.array([key[1] for key in latest], pa.string()),
        }
    )
    view = f"padb_doc_keys_{next(_views)}"
    query = (  # k MATERIALIZED: no filter on its UUID pushed into the Arrow scan (_revise_many)
        f'WITH k AS MATERIALIZED (SELECT * FROM "{view}") SELECT {select} '
        "FROM documents d JOIN k ON d.project_id = k.project_id AND d.path = k.path"
    )

    def fetch(duck: Any) -> list[tuple[Any, ...]]:
        duck.register(view, keys)
        try:
            rows: list[tuple[Any, ...]] = duck.execute(query).fetchall()
        finally:
            duck.unregister(view)
        return rows

    return await run(fetch)


async def _existing(
    run: _Run, latest: dict[tuple[uuid.UUID, str], DocumentCreate]
) -> dict[tuple[uuid.UUID, str], dict[str, Any]]:
    """The current rows (without their content) at the given ``(project_id, path)`` keys."""
    select = f"{', '.join(f'd.{name}' for name in _COLUMNS)}, d.metadata, d.size_bytes"
    found: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    for row in await _at_keys(run, latest, select):
        values = dict(zip((*_COLUMNS, "metadata", "size_bytes"), row, strict=True))
        values["metadata"] = json.loads(values["metadata"]) if values["metadata"] else {}
        found[(values["project_id"], values["path"])] = values
    return found


async def _revise_many(
    repo: DocumentRepository,
    versions: VersionStore,
    tx: Transaction,
    changed: list[tuple[dict[str, Any], DocumentCreate]],
    fields: Sequence[str],
) -> list[uuid.UUID]:
    """Copy the changed documents into ``document_versions`` and apply the new fields."""
    ids = [old["id"] for old, _ in changed]
    version_ids = new_ids(len(changed))
    now = datetime.now(UTC).replace(tzinfo=None)
    columns: dict[str, pa.Array] = {
        "id": pa.array([i.bytes for i in ids], pa.uuid()),
        "version_id": pa.array([i.bytes for i in version_ids], pa.uuid()),
        "version": pa.array([old["version"] for old, _ in changed], pa.int32()),
        "updated_at": pa.array([now] * len(changed), pa.timestamp("us")),
    }
    for name in fields:
        values = [_value(record, name) for _, record in changed]
        if name == "metadata":
            columns[name] = pa.array([to_json(v).decode() for v in values], pa.string())
        elif name == "size_bytes":
            columns[name] = pa.array(values, pa.int64())
        else:
            columns[name] = pa.array([str(v) for v in values], pa.string())
    new = pa.table(columns)
    view = f"padb_doc_revisions_{next(_views)}"
    assignments = ", ".join(f'"{name}" = n."{name}"' for name in fields)
    copy = (
        # n MATERIALIZED: with the join to the previous versions, DuckDB 1.5 may push a filter
        # on a UUID into the Arrow scan, which it does not implement ("Unimplemented type UUID
        # for Arrow Filter Pushdown")
        "INSERT INTO document_versions (id, document_id, project_id, version, title, content, "
        "content_hash, size_bytes, created_at, previous_created_at) "
        f'WITH n AS MATERIALIZED (SELECT * FROM "{view}") SELECT n.version_id, d.id, '
        "d.project_id, d.version, d.title, d.content, d.content_hash, d.size_bytes, "
        "d.updated_at, p.created_at FROM documents d JOIN n ON d.id = n.id AND "
        "d.version = n.version LEFT JOIN document_versions p ON p.document_id = d.id AND "
        "p.version = d.version - 1"
    )
    apply = (  # n MATERIALIZED for the same reason: the join's filters stay out of the scan
        f'WITH n AS MATERIALIZED (SELECT * FROM "{view}") '
        f"UPDATE documents SET {assignments}, version = documents.version + 1, "
        "updated_at = n.updated_at FROM n "
        "WHERE documents.id = n.id AND documents.version = n.version"
    )

    def write(duck: Any) -> tuple[int, int]:
        duck.register(view, new)
        try:
            copied = duck.execute(copy).fetchone()[0]
            applied = duck.execute(apply).fetchone()[0]
        finally:
            duck.unregister(view)
        return int(copied), int(applied)

    async with _revised_concurrently(f"{len(changed)} document(s) were"):
        copied, applied = await tx.run_native(write)
    if copied != len(changed) or applied != len(changed):
        raise ConflictError(
            f"{len(changed) - min(copied, applied)} of the documents changed while they were "
            "being revised. Roll back and run the unit of work again."
        )
    repo._emit(
        tx,
        ChangeKind.UPDATED,
        [_Changed(old["id"], old["project_id"], old["version"] + 1) for old, _ in changed],
    )
    versions._emit(
        tx,
        ChangeKind.CREATED,
        [
            _Changed(version_id, old["project_id"], None)
            for version_id, (old, _) in zip(version_ids, changed, strict=True)
        ],
    )
    return ids
