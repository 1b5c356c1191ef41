"""The writer process of the crash-durability tests: logged, committed transactions on a file.

It opens a DuckDB file through the library and runs random units of work until it is killed:

* ``create``: one project with a conversation, two messages and a document (single creates);
* ``bulk``: many projects, documents and messages through ``bulk_create`` / ``add_messages``;
* ``append``: one message added to an existing conversation (``add_message``);
* ``revise``: a document's content replaced (a new version, the old one kept as history);
* ``delete``: a project deleted with everything below it (the repositories' cascade);
* ``checkpoint``: ``db.checkpoint()`` between transactions (not a transaction: not logged as one).

Before each transaction it appends an ``intent`` line to the log (everything the transaction
will write, named by unique tokens: slugs, titles, paths, contents); after the ``async with
db.transaction()`` block has returned it appends a ``commit`` line with the ids the library
returned. Every line is one ``write`` followed by ``fsync``. So for the parent: a commit line
means "committed"; the last intent without one may or may not have committed (the kill may
land between COMMIT and the log write), and every earlier intent has a commit line.

Two ways to start it (see ``_crash.py``):

* ``python _crash_writer.py run '<json args>'``: one fresh interpreter per kill point;
* ``python _crash_writer.py serve``: imports the library once, then forks one writer per
  ``spawn`` command read from stdin (the CI run uses this: an import costs ~1.3 s of CPU).

The module is also imported by the tests, for :func:`snapshot` and :func:`content_of`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from project_architect_db import Database
from project_architect_db.models.graph import REFERENCES
from project_architect_db.schemas import DocumentCreate, MessageCreate, ProjectCreate

#: A writer that was not killed within this many seconds stops on its own (exit code 3).
MAX_SECONDS = 60.0


def content_of(token: str, filler: int) -> str:
    """The content a document revision holds: its unique token and ``filler`` words."""
    return token + " lorem" * filler


class Log:
    """An append-only JSON-lines file; each line is one ``write`` and ``fsync``."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, record: dict[str, Any]) -> None:
        record["at"] = round(time.monotonic(), 4)
        data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        written = os.write(self._fd, data)
        assert written == len(data)
        os.fsync(self._fd)


@dataclass
class ProjectState:
    """What the writer knows of one project it created (and that is still there)."""

    id: str
    convs: dict[str, str] = field(default_factory=dict)  # title -> id
    docs: dict[str, list[Any]] = field(default_factory=dict)  # path -> [id, version]


# -- reading a file's state (also used by the parent to verify) --------------------------------


async def snapshot(db: Database) -> dict[str, Any]:
    """Every row the writer's transactions touch, keyed by their tokens, plus orphan counts."""
    async with db.session() as session:

        async def rows(sql: str) -> list[Any]:
            return list((await session.execute(text(sql))).all())

        projects = await rows("SELECT slug, id FROM projects")
        convs = await rows(
            "SELECT p.slug, c.title, c.message_count, c.id FROM conversations c "
            "JOIN projects p ON p.id = c.project_id"
        )
        messages = await rows(
            "SELECT conversation_id, sequence, content FROM messages "
            "ORDER BY conversation_id, sequence"
        )
        docs = await rows(
            "SELECT p.slug, d.path, d.version, d.content, d.id FROM documents d "
            "JOIN projects p ON p.id = d.project_id"
        )
        versions = await rows(
            "SELECT document_id, version, content FROM document_versions "
            "ORDER BY document_id, version"
        )
        orphans = {}
        for ref in REFERENCES:
            child, parent = ref.child.__tablename__, ref.parent.__tablename__
            count = await rows(
                f"SELECT count(*) FROM {child} c WHERE c.{ref.column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {parent} p WHERE p.id = c.{ref.column})"
            )
            orphans[str(ref)] = int(count[0][0])
        totals = {
            table: int((await rows(f"SELECT count(*) FROM {table}"))[0][0])
            for table in ("projects", "conversations", "messages", "documents", "document_versions")
        }
    by_conv: dict[Any, list[tuple[int, str]]] = {}
    for conversation_id, sequence, content in messages:
        by_conv.setdefault(conversation_id, []).append((int(sequence), content))
    by_doc: dict[Any, list[tuple[int, str]]] = {}
    for document_id, version, content in versions:
        by_doc.setdefault(document_id, []).append((int(version), content))
    state: dict[str, dict[str, Any]] = {
        slug: {"id": str(pid), "convs": {}, "docs": {}} for slug, pid in projects
    }
    for slug, title, count, cid in convs:
        state[slug]["convs"][title] = {
            "id": str(cid),
            "count": int(count),
            "messages": tuple(by_conv.get(cid, ())),
        }
    for slug, path, version, content, did in docs:
        state[slug]["docs"][path] = {
            "id": str(did),
            "version": int(version),
            "content": content,
            "history": tuple(by_doc.get(did, ())),
        }
    return {"projects": state, "orphans": orphans, "totals": totals}


