"""Documents with a version history, full-text search, and folder import/export.

Every change to a document keeps its previous state: ``history`` lists the earlier versions
(newest first) and ``get_version`` returns one of them, while ``get`` is the current version.
``import_dir`` reads a folder of Markdown files into a project (new files are created, changed
ones get a new version, identical ones are skipped) and ``export_dir`` writes the documents back
out; both do their file IO in worker threads, never blocking the event loop.

Run it::

    python examples/basic/document_handling.py
    python examples/basic/document_handling.py docs.duckdb
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import project_architect_db
from project_architect_db import ConflictError, Database, NotFoundError, ProjectArchitectDBError
from project_architect_db.schemas import DocumentCreate


@contextlib.contextmanager
def database_path() -> Iterator[str]:
    """The database file: the first command-line argument, or one in a temporary folder."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with tempfile.TemporaryDirectory(prefix="padb-example-") as folder:
        yield os.path.join(folder, "example.duckdb")


ADR_V1 = """# ADR 0001: Use DuckDB

Status: proposed

We need an embedded analytical store for project data.
"""

ADR_V2 = ADR_V1.replace("proposed", "accepted") + "\nDecision: DuckDB, one file per tenant.\n"

ADR_V3 = ADR_V2 + "\nConsequence: one writer process per file; readers may share it.\n"

FILES = {
    "README.md": "# Harbor\n\nA booking platform for marinas.\n",
    "docs/spec/booking.md": "# Booking spec\n\nBerths are booked per night; payments by card.\n",
    "docs/architecture/overview.md": (
        "# Architecture overview\n\nA FastAPI service, a websocket gateway for live berth "
        "availability, and DuckDB for analytics.\n"
    ),
}


async def main() -> None:
    with database_path() as path, tempfile.TemporaryDirectory(prefix="padb-docs-") as scratch:
        async with Database.open(path) as db:
            project = await db.projects.create({"name": "Harbor"})

            # -- a document and its revisions -----------------------------------------------
            print("== create and revise")
            adr = await db.documents.create(
                DocumentCreate(
                    project_id=project.id,
                    path="docs/adr/0001-use-duckdb.md",
                    title="ADR 0001: Use DuckDB",
                    doc_type="adr",
                    content=ADR_V1,
                )
            )
            print(f"created {adr.path} v{adr.version} ({adr.size_bytes} bytes)")
            adr = await db.documents.update(adr.id, {"content": ADR_V2}, expected_version=1)
            adr = await db.documents.update(adr.id, {"content": ADR_V3}, expected_version=2)
            print(f"revised twice: now v{adr.version} ({adr.size_bytes} bytes)")
            unchanged = await db.documents.update(adr.id, {"content": ADR_V3})
            print(f"saving identical content keeps v{unchanged.version}")
            try:
                await db.documents.update(adr.id, {"title": "stale"}, expected_version=1)
            except ConflictError as error:
                print(f"ConflictError: {error}")

            print("\n== history")
            for old in await db.documents.history(adr.id):
                status = old.content.splitlines()[2]
                print(f"v{old.version}: {old.size_bytes} bytes, {status!r}, saved {old.created_at}")
            first = await db.documents.get_version(adr.id, 1)
            print(f"get_version(1) first line: {first.content.splitlines()[0]!r}")
            try:
                await db.documents.get_version(adr.id, adr.version)
            except NotFoundError as error:
                print(f"NotFoundError: {error}")
            by_path = await db.documents.get_by_path(project.id, "docs/adr/0001-use-duckdb.md")
            print(f"get_by_path -> {by_path.title!r} v{by_path.version}")

            # -- import a folder ------------------------------------------------------------
            print("\n== import_dir")
            source = Path(scratch) / "source"
            for relative, text in FILES.items():
                file = source / relative
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text(text, encoding="utf-8")
            summary = await db.documents.import_dir(project.id, source)
            print(f"first import: {summary.model_dump()}")
            (source / "docs/spec/booking.md").write_text(
                FILES["docs/spec/booking.md"] + "\nCancellations are free up to 48 hours.\n",
                encoding="utf-8",
            )
            summary = await db.documents.import_dir(project.id, source)
            print(f"after editing one file: {summary.model_dump()}")
            spec = await db.documents.get_by_path(project.id, "docs/spec/booking.md")
            print(f"{spec.path} is now v{spec.version}")

            # -- full-text search -----------------------------------------------------------
            print("\n== search")
            for hit in await db.search.documents("websocket availability", project_id=project.id):
                print(f"found {hit.title!r} ({hit.path}) score={hit.score:.2f}: {hit.snippet}")

            # -- export the project's documents ---------------------------------------------
            print("\n== export_dir")
            target = Path(scratch) / "export"
            summary = await db.documents.export_dir(project.id, target)
            print(f"export: {summary.model_dump()}")
            for file in sorted(target.rglob("*.md")):
                print(f"  {file.relative_to(target).as_posix()} ({file.stat().st_size} bytes)")
            again = await db.documents.export_dir(project.id, target)
            print(f"exporting again: {again.model_dump()}")
            listing = await db.documents.list(project_id=project.id, order_by="path", limit=10)
            print("documents:", ", ".join(f"{d.path} v{d.version}" for d in listing.items))


if __name__ == "__main__":
    try:
        project_architect_db.run(main())
    except ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
