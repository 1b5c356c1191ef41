"""A Parquet export of a file imported into a lake: the point of Parquet is moving data there.

Real PostgreSQL (tests/_pg.py), real DuckLake, real files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from project_architect_db import AlreadyExistsError, Database, MigrationError
from project_architect_db.maintenance.portable import MANIFEST_NAME
from tests.integration.backup.helpers import fill

from .conftest import Lake


async def _export(tmp_path: Path, extension_directory: Path) -> Path:
    async with Database.open(
        tmp_path / "src.duckdb", extension_directory=extension_directory, load_fts=False
    ) as db:
        await fill(db, 4)
        return (await db.export_parquet(tmp_path / "export")).folder


async def test_an_export_goes_into_an_empty_lake_row_for_row_and_only_once(
    lake: Lake, tmp_path: Path, extension_directory: Path
) -> None:
    folder = await _export(tmp_path, extension_directory)
    options = {"data_path": lake.data_path, "extension_directory": extension_directory}
    report = await Database.import_parquet(folder, lake.catalog, **options)
    assert report.database == lake.catalog and report.replaced is None
    async with lake.open(extension_directory=extension_directory) as db:
        projects = (await db.projects.list(limit=10)).items
        assert sorted(p.name for p in projects) == [f"Project {n}" for n in range(4)]
        messages = await db.conversations.messages(
            (await db.conversations.list(project_id=projects[0].id)).items[0].id
        )
        assert [m.sequence for m in messages.items] == [1, 2, 3]
    with pytest.raises(AlreadyExistsError, match="empty lake only"):
        await Database.import_parquet(folder, lake.catalog, **options)


async def test_an_export_at_another_revision_is_refused_by_a_lake(
    lake: Lake, tmp_path: Path, extension_directory: Path
) -> None:
    folder = await _export(tmp_path, extension_directory)
    path = folder / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    assert manifest["revision"] != "0001"
    path.write_text(json.dumps({**manifest, "revision": "0001"}))
    options = {"data_path": lake.data_path, "extension_directory": extension_directory}
    with pytest.raises(MigrationError, match="import it into a file first"):
        await Database.import_parquet(folder, lake.catalog, **options)
    async with lake.open(extension_directory=extension_directory) as db:
        assert (await db.projects.list()).items == []
