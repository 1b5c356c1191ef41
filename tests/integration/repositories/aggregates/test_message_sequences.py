"""Gap-free message sequences under concurrency and rollbacks, on a real DuckDB file."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

from sqlalchemy import func, select

from project_architect_db import Database
from project_architect_db.models import Message

TASKS = 50
ROUNDS = 2  # 100 appends to one conversation


async def _stored_sequences(db: Database, conversation_id: uuid.UUID) -> list[int]:
    async with db.session() as session:
        rows = await session.execute(
            select(Message.sequence)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.sequence)
        )
        return [int(value) for value in rows.scalars()]


async def test_concurrent_add_message_yields_sequences_one_to_n(file_db: Database) -> None:
    project = await file_db.projects.create({"name": "Chatty"})
    conversation = await file_db.conversations.create({"project_id": project.id})
    returned: list[int] = []

    async def writer(worker: int) -> None:
        for round_number in range(ROUNDS):
            message = await file_db.conversations.add_message(
                conversation.id, {"role": "user", "content": f"{worker}/{round_number}"}
            )
            returned.append(message.sequence)

    started = time.perf_counter()
    await asyncio.gather(*(writer(worker) for worker in range(TASKS)))
    elapsed = time.perf_counter() - started

    total = TASKS * ROUNDS
    assert sorted(returned) == list(range(1, total + 1))
    assert await _stored_sequences(file_db, conversation.id) == list(range(1, total + 1))
    assert (await file_db.conversations.get(conversation.id)).message_count == total
    assert elapsed < 10, f"{total} concurrent appends took {elapsed:.1f} s"
    assert file_db.locks.held == 0


async def test_concurrent_appends_with_rollbacks_and_batches_stay_gap_free(
    file_db: Database,
) -> None:
    project = await file_db.projects.create({"name": "Mixed"})
    conversation = await file_db.conversations.create({"project_id": project.id})
    other = await file_db.conversations.create({"project_id": project.id})
    rng = random.Random(7)
    committed = {conversation.id: 0, other.id: 0}

    async def single(target: uuid.UUID) -> None:
        await file_db.conversations.add_message(target, {"role": "user", "content": "one"})
        committed[target] += 1

    async def batch(target: uuid.UUID, size: int) -> None:
        await file_db.conversations.add_messages(
            target, [{"role": "assistant", "content": str(i)} for i in range(size)]
        )
        committed[target] += size

    async def rolled_back(target: uuid.UUID) -> None:
        try:
            async with file_db.transaction() as tx:
                await tx.conversations.add_message(target, {"role": "user", "content": "lost"})
                await tx.conversations.add_messages(
                    target, [{"role": "user", "content": "lost too"}] * 3
                )
                raise LookupError("roll back")
        except LookupError:
            pass

    jobs = []
    for _ in range(60):
        target = rng.choice([conversation.id, other.id])
        kind = rng.randrange(3)
        jobs.append(
            single(target)
            if kind == 0
            else batch(target, rng.randint(1, 20))
            if kind == 1
            else rolled_back(target)
        )
    await asyncio.gather(*jobs)

    for target, count in committed.items():
        assert await _stored_sequences(file_db, target) == list(range(1, count + 1))
        assert (await file_db.conversations.get(target)).message_count == count
    async with file_db.session() as session:
        lost = await session.execute(
            select(func.count()).where(Message.content.in_(["lost", "lost too"]))
        )
        assert lost.scalar_one() == 0


async def test_deleting_a_conversation_while_messages_arrive_leaves_no_orphan(
    file_db: Database,
) -> None:
    project = await file_db.projects.create({"name": "Racy"})
    for _ in range(20):
        conversation = await file_db.conversations.create({"project_id": project.id})

        async def append(target: uuid.UUID = conversation.id) -> None:
            try:
                await file_db.conversations.add_message(target, {"role": "user", "content": "x"})
            except Exception as error:  # refused: the conversation is gone
                assert type(error).__name__ in {"IntegrityError", "ConflictError"}

        await asyncio.gather(
            append(), file_db.conversations.delete(conversation.id), append(), append()
        )
    async with file_db.session() as session:
        orphans = await session.execute(select(func.count()).select_from(Message))
        assert orphans.scalar_one() == 0
