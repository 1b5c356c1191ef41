"""Importing and exporting a project's documents from and to a folder, off the event loop."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import update

from project_architect_db import Database, NotFoundError, StorageError, ValidationError
from project_architect_db.models import Document
from project_architect_db.repositories.documents import DocumentSyncSummary
from project_architect_db.schemas import ProjectRead

FILES = {
    "README.md": "# Atlas\r\nWindows newlines survive.\n",
    "docs/spec.md": "## Spec\n\nÜnïcödé ✓\n",
    "docs/adr/0001-use-duckdb.md": "Use DuckDB.\n",
    "docs/notes.txt": "not markdown: not imported\n",
}


def _write_tree(root: Path, files: dict[str, str]) -> None:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8"))


def _read_tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes().decode("utf-8")
        for path in root.rglob("*")
        if path.is_file()
    }


async def test_import_export_round_trip_and_unchanged_reimport(
    db: Database, project: ProjectRead, tmp_path: Path
) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    _write_tree(source, FILES)

    first = await db.documents.import_dir(project.id, source)
    assert first == DocumentSyncSummary(created=3, updated=0, unchanged=0)
    adr = await db.documents.get_by_path(project.id, "docs/adr/0001-use-duckdb.md")
    assert (adr.title, adr.content, adr.version) == ("0001-use-duckdb", "Use DuckDB.\n", 1)

    again = await db.documents.import_dir(project.id, source)
    assert again == DocumentSyncSummary(unchanged=3)
    assert again.total == 3
    assert await db.documents.count(version__gt=1) == 0

    exported = await db.documents.export_dir(project.id, target)
    assert exported == DocumentSyncSummary(created=3)
    expected = {path: text for path, text in FILES.items() if path.endswith(".md")}
    assert _read_tree(target) == expected
    assert await db.documents.export_dir(project.id, target) == DocumentSyncSummary(unchanged=3)

    (source / "docs/spec.md").write_text("## Spec v2\n", encoding="utf-8")
    (source / "docs/new.md").write_text("new\n", encoding="utf-8")
    changed = await db.documents.import_dir(project.id, source)
    assert changed == DocumentSyncSummary(created=1, updated=1, unchanged=2)
    spec = await db.documents.get_by_path(project.id, "docs/spec.md")
    assert (spec.version, spec.content) == (2, "## Spec v2\n")
    (previous,) = await db.documents.history(spec.id)
    assert previous.content == FILES["docs/spec.md"]

    assert await db.documents.export_dir(project.id, target) == DocumentSyncSummary(
        created=1, updated=1, unchanged=2
    )
    assert _read_tree(target)["docs/spec.md"] == "## Spec v2\n"
    everything = await db.documents.import_dir(project.id, source, pattern="**/*")
    assert everything == DocumentSyncSummary(created=1, unchanged=4)


async def test_import_keeps_title_type_and_metadata_of_existing_documents(
    db: Database, project: ProjectRead, tmp_path: Path
) -> None:
    kept = await db.documents.create(
        {
            "project_id": project.id,
            "path": "README.md",
            "title": "Read me first",
            "doc_type": "readme",
            "metadata": {"owner": "ada"},
        }
    )
    _write_tree(tmp_path, {"README.md": "# New content\n"})
    assert await db.documents.import_dir(project.id, tmp_path) == DocumentSyncSummary(updated=1)
    readme = await db.documents.get(kept.id)
    assert (readme.title, readme.doc_type, readme.metadata_) == (
        "Read me first",
        "readme",
        {"owner": "ada"},
    )
    assert (readme.version, readme.content) == (2, "# New content\n")


async def test_file_io_runs_off_the_event_loop_thread(
    db: Database, project: ProjectRead, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_tree(tmp_path / "in", FILES)
    loop_thread = threading.get_ident()
    threads: set[int] = set()
    read_bytes, replace = Path.read_bytes, os.replace

    def spy_read(self: Path) -> bytes:
        threads.add(threading.get_ident())
        return read_bytes(self)

    def spy_replace(source: str, target: object) -> None:
        threads.add(threading.get_ident())
        replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_bytes", spy_read)
    monkeypatch.setattr(os, "replace", spy_replace)
    await db.documents.import_dir(project.id, tmp_path / "in")
    await db.documents.export_dir(project.id, tmp_path / "out")
    assert threads
    assert loop_thread not in threads


async def test_import_rejects_bad_folders_patterns_and_projects(
    db: Database, project: ProjectRead, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="not a directory"):
        await db.documents.import_dir(project.id, tmp_path / "missing")
    with pytest.raises(ValidationError, match="pattern"):
        await db.documents.import_dir(project.id, tmp_path, pattern="../**/*.md")
    with pytest.raises(ValidationError, match="pattern"):
        await db.documents.import_dir(project.id, tmp_path, pattern="/etc/*.md")
    with pytest.raises(NotFoundError, match="project"):
        await db.documents.import_dir(uuid.uuid4(), tmp_path)
    assert await db.documents.import_dir(project.id, tmp_path) == DocumentSyncSummary()


async def test_import_refuses_bad_files_and_imports_nothing(
    db: Database, project: ProjectRead, tmp_path: Path
) -> None:
    _write_tree(tmp_path, {"a.md": "fine\n"})
    (tmp_path / "latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValidationError, match=r"latin1\.md is not UTF-8"):
        await db.documents.import_dir(project.id, tmp_path)
    (tmp_path / "latin1.md").unlink()
    (tmp_path / "nul.md").write_bytes(b"a\x00b")
    with pytest.raises(ValidationError, match=r"Cannot import nul\.md.*NUL"):
        await db.documents.import_dir(project.id, tmp_path)
    (tmp_path / "nul.md").unlink()
    outside = tmp_path.parent / f"outside-{uuid.uuid4().hex}.md"
    outside.write_text("secret", encoding="utf-8")
    (tmp_path / "link.md").symlink_to(outside)
    with pytest.raises(ValidationError, match="outside"):
        await db.documents.import_dir(project.id, tmp_path)
    assert await db.documents.count() == 0


async def test_export_refuses_escaping_paths_and_bad_targets(
    db: Database, project: ProjectRead, tmp_path: Path
) -> None:
    await db.documents.create({"project_id": project.id, "path": "ok.md", "content": "ok"})
    sneaky = await db.documents.create({"project_id": project.id, "path": "sneaky.md"})
    async with db.transaction() as tx:  # a row written around the schemas' path checks
        await tx.session.execute(
            update(Document).where(Document.id == sneaky.id).values(path="../escaped.md")
        )
    target = tmp_path / "export"
    with pytest.raises(ValidationError, match="outside"):
        await db.documents.export_dir(project.id, target)
    assert not (tmp_path / "escaped.md").exists()
    assert list(target.iterdir()) == []  # nothing written: paths are checked first
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(ValidationError, match="is a file"):
        await db.documents.export_dir(project.id, a_file)
    with pytest.raises(NotFoundError, match="project"):
        await db.documents.export_dir(uuid.uuid4(), target)


async def test_export_reports_unwritable_targets_as_storage_errors(
    db: Database, project: ProjectRead, tmp_path: Path
) -> None:
    await db.documents.create({"project_id": project.id, "path": "sub/a.md", "content": "a"})
    target = tmp_path / "export"
    target.mkdir()
    (target / "sub").write_text("a file where a folder should be", encoding="utf-8")
    with pytest.raises(StorageError, match="Cannot write"):
        await db.documents.export_dir(project.id, target)
    assert (target / "sub").read_text(encoding="utf-8").startswith("a file")
