"""The pytest plugin's fixtures, used the way an application's test suite would use them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from project_architect_db import Database


async def test_padb_db_is_a_fresh_file_per_test(padb_db: Database, tmp_path: Path) -> None:
    assert Path(padb_db.settings.database).parent == tmp_path
    async with padb_db.transaction() as tx:
        await tx.execute(text("CREATE TABLE mine (x INTEGER)"))


async def test_padb_db_does_not_see_other_tests_tables(padb_db: Database) -> None:
    async with padb_db.session() as session:
        tables = await session.execute(
            text("SELECT count(*) FROM information_schema.tables WHERE table_name = 'mine'")
        )
        assert tables.scalar_one() == 0


async def test_padb_memory_db_is_in_memory(padb_memory_db: Database) -> None:
    assert padb_memory_db.settings.in_memory
    async with padb_memory_db.session() as session:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
