"""Fill the disk under a database through the library; report every error as JSON on stdout.

Run by ``test_faults.py`` in its own process, because the limits it needs are per process: a
file-size limit (``RLIMIT_FSIZE``: writes past it fail with EFBIG) or a small tmpfs mounted in a
private mount namespace (``unshare``: writes fail with ENOSPC, a real full disk).

1. commits a baseline (100 projects and a document) and closes the file;
2. reopens it and commits 2 MB bulk inserts until one fails, then tries a small write and
   closes (each outcome recorded: class, whether it is a ``ProjectArchitectDBError``, text);
3. frees space (raises the limit, or deletes a ballast file) and reopens the file to count
   what survived.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
from typing import Any

import project_architect_db as padb
from project_architect_db import Database, ProjectArchitectDBError

ROUND_DOCUMENTS = 20
DOCUMENT_BYTES = 100_000
#: Room left for the second phase: the writes fail after about this many bytes.
HEADROOM = 3_000_000


def _describe(error: BaseException) -> dict[str, Any]:
    return {
        "class": f"{type(error).__module__}.{type(error).__name__}",
        "library": isinstance(error, ProjectArchitectDBError),
        "message": str(error)[:600],
    }


def _fill_but(headroom: int, path: str, ballast: str) -> None:
    stats = os.statvfs(path)
    with open(ballast, "wb") as handle:
        handle.write(b"\0" * (stats.f_bavail * stats.f_frsize - headroom))


async def main(args: dict[str, Any]) -> dict[str, Any]:
    path = args["db"]
    report: dict[str, Any] = {"errors": [], "committed_rounds": 0, "small_write": None}
    async with Database.open(path, load_fts=False) as db:
        async with db.transaction() as tx:
            ids = await tx.projects.bulk_create([{"name": f"Keep {i}"} for i in range(100)])
            await tx.documents.create({"project_id": ids[0], "path": "kept.md", "content": "kept"})
    ballast = os.path.join(os.path.dirname(path), "ballast")
    if args["mode"] == "rlimit":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit: EFBIG
        limit = os.path.getsize(path) + HEADROOM
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    else:  # leave HEADROOM free on the tmpfs; deleting the ballast frees the rest
        _fill_but(HEADROOM, path, ballast)
    try:
        async with Database.open(path, load_fts=False) as db:
            owner = (await db.projects.get_by_slug("keep-0")).id
            for number in range(500):
                records = [
                    {
                        "project_id": owner,
                        "path": f"big/{number}/{i}.md",
                        "content": os.urandom(DOCUMENT_BYTES // 2).hex(),
                    }
                    for i in range(ROUND_DOCUMENTS)
                ]
                try:
                    await db.documents.bulk_create(records)
                except Exception as error:
                    report["errors"].append({"step": "bulk insert", **_describe(error)})
                    break
                report["committed_rounds"] += 1
            try:
                await db.projects.create({"name": "Small write after the failure"})
                report["small_write"] = "committed"
            except Exception as error:
                report["small_write"] = "failed"
                report["errors"].append({"step": "small write", **_describe(error)})
    except Exception as error:
        report["errors"].append({"step": "close", **_describe(error)})
    # free space, then reopen: what was committed must be there
    if args["mode"] == "rlimit":
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    else:
        os.remove(ballast)
    try:
        async with Database.open(path, load_fts=False) as db:
            keep = await db.projects.get_by_slug("keep-0")
            report["after"] = {
                "projects": await db.projects.count(),
                "documents": await db.documents.count(),
                "kept_content": (await db.documents.get_by_path(keep.id, "kept.md")).content,
                "small_write_present": await db.projects.exists(
                    slug="small-write-after-the-failure"
                ),
            }
    except Exception as error:
        report["errors"].append({"step": "reopen", **_describe(error)})
    return report


if __name__ == "__main__":
    print(json.dumps(padb.run(main(json.loads(sys.argv[1])))))
