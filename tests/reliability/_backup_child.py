"""Back up a database in a process of its own; report the outcome as JSON on stdout.

Run by ``test_backup_crash.py``: ``{"db": path, "dest": folder, "mode": "plain" | "fsize"}``;
``"op": "export"`` exports to Parquet in ``dest`` instead, ``"op": "import"`` imports the export
``dest`` into ``db``; ``"fast": true`` backs up with ``low_priority=False``.
It prints ``{"t": "open"}`` once the database is open (the parent times its SIGKILL from
there), then the result. ``fsize`` first limits the size of any file this process writes
(``RLIMIT_FSIZE``: a write past it fails with EFBIG, as on a full disk).

``serve`` instead of the JSON argument makes a fork server for the SIGKILL trials: it imports
the library once (~1.4 s of a trial's ~2 s on a quiet machine, several times that on a loaded
one), then for every JSON line on stdin forks a child that does the above, with its pid in its
``open`` line, and reports ``{"t": "exit", "status": ...}`` once the child is gone (killed or
not). Only the imports are shared: the fork happens while this process runs no other thread
and has opened no database.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
from typing import Any

import project_architect_db as padb
from project_architect_db import Database, ProjectArchitectDBError


def _limit(args: dict[str, Any]) -> None:
    if args["mode"] == "fsize":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args["limit"], resource.RLIM_INFINITY))


#: When the database was open (monotonic clock), for the result's ``seconds``.
_OPENED: list[float] = []


async def _run(args: dict[str, Any]) -> str:
    if args.get("op") == "import":
        _limit(args)
        return str((await Database.import_parquet(args["dest"], args["db"])).database)
    async with Database.open(args["db"], load_fts=False) as db:
        print(json.dumps({"t": "open", "pid": os.getpid()}), flush=True)
        _OPENED.append(time.monotonic())
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
    # the work's own time, from the "open" line on (the SIGKILL trials time their kills by it)
    seconds = time.monotonic() - _OPENED[-1] if _OPENED else None
    return {"t": "done", "path": path, "seconds": seconds}


def serve() -> None:
    """Fork a child per JSON line on stdin; report each child's exit status once it is gone."""
    import threading

    import uvloop  # noqa: F401  (the work's own imports)

    import project_architect_db._runner
    import project_architect_db.maintenance.backup
    import project_architect_db.maintenance.portable  # noqa: F401

    print(json.dumps({"t": "ready"}), flush=True)
    for line in sys.stdin:
        assert threading.active_count() == 1, "forking a process that runs threads"
        pid = os.fork()
        if pid == 0:  # the child: one job, then out without the server's clean-up
            code = 0
            try:
                print(json.dumps(padb.run(main(json.loads(line)))), flush=True)
            except BaseException:
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"t": "exit", "status": status}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    else:
        print(json.dumps(padb.run(main(json.loads(sys.argv[1])))), flush=True)
