"""Projects from start to finish: create, read, list, update, archive and delete.

Shows the repository verbs every aggregate shares (``create``, ``get``, ``list``, ``update``,
``delete``) on ``db.projects``, plus the project-specific ones (``get_by_slug``, ``rename_slug``,
``archive``):

* keyword filters (``status="active"``, ``tags__has="api"``), sorting and keyset (cursor)
  pagination;
* optimistic locking: ``update(..., expected_version=n)`` raises ``ConflictError`` when someone
  else changed the row since you read it;
* deleting a project removes everything it owns (conversations, messages, documents ...) in one
  transaction.

Run it::

    python examples/basic/project_crud.py              # a temporary database file
    python examples/basic/project_crud.py crud.duckdb  # or a file of your own (must be new)
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

import project_architect_db
from project_architect_db import (
    AlreadyExistsError,
    ConflictError,
    Database,
    NotFoundError,
    ProjectArchitectDBError,
)
from project_architect_db.schemas import ProjectCreate, ProjectUpdate


@contextlib.contextmanager
def database_path() -> Iterator[str]:
    """The database file: the first command-line argument, or one in a temporary folder."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with tempfile.TemporaryDirectory(prefix="padb-example-") as folder:
        yield os.path.join(folder, "example.duckdb")


SEED = [
    ("Atlas", "active", ["api", "web"], "postgresql"),
    ("Borealis", "active", ["api"], "duckdb"),
    ("Cirrus", "draft", ["cli"], "sqlite"),
    ("Dynamo", "active", ["api", "ml"], "duckdb"),
    ("Echo", "paused", ["web"], "postgresql"),
    ("Fjord", "active", ["api"], "duckdb"),
]


async def main() -> None:
    with database_path() as path:
        async with Database.open(path) as db:
            print(f"Opened {path}")

            # -- create ---------------------------------------------------------------------
            print("\n== create")
            created = []
            for name, status, tags, database in SEED:
                project = await db.projects.create(
                    ProjectCreate(
                        name=name,
                        status=status,
                        tags=tags,
                        tech_stack=["python", "fastapi"],
                        architecture={"database": database, "style": "modular monolith"},
                    )
                )
                created.append(project)
                print(f"created {project.name:<9} slug={project.slug:<9} version={project.version}")
            # a plain dict works too; it is validated against ProjectCreate
            try:
                await db.projects.create({"name": "Atlas"})
            except AlreadyExistsError as error:
                print(f"AlreadyExistsError: {error}")

            # -- read -----------------------------------------------------------------------
            print("\n== get")
            atlas = await db.projects.get(created[0].id)
            print(f"get({atlas.id}) -> {atlas.name!r}, status={atlas.status.value}")
            print(f"architecture: {atlas.architecture}")

            # -- list: filters, sorting, keyset pagination ----------------------------------
            print("\n== list(status='active', tags__has='api', order_by='name', limit=2)")
            cursor = None
            page_number = 0
            while True:
                page = await db.projects.list(
                    status="active",
                    tags__has="api",
                    order_by="name",
                    limit=2,
                    cursor=cursor,
                    with_total=page_number == 0,
                )
                page_number += 1
                names = ", ".join(p.name for p in page.items)
                total = f" (total {page.total})" if page.total is not None else ""
                print(f"page {page_number}: {names}{total}")
                cursor = page.next_cursor
                if cursor is None:
                    break
            newest = await db.projects.list(order_by="-created_at", limit=3)
            print("3 newest:", ", ".join(p.name for p in newest.items))
            on_duckdb = await db.projects.count(architecture__database="duckdb")
            print(f"projects whose architecture.database is duckdb: {on_duckdb}")

            # -- update with optimistic locking ---------------------------------------------
            print("\n== update with expected_version")
            read_by_alice = await db.projects.get(atlas.id)
            read_by_bob = await db.projects.get(atlas.id)
            alice = await db.projects.update(
                read_by_alice.id,
                ProjectUpdate(description="Alice's description", phase="architecture"),
                expected_version=read_by_alice.version,
            )
            print(f"Alice updated version {read_by_alice.version} -> {alice.version}")
            try:
                await db.projects.update(
                    read_by_bob.id,
                    {"description": "Bob's description"},
                    expected_version=read_by_bob.version,
                )
            except ConflictError as error:
                print(f"Bob got ConflictError: {error}")
                fresh = await db.projects.get(atlas.id)
                bob = await db.projects.update(
                    fresh.id,
                    {"description": f"{fresh.description} + Bob's note"},
                    expected_version=fresh.version,
                )
                print(f"Bob reloaded and retried: version {bob.version}, {bob.description!r}")

            # -- slugs ----------------------------------------------------------------------
            print("\n== get_by_slug / rename_slug")
            found = await db.projects.get_by_slug("borealis")
            print(f"get_by_slug('borealis') -> {found.name}")
            renamed = await db.projects.rename_slug(found.id, "borealis-v2")
            print(f"renamed slug to {renamed.slug!r} (version {renamed.version})")
            try:
                await db.projects.get_by_slug("borealis")
            except NotFoundError as error:
                print(f"NotFoundError: {error}")

            # -- archive --------------------------------------------------------------------
            print("\n== archive")
            archived = await db.projects.archive(created[2].id)
            print(f"archived {archived.name}: status={archived.status.value}")
            print(f"archived projects: {await db.projects.count(status='archived')}")

            # -- delete cascades to everything the project owns -----------------------------
            print("\n== delete with cascade")
            doomed = created[4]
            conversation = await db.conversations.create(
                {"project_id": doomed.id, "title": "Kick-off"}
            )
            await db.conversations.add_message(
                conversation.id, {"role": "user", "content": "Where do we start?"}
            )
            await db.documents.create(
                {"project_id": doomed.id, "path": "README.md", "content": "# Echo"}
            )
            before = (
                await db.conversations.count(project_id=doomed.id),
                await db.documents.count(project_id=doomed.id),
            )
            print(f"{doomed.name} owns {before[0]} conversation(s) and {before[1]} document(s)")
            await db.projects.delete(doomed.id)
            after = (
                await db.conversations.count(project_id=doomed.id),
                await db.documents.count(project_id=doomed.id),
            )
            print(f"deleted {doomed.name}: {after[0]} conversation(s), {after[1]} document(s) left")
            try:
                await db.projects.get(doomed.id)
            except NotFoundError as error:
                print(f"NotFoundError: {error}")
            print(f"\n{await db.projects.count()} projects remain")


if __name__ == "__main__":
    try:
        project_architect_db.run(main())
    except ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