# -- choosing and running transactions ----------------------------------------------------------


def plan(rng: random.Random, state: dict[str, ProjectState], seq: int) -> dict[str, Any]:
    """The next unit of work, named by tokens derived from ``seq`` (unique in the file)."""
    roll = rng.random()
    with_convs = [(slug, title) for slug, p in state.items() for title in p.convs]
    with_docs = [(slug, path) for slug, p in state.items() for path in p.docs]
    if roll < 0.05:
        return {"op": "checkpoint"}
    if roll < 0.15:
        slugs = [f"b{seq}-{i}" for i in range(rng.randint(20, 300))]
        docs = [[f"d{seq}-{i}.md", f"t{seq}-{i}", rng.randint(0, 200)] for i in range(20)]
        messages = None
        if with_convs:
            slug, title = rng.choice(with_convs)
            tokens = [f"m{seq}-{i}" for i in range(rng.randint(5, 50))]
            messages = {"slug": slug, "conv": title, "tokens": tokens}
        return {"op": "bulk", "slugs": slugs, "docs": docs, "msgs": messages}
    if roll < 0.35 and with_convs:
        slug, title = rng.choice(with_convs)
        return {"op": "append", "slug": slug, "conv": title, "token": f"m{seq}"}
    if roll < 0.55 and with_docs:
        slug, path = rng.choice(with_docs)
        version = state[slug].docs[path][1]
        return {
            "op": "revise",
            "slug": slug,
            "path": path,
            "token": f"t{seq}",
            "filler": rng.randint(0, 400),
            "expected": version,
        }
    if roll < 0.65 and len(state) > 3:
        return {"op": "delete", "slug": rng.choice(sorted(state))}
    return {
        "op": "create",
        "slug": f"p{seq}",
        "conv": f"c{seq}",
        "msgs": [f"m{seq}-a", f"m{seq}-b"],
        "doc": [f"d{seq}.md", f"t{seq}", rng.randint(0, 400)],
    }


async def apply(db: Database, state: dict[str, ProjectState], op: dict[str, Any]) -> dict[str, Any]:
    """Run ``op`` as one transaction; update ``state`` once it has committed; return ids."""
    kind = op["op"]
    ids: dict[str, Any] = {}
    if kind == "create":
        path, token, filler = op["doc"]
        async with db.transaction() as tx:
            project = await tx.projects.create(ProjectCreate(name=op["slug"], slug=op["slug"]))
            conv = await tx.conversations.create({"project_id": project.id, "title": op["conv"]})
            for content in op["msgs"]:
                await tx.conversations.add_message(
                    conv.id, MessageCreate(role="user", content=content)
                )
            doc = await tx.documents.create(
                DocumentCreate(project_id=project.id, path=path, content=content_of(token, filler))
            )
        state[op["slug"]] = ProjectState(
            str(project.id), {op["conv"]: str(conv.id)}, {path: [str(doc.id), 1]}
        )
        ids = {"project": str(project.id), "conv": str(conv.id), "doc": str(doc.id)}
    elif kind == "bulk":
        async with db.transaction() as tx:
            project_ids = await tx.projects.bulk_create(
                [ProjectCreate(name=slug, slug=slug) for slug in op["slugs"]]
            )
            doc_ids = await tx.documents.bulk_create(
                [
                    DocumentCreate(
                        project_id=project_ids[0], path=path, content=content_of(token, filler)
                    )
                    for path, token, filler in op["docs"]
                ]
            )
            if op["msgs"] is not None:
                target = state[op["msgs"]["slug"]].convs[op["msgs"]["conv"]]
                await tx.conversations.add_messages(
                    target,
                    [MessageCreate(role="assistant", content=t) for t in op["msgs"]["tokens"]],
                )
        for slug, pid in zip(op["slugs"], project_ids, strict=True):
            state[slug] = ProjectState(str(pid))
        first = state[op["slugs"][0]]
        for (path, _, _), did in zip(op["docs"], doc_ids, strict=True):
            first.docs[path] = [str(did), 1]
        ids = {"projects": len(project_ids), "first": str(project_ids[0]), "docs": len(doc_ids)}
    elif kind == "append":
        target = state[op["slug"]].convs[op["conv"]]
        async with db.transaction() as tx:
            message = await tx.conversations.add_message(
                target, MessageCreate(role="user", content=op["token"])
            )
        ids = {"message": str(message.id), "sequence": message.sequence}
    elif kind == "revise":
        doc_state = state[op["slug"]].docs[op["path"]]
        async with db.transaction() as tx:
            doc = await tx.documents.update(
                doc_state[0],
                {"content": content_of(op["token"], op["filler"])},
                expected_version=op["expected"],
            )
        doc_state[1] = doc.version
        ids = {"doc": str(doc.id), "version": doc.version}
    elif kind == "delete":
        async with db.transaction() as tx:
            await tx.projects.delete(state[op["slug"]].id)
        ids = {"project": state.pop(op["slug"]).id}
    else:  # pragma: no cover - plan() makes no other kind
        raise AssertionError(kind)
    return ids


