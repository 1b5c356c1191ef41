"""Back up a database in a process of its own; report the outcome as JSON on stdout.

Run by ``test_backup_crash.py``: ``{"db": path, "dest": folder, "mode": "plain" | "fsize"}``;
``"op": "export"`` exports to Parquet in ``dest`` instead, ``"op": "import"`` imports the export
``dest`` into ``db``; ``"fast": true`` backs up with ``low_priority=False``.
It prints ``{"t": "open"}`` once the database is open (the parent times its SIGKILL from
there), then the result. ``fsize`` first limits the size of any file this process writes
(``RLIMIT_FSIZE``: a write past it fails with EFBIG, as on a full disk).
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from typing import Any

import project_architect_db as padb
from project_architect_db import Database, ProjectArchitectDBError


def _limit(args: dict[str, Any]) -> None:
    if args["mode"] == "fsize":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args["limit"], resource.RLIM_INFINITY))


async def _run(args: dict[str, Any]) -> str:
    if args.get("op") == "import":
        _limit(args)
        return str((await Database.import_parquet(args["dest"], args["db"])).database)
    async with Database.open(args["db"], load_fts=False) as db:
        print(json.dumps({"t": "open"}), flush=True)
        _limit(args)
        if args.get("op") == "export":
            return str((await db.export_parquet(args["dest"])).folder)
        low = not args.get("fast", False)  # the copy at full speed (SIGKILL trials' timing)
        return str((await db.backup(args["dest"], low_priority=low)).path)


async def main(args: dict[str, Any]) -> dict[str, Any]:
    try:
        path = await _run(args)
    except Exception as error:
        return {
            "t": "error",
            "class": type(error).__name__,
            "library": isinstance(error, ProjectArchitectDBError),
            "message": str(error)[:600],
        }
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
    return {"t": "done", "path": path}


if __name__ == "__main__":
    print(json.dumps(padb.run(main(json.loads(sys.argv[1])))), flush=True)
