"""Reading and writing a folder of documents, off the event loop.

Every function here does blocking file IO and is meant for ``asyncio.to_thread``; the document
repository calls each once per batch, so an import or export costs a few thread hops, never a
blocked loop. Files are UTF-8; content round-trips byte for byte (no newline translation).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, NonNegativeInt

from project_architect_db.exceptions import StorageError, ValidationError

__all__ = ["DocumentSyncSummary", "check_targets", "read_tree", "write_files"]


class DocumentSyncSummary(BaseModel):
    """What an import or export did, per document.

    Attributes:
        created: Documents (import) or files (export) that did not exist before.
        updated: Ones whose content changed (an import keeps the previous version).
        unchanged: Ones already identical, skipped.
    """

    model_config = ConfigDict(frozen=True)

    created: NonNegativeInt = 0
    updated: NonNegativeInt = 0
    unchanged: NonNegativeInt = 0

    @property
    def total(self) -> int:
        """Every document or file considered."""
        return self.created + self.updated + self.unchanged


def _check_pattern(pattern: str) -> None:
    if not isinstance(pattern, str) or not pattern:
        raise ValidationError("pattern must be a non-empty glob such as '**/*.md'.")
    pure = PurePosixPath(pattern)
    if pure.is_absolute() or ".." in pure.parts or "\\" in pattern or ":" in pattern:
        raise ValidationError(
            f"pattern {pattern[:100]!r} must be relative to the folder, without '..', e.g. "
            "'**/*.md'."
        )


def read_tree(folder: Path, pattern: str) -> list[tuple[str, str]]:
    """The ``(relative posix path, text)`` of every file under ``folder`` matching ``pattern``.

    Raises:
        ValidationError: ``folder`` is not a directory, ``pattern`` is not a relative glob, a
            matching file is not UTF-8, or it resolves (through a link) outside ``folder``.
        StorageError: A file cannot be read.
    """
    _check_pattern(pattern)
    if not folder.is_dir():
        raise ValidationError(f"{folder} is not a directory to import documents from.")
    root = folder.resolve()
    found: list[tuple[str, str]] = []
    try:
        for path in sorted(folder.glob(pattern)):
            if not path.is_file():
                continue
            relative = path.relative_to(folder).as_posix()
            if not path.resolve().is_relative_to(root):
                raise ValidationError(
                    f"{relative} links to a file outside {folder}; refusing to import it."
                )
            try:
                text = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValidationError(
                    f"{relative} is not UTF-8 text ({error.reason} at byte {error.start}); "
                    "convert it or narrow the pattern."
                ) from None
            found.append((relative, text))
    except OSError as error:
        raise StorageError(f"Cannot read documents from {folder}: {error}.") from error
    return found


def check_targets(folder: Path, paths: Sequence[str]) -> Path:
    """Create ``folder`` if needed and check every path stays inside it; return it resolved.

    Raises:
        ValidationError: ``folder`` is a file, or a path would escape it (``..``, absolute
            paths, links pointing outside).
        StorageError: ``folder`` cannot be created.
    """
    try:
        if folder.exists() and not folder.is_dir():
            raise ValidationError(f"{folder} is a file, not a folder to export documents into.")
        folder.mkdir(parents=True, exist_ok=True)
        root = folder.resolve()
    except OSError as error:
        raise StorageError(f"Cannot create {folder}: {error}.") from error
    for path in paths:
        pure = PurePosixPath(path)
        target = (root / path).resolve()
        if pure.is_absolute() or ".." in pure.parts or not target.is_relative_to(root):
            raise ValidationError(
                f"The document path {path[:200]!r} would be written outside {folder}; "
                "nothing was exported. Fix the path (documents.update) and export again."
            )
    return root


def write_files(root: Path, documents: Sequence[tuple[str, str]]) -> tuple[int, int, int]:
    """Write each ``(path, content)`` under ``root``; return (created, updated, unchanged).

    A file already holding the same bytes is left untouched; others are replaced atomically
    (written to a temporary file beside it, then renamed).

    Raises:
        StorageError: A file cannot be written.
    """
    created = updated = unchanged = 0
    for path, content in documents:
        target = root / path
        data = content.encode("utf-8")
        try:
            if target.is_file():
                if target.read_bytes() == data:
                    unchanged += 1
                    continue
                updated += 1
            else:
                created += 1
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".padb-", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise StorageError(f"Cannot write {target}: {error}.") from error
    return created, updated, unchanged
