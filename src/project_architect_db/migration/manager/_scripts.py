"""The package's Alembic script directory, and what every Alembic run in the process shares."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError

from project_architect_db.exceptions import MigrationError

#: The Alembic script directory inside the package (``env.py``, ``script.py.mako``).
SCRIPT_LOCATION = Path(__file__).resolve().parents[1]
#: Where the library's own revisions live.
VERSIONS_DIRECTORY = SCRIPT_LOCATION / "versions"
#: Revision files are named ``YYYYMMDD_NNNN_slug.py``.
FILE_TEMPLATE = "%(year)d%(month).2d%(day).2d_%(rev)s_%(slug)s"

# Parsing the revision files (importing each one) is the slow part of Alembic's start; the
# directory object memoises its revision map, so one per folder set serves the whole process.
# The folders' modification times are part of the key: adding a revision file invalidates it.
_SCRIPT_CACHE: dict[tuple[Any, ...], ScriptDirectory] = {}

# Alembic publishes the running environment as module-level proxies (``alembic.context``,
# ``alembic.op``), so two runs interleaved in one process (two databases opening at once on one
# event loop, or on two loops in two threads) would clobber each other's. One run at a time.
_ALEMBIC_LOCK = threading.Lock()


@contextlib.asynccontextmanager
async def _alembic_turn() -> AsyncIterator[None]:
    """Hold the process-wide Alembic lock without blocking the event loop while waiting."""
    # A thread lock polled, not an asyncio one: the holder may run on another event loop.
    while not _ALEMBIC_LOCK.acquire(blocking=False):  # noqa: ASYNC110
        await asyncio.sleep(0.002)
    try:
        yield
    finally:
        _ALEMBIC_LOCK.release()


def _down_revision(value: str | Sequence[str] | None) -> str | tuple[str, ...] | None:
    return value if value is None or isinstance(value, str) else tuple(value)


def _single_head(script: ScriptDirectory) -> str:
    heads = script.get_heads()
    if len(heads) != 1:
        raise MigrationError(
            f"The revision history has {len(heads)} heads ({', '.join(heads) or 'none'}); "
            "it needs exactly one (write a merge revision)."
        )
    return heads[0]


def _is_known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.revision_map.get_revision(revision) is not None
    except (ResolutionError, CommandError):
        return False


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def known_revisions() -> frozenset[str]:
    """Every revision of the library's own revision folder (any other one is newer)."""
    from project_architect_db.migration import manager as defaults

    script = ScriptDirectory(
        str(defaults.SCRIPT_LOCATION),
        file_template=FILE_TEMPLATE,
        version_locations=[str(defaults.VERSIONS_DIRECTORY)],
        messaging_opts={"quiet": True},
    )
    return frozenset(revision.revision for revision in script.walk_revisions())
