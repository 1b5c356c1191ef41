"""The delta segment: each changed row tokenized once, not on every search.

The rows changed since the index saw them (the delta, ``IndexSpec.delta_keys``) are read by
every search. Before, each search tokenized their live text again: 1,000 changed documents (long
texts) cost more than the whole indexed part of a search. Now a search tokenizes only the delta
rows this process has not seen yet and keeps their terms here, keyed by the row's version as the
index identifies it: ``(id, version, stamp)`` (a message never changes its text; a document's
update bumps ``version`` and ``updated_at``). Later searches score the kept terms with one small
statement (the same BM25 expression and statistics as the index), so a changed row costs about
what an indexed one does until the merge folds it in.

Freshness does not depend on this cache: which rows are delta is decided by every search from
its own snapshot; the cache only remembers what a row version's text tokenizes to. It keeps at
most the current delta (entries of rows that left it are dropped on the next search) and at most
``max_rows`` rows; past that, the rows it cannot keep are tokenized per search, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from project_architect_db.search import _sql
from project_architect_db.search._sql import (
    _BM25,
    _STATS,
    IndexSpec,
    _tokenize,
    by_id,
    id_params,
)

__all__ = ["DeltaCache", "Segment"]

#: ``(id, version, stamp)`` of one row version.
Key = tuple[Any, Any, Any]


@dataclass(frozen=True, slots=True)
class Segment:
    """One changed row version, tokenized: its filter columns, term frequencies and length."""

    columns: Mapping[str, Any]
    terms: Mapping[str, int]
    length: int


class DeltaCache:
    """The tokenized delta rows of one table (thread-safe: searches run on worker threads).

    Args:
        max_rows: Keep at most this many rows (bounds the memory: about 5-20 KB a document).
    """

    def __init__(self, max_rows: int = 20_000) -> None:
        self.max_rows = max_rows
        self._rows: dict[Key, Segment] = {}
        self._lock = threading.Lock()
        #: Row versions tokenized so far (tests and benchmarks read it).
        self.tokenized = 0

    def __len__(self) -> int:
        return len(self._rows)

    def segments(
        self, con: Any, spec: IndexSpec, keys: Sequence[Key], since: Any
    ) -> tuple[dict[Any, Segment], list[Any]]:
        """The kept segments of ``keys`` (tokenizing the missing ones), and the ids not kept.

        Entries of rows no longer in ``keys`` are dropped. Rows past ``max_rows`` are not
        tokenized here: their ids come back for the caller to score from their live text.
        """
        wanted = set(keys)
        with self._lock:
            self._rows = {k: v for k, v in self._rows.items() if k in wanted}
            missing = [k for k in keys if k not in self._rows]
            room = max(0, self.max_rows - len(self._rows))
        fresh = _read(con, spec, missing[:room], since) if missing[:room] else {}
        with self._lock:
            self._rows.update(fresh)
            self.tokenized += len(fresh)
            kept = {k[0]: self._rows[k] for k in keys if k in self._rows}
        return kept, [k[0] for k in keys if k[0] not in kept]


def _read(con: Any, spec: IndexSpec, keys: Sequence[Key], since: Any) -> dict[Key, Segment]:
    ids = [k[0] for k in keys]
    params: dict[str, Any] = id_params(ids)
    if len(ids) > _sql.LOOKUP_MAX:
        params["since"] = since
    rows = con.execute(segments_sql(spec, len(ids)), params).fetchall()
    names = spec.filters
    out: dict[Key, Segment] = {}
    for row_id, version, stamp, *rest in rows:
        values, (terms, tfs) = rest[: len(names)], rest[len(names) :]
        pairs = dict(zip(terms or [], tfs or [], strict=True))
        out[(row_id, version, stamp)] = Segment(
            dict(zip(names, values, strict=True)), pairs, sum(pairs.values())
        )
    return out


def score(
    con: Any,
    spec: IndexSpec,
    segments: Mapping[Any, Segment],
    stems: Sequence[str],
    filters: Mapping[str, Any],
    limit: int,
) -> list[tuple[Any, float]]:
    """The best ``limit`` kept rows matching ``filters``, scored with the index's statistics."""
    ids: list[Any] = []
    terms: list[str] = []
    tfs: list[int] = []
    lens: list[int] = []
    for row_id, segment in segments.items():
        if any(segment.columns.get(k) != v for k, v in filters.items()):
            continue
        for stem in stems:
            tf = segment.terms.get(stem)
            if tf:
                ids.append(row_id)
                terms.append(stem)
                tfs.append(tf)
                lens.append(segment.length)
    if not ids:
        return []
    params = {"ids": ids, "terms": terms, "tfs": tfs, "lens": lens, "k": limit}
    return [(r[0], r[1]) for r in con.execute(scores_sql(spec), params).fetchall()]


def segments_sql(spec: IndexSpec, n: int) -> str:
    """``(id, version, stamp, *filters, terms, tfs)`` of ``n`` changed rows (:func:`id_params`).

    The index's tokenizer, stemmer and stopwords, as ``IndexSpec.add_batch``. Past
    ``LOOKUP_MAX`` ids, the rows are read by one scan of the change window (``$since``).
    """
    if n > _sql.LOOKUP_MAX:
        source = (
            f"(SELECT * FROM {spec.table} WHERE {spec.stamp} >= $since "
            f"AND id IN (SELECT {_sql.IDS}))"
        )
    else:
        source = f"({by_id(spec.table, '*', n)})"
    version = f"d.{spec.version}" if spec.version else "NULL::INTEGER"
    columns = "".join(f", d.{name}" for name in spec.filters)
    kept = "".join(f", c.{name}" for name in spec.filters)
    return f"""
WITH cand AS (SELECT d.id, {version} AS version, d.{spec.stamp} AS ts{columns},
              {spec.text} AS txt FROM {source} d),
toks AS (SELECT id, stem(w, 'porter') AS s
         FROM (SELECT id, unnest({_tokenize("txt")}) AS w FROM cand)
         WHERE w <> '' AND w NOT IN (SELECT sw FROM {spec.schema}.stopwords)),
tf AS (SELECT id, s, count(*)::BIGINT AS tf FROM toks GROUP BY id, s)
SELECT c.id, c.version, c.ts{kept}, list(tf.s ORDER BY tf.s) FILTER (WHERE tf.s IS NOT NULL),
       list(tf.tf ORDER BY tf.s) FILTER (WHERE tf.s IS NOT NULL)
FROM cand c LEFT JOIN tf USING (id) GROUP BY ALL"""


def scores_sql(spec: IndexSpec) -> str:
    """BM25 of kept terms (``$ids``, ``$terms``, ``$tfs``, ``$lens``: one entry per match).

    The expression and statistics of ``IndexSpec.delta_hits``: a kept row scores exactly as
    its live text would.
    """
    s = spec.schema
    score = _BM25.format(df="qt.df", tf="m.tf", len="m.len")
    return f"""
WITH {_STATS.format(s=s)},
m AS (SELECT unnest($ids::UUID[]) AS id, unnest($terms::VARCHAR[]) AS t,
             unnest($tfs::BIGINT[]) AS tf, unnest($lens::BIGINT[]) AS len),
qt AS (SELECT q.t, coalesce(x.df, 0) AS df FROM (SELECT DISTINCT t FROM m) q
       LEFT JOIN {s}.dict x ON x.term = q.t)
SELECT m.id, sum({score}) AS score FROM m JOIN qt USING (t), st
GROUP BY m.id ORDER BY score DESC, m.id LIMIT $k"""
