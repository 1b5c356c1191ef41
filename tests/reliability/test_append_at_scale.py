"""``add_message`` on a file of 1M conversations: 20,000 appends, no error, no double count.

Issue 13 found ``add_message`` failing 1 in 400 to 1 in 1,500 calls at 1M conversations with
``InvalidQueryError: More than one row matched``. The cause is DuckDB's (see "DuckDB: UPDATE ...
RETURNING can update a row twice" in docs/architecture.md and
``scripts/repro_update_returning.py``): on a table with an index, ``UPDATE ... RETURNING``
moves the row (delete + insert), and the parallel scan of a table of several row groups
sometimes meets the moved row again, so the row is updated twice and returned twice. The
counter then skipped a sequence number. The appends now update the conversation in place
(no ``RETURNING``) and read it back in the same transaction.

The fast regression tests (``tests/integration/test_conversation_append_in_place.py``) check
the mechanism on a small file; this one checks the outcome at the scale where it showed, on all
three paths of an append: alone, coalesced with 49 concurrent tasks (group commit), and inside
``db.transaction()``. It takes a few minutes: marked ``slow``, it runs in the long reliability
run (``pytest -m slow tests/reliability``).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from project_architect_db import Database, ProjectArchitectDBError
from tests._scale_file import fill_conversations
from tests.reliability._figures import FigureBook

CONVERSATIONS = 1_000_000
PROJECTS = 100_000
ALONE = 8_000
TOGETHER = 10_000
TASKS = 50
IN_TRANSACTIONS = 2_000


async def append_randomly(
    db: Database, ids: list[uuid.UUID], count: int, *, tasks: int, seed: int, session: bool
) -> tuple[Counter[uuid.UUID], Counter[str]]:
    """``count`` appends to random conversations from ``tasks`` tasks.

    Returns the appends that succeeded per conversation and the errors by message.
    """
    rng = random.Random(seed)
    targets = [rng.choice(ids) for _ in range(count)]
    appended: Counter[uuid.UUID] = Counter()
    errors: Counter[str] = Counter()

    async def append(conversation_id: uuid.UUID) -> None:
        message = {"role": "user", "content": f"message to {conversation_id}"}
        try:
            if session:
                async with db.transaction() as tx:
                    await tx.conversations.add_message(conversation_id, message)
            else:
                await db.conversations.add_message(conversation_id, message)
        except ProjectArchitectDBError as error:
            errors[f"{type(error).__name__}: {str(error)[:80]}"] += 1
        else:
            appended[conversation_id] += 1

    async def worker(share: list[uuid.UUID]) -> None:
        for conversation_id in share:
            await append(conversation_id)

    await asyncio.gather(*(worker(targets[index::tasks]) for index in range(tasks)))
    return appended, errors


@pytest.mark.slow
async def test_20000_appends_to_random_conversations_of_1m_have_no_error(
    tmp_path: Path, figures: FigureBook
) -> None:
    path = tmp_path / "scale.duckdb"
    ids = await fill_conversations(path, CONVERSATIONS, PROJECTS)
    assert len(ids) == CONVERSATIONS
    appended: Counter[uuid.UUID] = Counter()
    errors: Counter[str] = Counter()
    async with Database.open(path, load_fts=False) as db:
        for count, tasks, session, seed in (
            (ALONE, 1, False, 1),
            (TOGETHER, TASKS, False, 2),
            (IN_TRANSACTIONS, 1, True, 3),
        ):
            done, failed = await append_randomly(
                db, ids, count, tasks=tasks, seed=seed, session=session
            )
            appended += done
            errors += failed
        assert errors == Counter()
        async with db.transaction() as tx:
            counts = (
                await tx.execute(
                    text(
                        "SELECT count(*), sum(message_count) FROM conversations "
                        "WHERE message_count > 0"
                    )
                )
            ).one()
            gaps = (
                await tx.execute(
                    text(
                        "SELECT count(*) FROM (SELECT c.id FROM conversations c "
                        "JOIN messages m ON m.conversation_id = c.id "
                        "GROUP BY c.id, c.message_count "
                        "HAVING count(*) <> c.message_count OR max(m.sequence) <> c.message_count "
                        "OR min(m.sequence) <> 1)"
                    )
                )
            ).scalar_one()
    total = ALONE + TOGETHER + IN_TRANSACTIONS
    assert sum(appended.values()) == total
    # every append counted once: no conversation bumped twice by one append
    assert tuple(counts) == (len(appended), total)
    assert gaps == 0
    figures.add("append at scale", appends=total, conversations=CONVERSATIONS)
