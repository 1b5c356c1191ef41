"""A lake unit's :class:`Change` records as one compact text, DuckLake's commit extra info.

The lake's change feed rides on the commit itself: every lake unit that changed rows calls
DuckLake's ``set_commit_message`` before its COMMIT, so the records are stored in the
catalog's row for the unit's snapshot (``ducklake_snapshot_changes``), written in the same
catalog transaction as the data: all or nothing, with no table of their own (a second lake
table in every commit cost a one-row unit ~+35% CPU, docs/performance.md).

The text is ``FORMAT`` then a JSON list of *runs*, one per stretch of changes with the same
table and kind: ``[aggregate, kind, ids, versions, project_ids, cascaded]`` where

* ``ids`` is the base64 of the ids' 16 bytes each, one after the other;
* ``versions`` is ``null`` (no row has one), one number (every row has it), or a list;
* ``project_ids`` is ``null`` (none), ``"="`` (each row's own id: projects), base64 as for
  ``ids``, or a list of strings and nulls when only some rows have one;
* ``cascaded`` is a delete's ``{"counts": {...}, "ids": {table: [id, ...]}}`` or ``null``.

A bulk create is one run built from its Arrow id column (:class:`BulkChanges`): no Python
object per row on the writer's side; the subscriber makes the records.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

import pyarrow as pa

from project_architect_db.repositories.changes import Change, ChangeKind

__all__ = ["AUTHOR", "FORMAT", "BulkChanges", "decode", "encode"]

#: The author of every snapshot the library's units commit.
AUTHOR = "project-architect-db"
#: The commit message of a snapshot whose extra info is this module's text (and its prefix).
FORMAT = "padb-changes/1"

Make = Callable[[], Iterable[Change]]


class BulkChanges:
    """A bulk create's changes, kept as its Arrow rows until someone needs them.

    Called, it gives the :class:`Change` records (a file publishes them after the commit, when
    someone subscribes); :meth:`run` gives the lake's encoded run straight from the columns.
    """

    __slots__ = ("_ids", "_project_column", "_table", "aggregate", "version")

    def __init__(
        self,
        aggregate: str,
        version: int | None,
        table: Callable[[], pa.Table],
        ids: Callable[[], list[uuid.UUID]],
        project_column: str | None,
    ) -> None:
        self.aggregate = aggregate
        self.version = version
        self._table = table
        self._ids = ids
        self._project_column = project_column

    def _projects(self, table: pa.Table) -> pa.ChunkedArray | None:
        column = self._project_column
        if column and column in table.column_names:
            return table.column(column)
        return None

    def __call__(self) -> list[Change]:
        ids = self._ids()
        projects = self._projects(self._table())
        # pa.uuid() columns give uuid.UUID values (pyarrow >= 22, the pinned range)
        project_ids = projects.to_pylist() if projects is not None else ids
        created, version, aggregate = ChangeKind.CREATED, self.version, self.aggregate
        return [
            Change(aggregate, i, created, version, p) for i, p in zip(ids, project_ids, strict=True)
        ]

    def run(self) -> list[Any] | None:
        """The encoded run, or ``None`` when a column cannot be read as plain 16-byte ids."""
        table = self._table()
        ids = _id_bytes(table.column("id"))
        projects = self._projects(table)
        project_ids: str | None = "="
        if projects is not None:
            raw = _id_bytes(projects)
            if raw is None:
                return None
            project_ids = _b64(raw)
        if ids is None:
            return None
        return [self.aggregate, str(ChangeKind.CREATED), _b64(ids), self.version, project_ids, None]


def _id_bytes(column: pa.ChunkedArray) -> bytes | None:
    """The 16 bytes of each id of a ``pa.uuid()`` column, one after the other (no nulls)."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if isinstance(array, pa.ExtensionArray):
        array = array.storage
    if not pa.types.is_fixed_size_binary(array.type) or array.null_count:
        return None
    buffer: pa.Buffer = array.buffers()[1]
    start = array.offset * 16
    raw: bytes = buffer.to_pybytes()[start : start + 16 * len(array)]
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _uuids(text: str) -> list[uuid.UUID]:
    raw = base64.b64decode(text)
    return [uuid.UUID(bytes=raw[i : i + 16]) for i in range(0, len(raw), 16)]


def encode(makes: Sequence[Make]) -> str | None:
    """The unit's changes (its emitted makers, in order) as the commit's text; ``None``: none."""
    runs: list[list[Any]] = []
    for make in makes:
        run = make.run() if isinstance(make, BulkChanges) else None
        if run is not None:
            runs.append(run)
            continue
        changes = list(make())
        for _, group in groupby(changes, key=_run_key):
            runs.append(_run(list(group)))
    if not runs:
        return None
    return FORMAT + json.dumps(runs, separators=(",", ":"))


def _run_key(change: Change) -> tuple[Any, ...]:
    # a cascading delete is a run of its own: its cascade belongs to that row only
    return change.aggregate, change.kind, id(change) if change.cascaded else None


def _run(changes: list[Change]) -> list[Any]:
    first = changes[0]
    versions = [change.version for change in changes]
    projects = [change.project_id for change in changes]
    return [
        first.aggregate,
        str(first.kind),
        _b64(b"".join(change.id.bytes for change in changes)),
        _versions(versions),
        _project_ids(projects, changes),
        _cascade(first),
    ]


def _versions(versions: list[int | None]) -> int | list[int | None] | None:
    if all(version == versions[0] for version in versions):
        return versions[0]
    return versions


def _project_ids(projects: list[uuid.UUID | None], changes: list[Change]) -> Any:
    if all(project is None for project in projects):
        return None
    if all(project == change.id for project, change in zip(projects, changes, strict=True)):
        return "="
    if all(project is not None for project in projects):
        return _b64(b"".join(project.bytes for project in projects if project is not None))
    return [None if project is None else str(project) for project in projects]


def _cascade(change: Change) -> dict[str, Any] | None:
    if not change.cascaded:
        return None
    ids = {table: [str(i) for i in found] for table, found in change.cascaded_ids.items()}
    return {"counts": dict(change.cascaded), "ids": ids}


def decode(text: str, committed_at: datetime) -> list[Change]:
    """The :class:`Change` records of a commit's text (made by :func:`encode`)."""
    changes: list[Change] = []
    for aggregate, kind, ids_text, versions, project_ids, cascade in json.loads(
        text[len(FORMAT) :]
    ):
        ids = _uuids(ids_text)
        count = len(ids)
        versions_of = versions if isinstance(versions, list) else [versions] * count
        projects = _decoded_projects(project_ids, ids)
        counts: dict[str, int] = {}
        cascaded_ids: dict[str, tuple[uuid.UUID, ...]] = {}
        if cascade is not None:
            counts = cascade["counts"]
            found = cascade["ids"].items()
            cascaded_ids = {table: tuple(uuid.UUID(i) for i in listed) for table, listed in found}
        change_kind = ChangeKind(kind)
        changes.extend(
            Change(
                aggregate,
                row_id,
                change_kind,
                version,
                project,
                committed_at=committed_at,
                cascaded=counts,
                cascaded_ids=cascaded_ids,
            )
            for row_id, version, project in zip(ids, versions_of, projects, strict=True)
        )
    return changes


def _decoded_projects(project_ids: Any, ids: list[uuid.UUID]) -> list[uuid.UUID | None]:
    if project_ids is None:
        return [None] * len(ids)
    if project_ids == "=":
        return list(ids)
    if isinstance(project_ids, str):
        return list(_uuids(project_ids))
    return [None if value is None else uuid.UUID(value) for value in project_ids]
