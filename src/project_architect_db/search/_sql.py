"""The SQL of full-text search: BM25 over the fts index, plus the rows changed since it was built.

Every user value is a bound parameter; only table and column names from :class:`IndexSpec`
(constants of this package) are formatted into the statements.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["IndexSpec"]

_BM25 = (
    "log(((st.num_docs - {df} + 0.5) / ({df} + 0.5)) + 1) * {tf} * 2.2"
    " / ({tf} + 1.2 * (0.25 + 0.75 * {len} / coalesce(st.avgdl, 1)))"
)


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """One searchable table: its text fields, change marker and the columns a hit returns."""

    table: str
    fields: tuple[str, ...]
    version: str | None
    columns: tuple[str, ...]
    snippet_fields: tuple[str, ...]

    @property
    def schema(self) -> str:
        return f"fts_main_{self.table}"

    @property
    def text(self) -> str:
        return "concat_ws(' ', " + ", ".join(f"d.{f}" for f in self.fields) + ")"

    def build(self) -> list[str]:
        fields = ", ".join(f"'{f}'" for f in self.fields)
        kept = "id" + (f", {self.version}" if self.version else "")
        return [
            f"PRAGMA create_fts_index('{self.table}', 'id', {fields}, overwrite=1)",
            f"CREATE TABLE {self.schema}.padb_indexed AS SELECT {kept} FROM {self.table}",
        ]

    def exists(self) -> str:
        # The schema and padb_indexed are created in one transaction by build(). Looking up
        # the schema costs ~0.3 ms; duckdb_tables() or information_schema cost 10-15 ms.
        return (
            "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = $schema "
            "AND database_name = current_database()"
        )

    def _same(self) -> str:
        same = "s.id = d.id"
        return same + (f" AND s.{self.version} = d.{self.version}" if self.version else "")

    def stems(self, indexed: bool) -> str:
        tokenize = f"{self.schema}.tokenize($q)" if indexed else _tokenize("$q")
        return (
            f"SELECT DISTINCT t FROM (SELECT stem(unnest({tokenize}), 'porter') AS t) "
            "WHERE t <> '' ORDER BY t"
        )

    def delta(self) -> str:
        """Ids of rows added or changed since the build (deleted rows simply drop out)."""
        return (
            f"SELECT d.id FROM {self.table} d ANTI JOIN {self.schema}.padb_indexed s "
            f"ON {self._same()}"
        )

    def indexed_hits(self, filters: str) -> str:
        s = self.schema
        score = _BM25.format(df="qt.df", tf="tf.tf", len="dd.len")
        return f"""
WITH st AS (SELECT num_docs, avgdl FROM {s}.stats),
qt AS (SELECT d.termid, d.df FROM {s}.dict d WHERE d.term IN (SELECT unnest($stems))),
tf AS (SELECT docid, termid, count(*) AS tf FROM {s}.terms
       WHERE termid IN (SELECT termid FROM qt) GROUP BY ALL),
sc AS (SELECT dd.name AS id, sum({score}) AS score
       FROM tf JOIN qt USING (termid) JOIN {s}.docs dd ON dd.docid = tf.docid, st
       GROUP BY dd.name)
SELECT sc.id, sc.score FROM sc JOIN {s}.padb_indexed s ON s.id = sc.id
JOIN {self.table} d ON {self._same()}
WHERE TRUE {filters}
ORDER BY sc.score DESC, sc.id LIMIT $k"""

    def delta_hits(self, filters: str, prefilter: str, indexed: bool) -> str:
        """BM25 of the given rows with the same tokenizer, stemmer and stopwords as the index.

        With an index, its statistics (documents, average length, document frequency) are
        used; without one (a read-only file never indexed), they come from the rows scored.
        """
        s = self.schema
        score = _BM25.format(df="qt.df", tf="dtf.tf", len="dlen.len")
        if indexed:
            tokenize = f"{s}.tokenize(txt)"
            stop = f"AND w NOT IN (SELECT sw FROM {s}.stopwords)"
            stats = f"st AS (SELECT num_docs, avgdl FROM {s}.stats)"
            qt = (
                f"qt AS (SELECT q.t, coalesce(x.df, 0) AS df FROM q LEFT JOIN {s}.dict x "
                "ON x.term = q.t)"
            )
        else:
            tokenize = _tokenize("txt")
            stop = ""
            stats = (
                f"st AS (SELECT (SELECT count(*) FROM {self.table}) AS num_docs, "
                "coalesce((SELECT avg(len) FROM dlen), 1) AS avgdl)"
            )
            qt = (
                "qt AS (SELECT q.t, (SELECT count(DISTINCT id) FROM toks WHERE toks.s = q.t) "
                "AS df FROM q)"
            )
        return f"""
WITH q AS (SELECT unnest($stems) AS t),
cand AS (SELECT d.id, {self.text} AS txt FROM {self.table} d
         WHERE d.id IN (SELECT unnest($ids)) {filters} AND ({prefilter})),
toks AS (SELECT id, stem(w, 'porter') AS s
         FROM (SELECT id, unnest({tokenize}) AS w FROM cand) WHERE w <> '' {stop}),
dlen AS (SELECT id, count(*) AS len FROM toks GROUP BY id),
dtf AS (SELECT id, s AS t, count(*) AS tf FROM toks WHERE s IN (SELECT t FROM q) GROUP BY ALL),
{stats},
{qt}
SELECT dtf.id, sum({score}) AS score FROM dtf JOIN qt USING (t) JOIN dlen USING (id), st
GROUP BY dtf.id ORDER BY score DESC, dtf.id LIMIT $k"""

    def fetch(self) -> str:
        cols = ", ".join(dict.fromkeys((*self.columns, *self.snippet_fields)))
        return f"SELECT {cols} FROM {self.table} WHERE id IN (SELECT unnest($ids))"


def _tokenize(value: str) -> str:
    """The fts extension's default tokenizer (1.5.5), for files that have no index yet."""
    return (
        f"string_split_regex(regexp_replace(lower(strip_accents(CAST({value} AS VARCHAR))), "
        "'[0-9!@#$%^&*()_+={}\\[\\]:;<>,.?~\\\\/\\|''\"`-]+', ' ', 'g'), '\\s+')"
    )
