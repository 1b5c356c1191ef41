"""A conversation with the assistant: messages, gap-free sequences, paging and attachments.

A conversation is a chat thread of a project. ``add_message`` appends one message and numbers
it 1, 2, 3 ... (no gaps, no duplicates, also under concurrent appends); ``add_messages`` appends a
batch in one Arrow insert. ``messages`` pages through a thread by sequence, oldest or newest
first, and ``after_sequence`` asks only for what a client has not seen yet.

Run it::

    python examples/basic/conversation_flow.py
    python examples/basic/conversation_flow.py chat.duckdb
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

import project_architect_db
from project_architect_db import Database, IntegrityError, ProjectArchitectDBError
from project_architect_db.schemas import AttachmentCreate, ConversationCreate, MessageCreate


@contextlib.contextmanager
def database_path() -> Iterator[str]:
    """The database file: the first command-line argument, or one in a temporary folder."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with tempfile.TemporaryDirectory(prefix="padb-example-") as folder:
        yield os.path.join(folder, "example.duckdb")


DIALOGUE = [
    ("user", "We need an API for field technicians to sync work orders offline."),
    ("assistant", "How many technicians, and how long can a device stay offline?"),
    ("user", "About 400 technicians; up to three days without a connection."),
    (
        "assistant",
        "Then plan for conflict resolution: version every work order and merge on sync.",
    ),
    ("user", "Here is our current data model, see the attached diagram."),
    ("assistant", "Thanks. Work orders and parts can share one sync log keyed by device."),
]


async def main() -> None:
    with database_path() as path:
        async with Database.open(path) as db:
            async with db.transaction() as tx:  # one unit of work: project + conversation
                project = await tx.projects.create({"name": "Field Service Sync"})
                conversation = await tx.conversations.create(
                    ConversationCreate(
                        project_id=project.id, title="Requirements kick-off", phase="requirements"
                    )
                )
            print(f"Conversation {conversation.title!r} in project {project.name!r}")

            # -- one message at a time ------------------------------------------------------
            print("\n== add_message")
            for role, content in DIALOGUE:
                attachments = []
                if "attached" in content:
                    attachments = [
                        AttachmentCreate(
                            url="https://files.example.com/field-service/data-model.png",
                            file_type="image/png",
                            size_bytes=48_213,
                        )
                    ]
                message = await db.conversations.add_message(
                    conversation.id,
                    MessageCreate(
                        role=role,
                        content=content,
                        token_count=len(content.split()),
                        attachments=attachments,
                    ),
                )
                print(f"#{message.sequence} {message.role.value:<9} {message.content[:60]}")

            # -- concurrent appends still get gap-free sequence numbers ---------------------
            print("\n== 20 concurrent add_message calls")
            await asyncio.gather(
                *(
                    db.conversations.add_message(
                        conversation.id, {"role": "tool", "content": f"sync probe {i}"}
                    )
                    for i in range(20)
                )
            )
            everything = await db.conversations.messages(conversation.id, limit=1000)
            sequences = [m.sequence for m in everything.items]
            gap_free = sequences == list(range(1, len(sequences) + 1))
            print(f"sequences 1..{len(sequences)}, gap-free: {gap_free}")

            # -- a batch in one insert ------------------------------------------------------
            ids = await db.conversations.add_messages(
                conversation.id,
                [
                    {"role": "assistant", "content": f"Summary point {i}: keep sync idempotent."}
                    for i in range(1, 5)
                ],
            )
            stored = await db.conversations.get(conversation.id)
            print(f"add_messages stored {len(ids)} more; message_count={stored.message_count}")

            # -- paging ---------------------------------------------------------------------
            print("\n== messages(limit=10): pages, oldest first")
            cursor = None
            page_number = 0
            while True:
                page = await db.conversations.messages(conversation.id, limit=10, cursor=cursor)
                page_number += 1
                first, last = page.items[0].sequence, page.items[-1].sequence
                print(f"page {page_number}: sequences {first}..{last}")
                cursor = page.next_cursor
                if cursor is None:
                    break
            latest = await db.conversations.messages(conversation.id, limit=3, order="desc")
            print("newest 3:", [m.sequence for m in latest.items])
            unseen = await db.conversations.messages(conversation.id, after_sequence=28)
            print("after_sequence=28:", [m.sequence for m in unseen.items])

            # -- attachments ----------------------------------------------------------------
            print("\n== attachments")
            for attachment in await db.conversations.attachments(conversation_id=conversation.id):
                owner = await db.conversations.get_message(attachment.message_id)
                print(
                    f"{attachment.file_type} {attachment.url} ({attachment.size_bytes} bytes) "
                    f"on message #{owner.sequence}"
                )

            # -- summary, archive, and a message to a missing conversation ------------------
            print("\n== update / archive")
            await db.conversations.update(
                conversation.id, {"summary": "Offline sync for 400 technicians, 3 days."}
            )
            archived = await db.conversations.archive(conversation.id)
            print(
                f"status={archived.status.value}, messages={archived.message_count}, "
                f"summary={archived.summary!r}"
            )
            hits = await db.search.messages("conflict resolution", conversation_id=conversation.id)
            for hit in hits:
                print(f"search 'conflict resolution' -> #{hit.sequence}: {hit.snippet}")
            try:
                await db.conversations.add_message(
                    project.id, {"role": "user", "content": "wrong id"}
                )
            except IntegrityError as error:
                print(f"IntegrityError: {error}")


if __name__ == "__main__":
    try:
        project_architect_db.run(main())
    except ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
