"""The SQL work of one search, build and merge, run on one DuckDB connection (one snapshot).

``service.py`` decides when each runs (locks, background merges, read-only files); the
statements themselves come from ``_sql.IndexSpec``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from project_architect_db.search import _delta, _sql
from project_architect_db.search._delta import DeltaCache
from project_architect_db.search._snippet import candidate_words
from project_architect_db.search._sql import (
    LOOKUP_MAX,
    LOOKUP_SCAN_ROWS,
    IndexSpec,
    by_id,
    id_params,
)
from project_architect_db.search._stopwords import STOPWORDS

__all__ = [
    "DIRECT_ROWS",
    "Outcome",
    "build_index",
    "indexed_hits",
    "is_current",
    "merge_index",
    "run",
]

#: A project or conversation with at most this many indexed rows is searched by scoring its
#: rows' live text directly (their ids come from the index's ``docs``, ordered by owner).
DIRECT_ROWS = LOOKUP_MAX
_OWNERS = ("project_id", "conversation_id")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one search found: its rows (with scores), the words to mark, the delta's size."""

    rows: list[dict[str, Any]]
    matched_words: frozenset[str]
    delta: int
    indexed: bool


def is_current(con: Any, spec: IndexSpec | str) -> bool:
    """Whether the index of ``spec`` (or in this schema) exists in the current ``_sql.FORMAT``.

    An index of an older format (another tokenizer) is not used: a writable database rebuilds
    it at the next search (``IndexKeeper.ensure_index``); a read-only one scores live text.
    ``SELECT *`` binds whatever the state's columns are (format 1 had no ``format``).
    """
    schema = spec if isinstance(spec, str) else spec.schema
    if not con.execute(IndexSpec.exists(), {"schema": schema}).fetchone()[0]:
        return False
    cursor = con.execute(f"SELECT * FROM {schema}.state")
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    return row is not None and dict(zip(names, row, strict=True)).get("format") == _sql.FORMAT


def _table_rows(con: Any, spec: IndexSpec) -> int:
    """The indexed rows: the table's size as far as choosing lookups or a scan goes."""
    return int(con.execute(f"SELECT num_docs FROM {spec.schema}.state").fetchone()[0])


def build_index(con: Any, spec: IndexSpec, batch: int) -> None:
    """Build the index from scratch, ``batch`` rows at a time (one transaction, one snapshot)."""
    *statements, stopwords = spec.create()[:4]
    for statement in statements:
        con.execute(statement)
    con.execute(stopwords, {"words": list(STOPWORDS)})
    for statement in spec.create()[4:]:
        con.execute(statement)
    end, hwm = con.execute(spec.bounds()).fetchone()
    for start in range(0, end, batch):
        where = f"d.rowid >= {start} AND d.rowid < {start + batch}"
        for statement in [*spec.add_batch(where, "d.rowid"), *spec.cleanup()]:
            con.execute(statement)
    *statements, state = spec.finish()
    for statement in statements:
        con.execute(statement)
    con.execute(state, {"hwm": hwm, "next": end})
    con.execute(spec.remember())


def merge_index(con: Any, spec: IndexSpec) -> None:
    """Fold the rows changed since the index saw them into it (see ``IndexSpec.merge``)."""
    (changed, old, *remove), after = spec.merge()
    con.execute(changed, {"since": con.execute(spec.since()).fetchone()[0]})
    con.execute(old)
    if con.execute("SELECT count(*) FROM padb_search_old").fetchone()[0]:
        for statement in remove:
            con.execute(statement)
    where, docid = spec.merge_rows()
    for statement in [*spec.add_batch(where, docid, "postings"), *after, *spec.cleanup()]:
        con.execute(statement)


def indexed_hits(
    con: Any,
    spec: IndexSpec,
    stems: list[str],
    filters: Mapping[str, Any],
    changed: set[Any],
    limit: int,
) -> tuple[list[tuple[Any, float]], list[Any]]:
    """The best indexed rows still live in the version the index holds, or a small owner's ids.

    For a project or conversation of at most ``DIRECT_ROWS`` indexed rows: no hits and those
    rows' ids (the caller scores their live text directly: cheaper than reading the terms'
    postings).
    """
    terms = {f"t{i}": stem for i, stem in enumerate(stems)}
    owner = {k: v for k, v in filters.items() if k in _OWNERS}
    params: dict[str, Any] = dict(terms)
    if owner:
        owned = con.execute(spec.owned(list(owner)), owner).fetchall()
        if len(owned) <= DIRECT_ROWS:
            return [], [row[1] for row in owned]
        params["docids"] = [row[0] for row in owned]
    clauses = "".join(f" AND d.{column} = ${column}" for column in filters)
    version = f"d.{spec.version}" if spec.version else "NULL"
    k = limit * (4 if len(owner) < len(filters) else 2) + 10
    rows = _table_rows(con, spec)
    while True:
        found = con.execute(
            spec.indexed_hits(list(terms), bool(owner)), {**params, "k": k}
        ).fetchall()
        if not found:
            return [], []
        # the rows still live in the indexed version: point lookups, or one scan of the ids
        # when the table is small (``LOOKUP_SCAN_ROWS``)
        scan = rows < len(found) * LOOKUP_SCAN_ROWS
        check = by_id(spec.table, f"d.id, {version}", len(found), clauses, scan=scan)
        ids = id_params([r[0] for r in found], scan=scan)
        live = dict(con.execute(check, {**ids, **filters}).fetchall())
        hits = [
            (row_id, score)
            for row_id, row_version, score in found
            if row_id in live and live[row_id] == row_version and row_id not in changed
        ]
        if len(hits) >= limit or len(found) < k:
            return hits, []
        k *= 4  # deleted, changed or filtered-out rows took places: ask for more


