"""The everyday calls of issue 13: library, raw DuckDB with the library's SQL, and SQLite.

Raw DuckDB runs the SQL the library sends for each call (``repositories/_pages.py``: for
pages, a window of the first key, then the page's rows by its key range; a materialised owner
scan for messages and paths), on a cursor of the library's own DuckDB instance, with bound
parameters: the library runs its point reads and owners' pages prepared once per connection
(``repositories/_prepared.py``), so on those calls raw plans each statement and the library
does not. SQLite runs
what a SQLAlchemy user would write against the peer's tables
(:func:`~project_architect_db.selfbench._sqlite_peer.peer_metadata`): a plain ``select`` with
``where``, ``order_by`` and ``limit``, and a row-value keyset predicate, which the peer's
composite B-tree indexes answer without a sort.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import duckdb
from sqlalchemy import Connection, MetaData, literal, select, tuple_

from project_architect_db.models import Project
from project_architect_db.queries.sorting import encode_cursor, parse_order
from project_architect_db.repositories._pages import WINDOW_ROWS

__all__ = ["BARS", "CALLS", "Samples", "calls", "load_samples"]

#: Per call: the bar at the large size (ms; ``None``: documented cost, no bar), the largest
#: growth from the small to the large size, and whether it is held to "within 3x of SQLite".
BARS: Final[dict[str, tuple[float | None, float | None, bool]]] = {
    "get": (2.0, None, True),
    "page": (10.0, 1.5, True),
    "keyset page 2": (10.0, 1.5, True),
    "keyset deep": (10.0, 1.5, True),
    "messages page": (10.0, 1.5, True),
    "by slug": (10.0, None, True),
    "by path": (10.0, None, True),
    "offset 10000": (None, None, False),
}
CALLS: Final = tuple(BARS)

_PROJECT_COLUMNS = (
    "id, name, slug, description, status, phase, owner_id, tags, tech_stack, architecture, "
    "metadata, created_at, updated_at, version"
)
_MESSAGE_COLUMNS = (
    "id, conversation_id, project_id, sequence, role, content, type, token_count, metadata, "
    "created_at"
)
_DOCUMENT_COLUMNS = (
    "id, project_id, path, title, doc_type, content, content_hash, size_bytes, metadata, "
    "created_at, updated_at, version"
)
_GET = f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id = $1"
_ORDER = "ORDER BY created_at DESC, id DESC"
# The page's rowids and first key in a window near its start (``repositories/_pages.py``:
# exact when it holds the whole page, as it does here), then its rows from the page's range.
_HIGH, _LOW = "epoch_us(max(created_at))", "epoch_us(min(created_at))"
_SPAN = f"CAST(({_HIGH} - {_LOW}) * least(1.0, $1 / count(*)) AS BIGINT)"
_WINDOW = (
    f"created_at >= (SELECT make_timestamp(greatest({_LOW}, {_HIGH} - {_SPAN})) FROM projects)"
)
_KEYSET_WINDOW = (
    "created_at >= (SELECT make_timestamp(greatest("
    f"{_LOW}, least({_HIGH}, epoch_us($3::TIMESTAMP)) - {_SPAN})) FROM projects)"
)


def _rows_of_page(found: str) -> str:
    return (
        f"WITH projects_page AS MATERIALIZED (SELECT rowid AS r, created_at AS k FROM projects "
        f"{found}) SELECT {_PROJECT_COLUMNS} FROM projects "
        "WHERE created_at >= (SELECT min(k) FROM projects_page) "
        "AND created_at <= (SELECT max(k) FROM projects_page) "
        f"AND rowid IN (SELECT r FROM projects_page) {_ORDER}"
    )


_PAGE = _rows_of_page(f"WHERE status = $2 AND {_WINDOW} {_ORDER} LIMIT 51")
_AFTER = "(created_at < $3 OR created_at = $3 AND id < $4)"
_KEYSET = _rows_of_page(
    f"WHERE status = $2 AND created_at <= $3 AND {_AFTER} AND {_KEYSET_WINDOW} {_ORDER} LIMIT 51"
)
#: The window's rows for a page of ``limit + 1 + offset`` rows (``_pages.WINDOW_ROWS``).
_ROWS = float(WINDOW_ROWS)
_OFFSET_ROWS = float(WINDOW_ROWS * -(-(51 + 10_000) // 64))
_MESSAGES = (
    f"WITH m AS MATERIALIZED (SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1) "
    f"SELECT {_MESSAGE_COLUMNS} FROM m ORDER BY sequence ASC, id ASC LIMIT 51"
)
_SLUG = f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE slug = $1"
_PATH = (
    f"WITH d AS MATERIALIZED (SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE project_id = $1) "
    f"SELECT {_DOCUMENT_COLUMNS} FROM d WHERE path = $2 ORDER BY id ASC LIMIT 1"
)
_OFFSET = _rows_of_page(f"WHERE status = $2 AND {_WINDOW} {_ORDER} LIMIT 51 OFFSET 10000")


@dataclass(frozen=True, slots=True)
class Samples:
    """Arguments drawn from one file: ids, slugs, conversations, paths and two page bounds."""

    ids: list[uuid.UUID]
    slugs: list[str]
    conversations: list[uuid.UUID]
    paths: list[tuple[uuid.UUID, str]]
    #: Page 1's last key (keyset page 2) and a key a quarter into the table (keyset deep).
    page_one_last: tuple[datetime, uuid.UUID]
    middle: tuple[datetime, uuid.UUID]


def load_samples(raw: duckdb.DuckDBPyConnection, rng: random.Random, count: int) -> Samples:
    """Draw ``count`` random projects (with their conversation and document) from ``raw``."""
    total = raw.execute("SELECT count(*) FROM projects").fetchone()[0]  # type: ignore[index]
    picks = sorted(rng.sample(range(total), min(count, total)))

    def rows(sql: str) -> list[Any]:
        return raw.execute(
            sql + " WHERE rowid IN (SELECT unnest($1::BIGINT[]))", [picks]
        ).fetchall()

    projects = rows("SELECT id, slug FROM projects")
    conversations = rows("SELECT id FROM conversations")
    paths = rows("SELECT project_id, path FROM documents")
    active = "SELECT created_at, id FROM projects WHERE status = 'active' " + _ORDER
    last = raw.execute(active + " LIMIT 1 OFFSET 49").fetchone()
    middle = raw.execute(active + " LIMIT 1 OFFSET $1", [total // 4]).fetchone()
    if last is None or middle is None:
        from project_architect_db.exceptions import ConfigurationError

        raise ConfigurationError(
            "the benchmark needs at least 50 active projects and a quarter of the file "
            f"active; this file has {total} projects: give it more (--projects >= 200)."
        )
    return Samples(
        [row[0] for row in projects],
        [row[1] for row in projects],
        [row[0] for row in conversations],
        [(row[0], row[1]) for row in paths],
        (last[0], last[1]),
        (middle[0], middle[1]),
    )


@dataclass(frozen=True, slots=True)
class _Key:
    created_at: datetime
    id: uuid.UUID


def _cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    return encode_cursor(Project, parse_order(Project, "-created_at"), _Key(created_at, row_id))


Call = Callable[[], Any]
"""A library call returns an awaitable; raw and SQLite calls return their rows."""


def calls(
    db: Any,
    raw: duckdb.DuckDBPyConnection,
    lite: Connection | None,
    tables: MetaData,
    samples: Samples,
    rng: random.Random,
) -> dict[str, tuple[Call, Call, Call | None]]:
    """Per call, with fresh random arguments: ``(library, raw DuckDB, SQLite or None)``."""
    index = rng.randrange(len(samples.ids))
    project_id, slug = samples.ids[index], samples.slugs[index]
    conversation = rng.choice(samples.conversations)
    document_project, path = rng.choice(samples.paths)
    page_two, deep = _cursor(*samples.page_one_last), _cursor(*samples.middle)
    projects, messages = tables.tables["projects"], tables.tables["messages"]
    documents = tables.tables["documents"]
    newest = (projects.c.created_at.desc(), projects.c.id.desc())

    def sql(text: str, *params: Any) -> Call:
        return lambda: raw.execute(text, list(params)).fetchall()

    def peer(statement: Any) -> Call | None:
        if lite is None:
            return None
        connection = lite
        return lambda: connection.execute(statement).fetchall()

    def after(key: tuple[datetime, uuid.UUID]) -> Any:
        bound = (
            literal(key[0].replace(tzinfo=UTC), projects.c.created_at.type),
            literal(key[1], projects.c.id.type),
        )
        return tuple_(projects.c.created_at, projects.c.id) < tuple_(*bound)

    active = select(projects).where(projects.c.status == "active").order_by(*newest)
    return {
        "get": (
            lambda: db.projects.get(project_id),
            sql(_GET, project_id),
            peer(select(projects).where(projects.c.id == project_id)),
        ),
        "page": (
            lambda: db.projects.list(status="active", order_by="-created_at", limit=50),
            sql(_PAGE, _ROWS, "active"),
            peer(active.limit(51)),
        ),
        "keyset page 2": (
            lambda: db.projects.list(
                status="active", order_by="-created_at", limit=50, cursor=page_two
            ),
            sql(_KEYSET, _ROWS, "active", *samples.page_one_last),
            peer(active.where(after(samples.page_one_last)).limit(51)),
        ),
        "keyset deep": (
            lambda: db.projects.list(
                status="active", order_by="-created_at", limit=50, cursor=deep
            ),
            sql(_KEYSET, _ROWS, "active", *samples.middle),
            peer(active.where(after(samples.middle)).limit(51)),
        ),
        "messages page": (
            lambda: db.conversations.messages(conversation, limit=50),
            sql(_MESSAGES, conversation),
            peer(
                select(messages)
                .where(messages.c.conversation_id == conversation)
                .order_by(messages.c.sequence, messages.c.id)
                .limit(51)
            ),
        ),
        "by slug": (
            lambda: db.projects.get_by_slug(slug),
            sql(_SLUG, slug),
            peer(select(projects).where(projects.c.slug == slug)),
        ),
        "by path": (
            lambda: db.documents.get_by_path(document_project, path),
            sql(_PATH, document_project, path),
            peer(
                select(documents).where(
                    documents.c.project_id == document_project, documents.c.path == path
                )
            ),
        ),
        "offset 10000": (
            lambda: db.projects.list(
                status="active", order_by="-created_at", limit=50, offset=10_000
            ),
            sql(_OFFSET, _OFFSET_ROWS, "active"),
            peer(active.limit(51).offset(10_000)),
        ),
    }
