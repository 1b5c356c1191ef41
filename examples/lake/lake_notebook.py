"""A notebook-style reader: what an analyst runs, cell by cell, beside the app's workers.

It opens the lake the app writes (``PADB_DATABASE`` / ``PADB_DATA_PATH``) **read-only** while
the workers keep writing (a DuckDB file would refuse it: its writer holds the file), and prints
what it finds. Each cell is a new read, so each sees the latest commit of every process::

    PADB_DATABASE="ducklake:postgres:..." PADB_DATA_PATH=... python examples/lake/lake_notebook.py

The first argument, when given, is a slug prefix: only projects whose slug starts with it count.
"""

from __future__ import annotations

import sys

import project_architect_db as padb


async def main(prefix: str) -> None:
    # %% open the lake read-only: every write would raise ReadOnlyError, other processes write on
    async with padb.Database.open(read_only=True) as db:
        # %% the projects the app created
        projects = []
        async for batch in db.projects.stream():  # batches of records, read in one snapshot
            projects += [project for project in batch if project.slug.startswith(prefix)]
        print(f"projects: {len(projects)}")

        # %% their conversations and messages, in one transaction: one snapshot of the lake, so
        # each conversation's message_count matches the messages read beside it while the
        # workers keep appending (two separate reads could see two different commits)
        total = 0
        consistent = True
        async with db.transaction() as tx:
            for project in projects:
                page = await tx.conversations.list(project_id=project.id, limit=100)
                for conversation in page.items:
                    messages = await tx.conversations.messages(conversation.id, limit=100)
                    sequences = [m.sequence for m in messages.items]
                    consistent &= sequences == list(range(1, len(sequences) + 1))
                    consistent &= conversation.message_count == len(sequences)
                    total += len(sequences)
        print(f"messages: {total}, sequences gap-free and counted: {consistent}")

        # %% an analytics answer over the same snapshot the workers write
        portfolio = await db.analytics.portfolio().rows()  # projects by status and phase
        print(
            "portfolio: " + ", ".join(f"{r['status']}/{r['phase']}={r['count']}" for r in portfolio)
        )

        # %% a read-only lake refuses writes with a typed error
        try:
            await db.projects.create({"name": "from the notebook"})
        except padb.ReadOnlyError as error:
            print(f"ReadOnlyError: {str(error)[:60]}")


if __name__ == "__main__":
    try:
        padb.run(main(sys.argv[1] if len(sys.argv) > 1 else ""))
    except padb.ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