def run(
    con: Any,
    spec: IndexSpec,
    query: str,
    filters: Mapping[str, Any],
    limit: int,
    cache: DeltaCache | None = None,
    *,
    fetch: bool = True,
) -> Outcome | None:
    """One consistent snapshot: stems, delta, indexed hits, delta hits, rows, snippet words.

    ``cache`` keeps the changed rows' terms between searches (``None``: tokenize them now).
    ``fetch`` False: the rows are only ``{"id", "score"}`` (hybrid search reads the few it
    keeps itself), and no snippet words.
    """
    indexed = is_current(con, spec)
    stems = [r[0] for r in con.execute(spec.stems(), {"q": query}).fetchall()]
    if not stems:
        return None  # nothing searchable: punctuation, digits only
    clauses = "".join(f" AND d.{column} = ${column}" for column in filters)
    hits: list[tuple[Any, float]] = []
    delta: list[Any] = []
    if indexed:
        since = con.execute(spec.since()).fetchone()[0]
        keys = con.execute(spec.delta_keys(), {"since": since}).fetchall()
        delta = [key[0] for key in keys]
        changed = set(delta)
        hits, direct = indexed_hits(con, spec, stems, filters, changed, limit)
        # Changed rows are tokenized once and kept (``_delta.py``); a small owner's rows and
        # changed rows the cache cannot keep are scored from their live text (past LOOKUP_MAX
        # ids, the changed ones by one scan of the change window).
        kept, unkept = (DeltaCache() if cache is None else cache).segments(con, spec, keys, since)
        hits += _delta.score(con, spec, kept, stems, filters, limit)
        # a small owner's rows are read by one scan of the ids when the table is small too
        owned = [i for i in direct if i not in changed]
        scan = bool(owned) and _table_rows(con, spec) < len(owned) * LOOKUP_SCAN_ROWS
        # the owner's rows come from the index's ``docs`` of that owner, unchanged since: the
        # owner's condition again would read the owner column of every row a scan passes
        # (a bit-packed UUID column decodes slowly: ~70 ms per 100k rows)
        others = "".join(
            f" AND d.{column} = ${column}" for column in filters if column not in _OWNERS
        )
        parts = [
            (ids, by_scan, where)
            for ids, by_scan, where in ((unkept, False, clauses), (owned, scan, others))
            if ids
        ]
    else:
        parts = [([], False, clauses)]  # no index: every row is scored
    prefixes = {f"p{i}": s[: max(2, len(s) - 2)] if len(s) > 2 else s for i, s in enumerate(stems)}
    prefilter = " OR ".join(
        f"contains(lower(strip_accents({spec.text})), ${name})" for name in prefixes
    )
    for part, by_scan, where in parts:
        used = {name: value for name, value in filters.items() if f"${name}" in where}
        params = {"stems": stems, "k": limit, **used}
        # a scan is not prefiltered: DuckDB pushes the prefilter into the table's scan, below
        # the semi-join on the ids, and runs it on every row (~80 ms per 100k rows)
        if not by_scan:
            params |= prefixes
        if indexed:
            params |= id_params(part, scan=by_scan)
            if len(part) > _sql.LOOKUP_MAX and not by_scan:
                params["since"] = since
        size = len(part) if indexed else None
        statement = spec.delta_hits(where, "TRUE" if by_scan else prefilter, size, scan=by_scan)
        hits += con.execute(statement, params).fetchall()
    hits.sort(key=lambda hit: (-hit[1], str(hit[0])))
    hits = hits[:limit]
    if not hits:
        return Outcome([], frozenset(), len(delta), indexed)
    scores = {hit[0]: float(hit[1]) for hit in hits}
    if not fetch:  # ids and scores only: every hit is a live row already
        rows = [{"id": i, "score": s} for i, s in scores.items()]
        return Outcome(rows, frozenset(), len(delta), indexed)
    cursor = con.execute(spec.fetch(len(scores)), id_params(list(scores)))
    names = [d[0] for d in cursor.description]
    by_id = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    rows = [by_id[i] | {"score": s} for i, s in scores.items() if i in by_id]
    texts = [str(row.get(f) or "") for row in rows for f in spec.snippet_fields]
    words = sorted(candidate_words(texts, stems))
    matched: frozenset[str] = frozenset()
    if words:
        matched = frozenset(
            r[0]
            for r in con.execute(
                "SELECT w FROM (SELECT unnest($words::VARCHAR[]) AS w) "
                "WHERE stem(w, 'porter') IN (SELECT unnest($stems::VARCHAR[]))",
                {"words": words, "stems": stems},
            ).fetchall()
        )
    return Outcome(rows, matched, len(delta), indexed)
