"""The writer process of the kill -9 test of grouped appends (``test_add_message_grouped.py``).

``python _group_append_writer.py <file>`` creates a project with 40 conversations, then 40
tasks append to them without end; each acknowledged append is printed (``ack <conversation>
<message>``) and flushed only after ``add_message`` returned. The parent kills it with SIGKILL.
"""

from __future__ import annotations

import asyncio
import sys

from project_architect_db import Database
from project_architect_db.models import Base

TASKS = 40


async def main(path: str) -> None:
    db = await Database.open(path)
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    project = await db.projects.create({"name": "Killed"})
    conversations = [
        (await db.conversations.create({"project_id": project.id})).id for _ in range(TASKS)
    ]
    out = sys.stdout

    async def writer(conversation_id: object) -> None:
        index = 0
        while True:
            message = await db.conversations.add_message(
                conversation_id,  # type: ignore[arg-type]
                {"role": "user", "content": f"m{index}"},
            )
            out.write(f"ack {conversation_id} {message.id}\n")
            out.flush()
            index += 1

    await asyncio.gather(*(writer(c) for c in conversations))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
