"""Everyday calls at two sizes 10x apart, interleaved with raw DuckDB (and SQLite) on the same
files: a thin wrapper of ``project-architect-db benchmark --scale`` (``selfbench._scale``).

Issue 13, point 2 ("pages"): ``get``, a filtered sorted page of 50, keyset pages, a page of 50
messages, lookups by slug and by path, and (cost documented, no bar) ``offset=10_000``.

    python benchmarks/scale_pages.py SMALL.duckdb LARGE.duckdb [--rounds N] [--sqlite-dir DIR]

Both files are opened read-only. Without ``--sqlite-dir`` only the library and raw DuckDB are
timed; with it, the SQLite copies are made there (once) and timed too. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import project_architect_db as padb
from project_architect_db.selfbench import run_scale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("small", type=Path)
    parser.add_argument("large", type=Path)
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--sqlite-dir", type=Path, help="time SQLite too; its copies go here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        report = padb.run(
            run_scale(
                0,
                args.sqlite_dir or Path(scratch),
                sources=(args.small, args.large),
                rounds=args.rounds,
                warmup=args.warmup,
                sqlite=args.sqlite_dir is not None,
                answers=(),
                step=lambda line: print(line, file=sys.stderr, flush=True),
            )
        )
    print(report.markdown())
    print(
        f"\nload average before / after: {report.environment['load_average_before']} / "
        f"{report.environment['load_average_after']}"
    )
    return 0 if not any(row.verdict.startswith("MISSED") for row in report.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
