"""Reading rows by id: point lookups through the primary key's ART, or one scan.

Shared by BM25 (``_index.py``, ``_delta.py``) and hybrid search; re-exported by ``_sql.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["IDS", "LOOKUP_MAX", "LOOKUP_SCAN_ROWS", "by_id", "id_params"]

#: Up to this many rows are read by id as point lookups through the primary key's ART (one
#: ``id = $iN`` branch each, ~0.35 ms a row whatever the table's size); more as one scan with
#: a semi-join (``IN (SELECT unnest(...))`` never uses the ART: ~11 ms per 1M rows).
LOOKUP_MAX = 200

#: One point lookup costs about what one scan of this many rows' ids with a semi-join does
#: (measured on the 1M-message scale file: 0.25-0.3 ms a lookup, ~60 ms of CPU a scan of
#: ``id``): the live check of ``n`` BM25 candidates scans a table of fewer than ``n`` times this
#: many rows instead (100k messages: ~6 ms against ~30 ms for 110 lookups).
LOOKUP_SCAN_ROWS = 4_500

#: The ids of :func:`id_params` bound as one comma-joined string: DuckDB 1.5.5 converts a bound
#: Python list value by value (~15-60 us an id; 110 ids cost 2-7 ms), one string at once.
IDS = "unnest(string_split($ids, ',')::UUID[])"


def by_id(table: str, columns: str, n: int, where: str = "", *, scan: bool = False) -> str:
    """``SELECT columns FROM table d`` for ``n`` ids (at least one) bound by :func:`id_params`.

    ``scan``: one scan with a semi-join whatever ``n`` (cheaper for a small table: see
    ``LOOKUP_SCAN_ROWS``).
    """
    if n <= LOOKUP_MAX and not scan:
        # MATERIALIZED: other conditions pushed into the branches turn their index scans into
        # table scans; they are applied to the rows found instead.
        lookups = " UNION ALL ".join(f"SELECT * FROM {table} WHERE id = $i{j}" for j in range(n))
        return (
            f"WITH padb_found AS MATERIALIZED ({lookups}) "
            f"SELECT {columns} FROM padb_found d WHERE TRUE{where}"
        )
    return f"SELECT {columns} FROM {table} d WHERE d.id IN (SELECT {IDS}){where}"


def id_params(ids: Sequence[object], *, scan: bool = False) -> dict[str, object]:
    """The parameters of :func:`by_id` (many ids: one comma-joined string, see ``IDS``)."""
    if len(ids) <= LOOKUP_MAX and not scan:
        return {f"i{j}": value for j, value in enumerate(ids)}
    return {"ids": ",".join(map(str, ids))}