async def load_state(db: Database) -> dict[str, ProjectState]:
    """What is in the file now, as the writer's bookkeeping."""
    found = await snapshot(db)
    state: dict[str, ProjectState] = {}
    for slug, project in found["projects"].items():
        state[slug] = ProjectState(
            project["id"],
            {title: conv["id"] for title, conv in project["convs"].items()},
            {path: [doc["id"], doc["version"]] for path, doc in project["docs"].items()},
        )
    return state


async def write_until_killed(args: dict[str, Any]) -> int:
    """Open the file and commit logged transactions until killed (or ``MAX_SECONDS``)."""
    log = Log(args["log"])
    rng = random.Random(args["seed"])
    seq = int(args["start_seq"])
    log.write({"t": "opening", "pid": os.getpid()})
    async with Database.open(args["db"], load_fts=False) as db:
        # Small WAL threshold: automatic checkpoints (WAL -> file) happen often, so some kills
        # land in the middle of one.
        async with db.engine.connect() as connection:
            await connection.execute(text("SET GLOBAL checkpoint_threshold = '256KB'"))
        state = await load_state(db)
        log.write({"t": "ready", "projects": len(state)})
        deadline = time.monotonic() + MAX_SECONDS
        while time.monotonic() < deadline:
            op = plan(rng, state, seq)
            if op["op"] == "checkpoint":
                await db.checkpoint()
                log.write({"t": "checkpoint"})
                continue
            log.write({"t": "intent", "seq": seq, "op": op})
            ids = await apply(db, state, op)
            if rng.random() < 0.3:
                # committed but not yet logged, as an application acknowledging late: widens
                # the window where a kill leaves the in-flight transaction committed
                await asyncio.sleep(rng.uniform(0.0, 0.03))
            log.write({"t": "commit", "seq": seq, "ids": ids})
            seq += 1
    return 3


def _run_writer(args: dict[str, Any]) -> int:
    import project_architect_db as padb

    return padb.run(write_until_killed(args))


def _serve() -> None:
    """Fork a writer per ``spawn`` line on stdin; answer JSON lines on stdout."""
    import project_architect_db.database  # noqa: F401 - everything a writer needs, once

    out = sys.stdout
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "spawn":
            out.flush()
            pid = os.fork()
            if pid == 0:  # the writer
                code = 1
                try:
                    errors = os.open(command["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
                    os.dup2(errors, 1)
                    os.dup2(errors, 2)
                    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                    code = _run_writer(command["args"])
                except BaseException:
                    traceback.print_exc()
                finally:
                    sys.stderr.flush()
                    os._exit(code)
            out.write(json.dumps({"pid": pid}) + "\n")
        elif command["cmd"] == "poll":
            ended, status = os.waitpid(command["pid"], os.WNOHANG)
            out.write(json.dumps({"status": status if ended else None}) + "\n")
        elif command["cmd"] == "wait":
            _, status = os.waitpid(command["pid"], 0)
            out.write(json.dumps({"status": status}) + "\n")
        out.flush()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        _serve()
    else:
        sys.exit(_run_writer(json.loads(sys.argv[2])))
