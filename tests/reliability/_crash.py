"""Harness of the crash-durability tests: launch a writer, SIGKILL it, check what survived.

The parent keeps a model of the file: the transactions the writer logged as committed, applied
in order. After each kill it opens the file with the library and compares *everything* the
writer touches (every project, conversation with its numbered messages, document with its
current version and history) against two candidates: the model, and the model plus the one
transaction whose intent was logged without a commit line (its COMMIT may have completed just
before the kill). The file must equal one of them exactly: a committed transaction missing is a
loss, a row from no candidate is a phantom, and the in-flight transaction half there matches
neither. Orphans (a child whose parent row is gone, for every logical foreign key) must be 0.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from project_architect_db import Database, StorageError
from tests.reliability._crash_writer import content_of, snapshot

WRITER = Path(__file__).with_name("_crash_writer.py")
#: How long a writer may take to import and open the file on a loaded machine.
START_TIMEOUT = 90.0


# -- launching writers ---------------------------------------------------------------------------


class Launcher(Protocol):
    """Starts writer processes and reports how they ended."""

    def spawn(self, args: dict[str, Any], stderr: Path) -> int: ...
    def poll(self, pid: int) -> int | None: ...
    def wait(self, pid: int) -> int: ...
    def close(self) -> None: ...


def describe(status: int) -> str:
    """A wait status in words."""
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exited with code {os.WEXITSTATUS(status)}"


class ForkServer:
    """``python _crash_writer.py serve``: imports the library once and forks each writer.

    A forked writer is a real OS process with its own DuckDB instance; only the interpreter's
    start-up (~1.3 s of CPU per writer) is shared. The slow run uses :class:`FreshProcesses`.
    """

    name = "fork-server"

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(WRITER), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._ended: dict[int, int] = {}

    def _ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server died ({self._process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def spawn(self, args: dict[str, Any], stderr: Path) -> int:
        return int(self._ask({"cmd": "spawn", "args": args, "stderr": str(stderr)})["pid"])

    def poll(self, pid: int) -> int | None:
        if pid not in self._ended:
            status = self._ask({"cmd": "poll", "pid": pid})["status"]
            if status is None:
                return None
            self._ended[pid] = int(status)
        return self._ended[pid]

    def wait(self, pid: int) -> int:
        if pid not in self._ended:
            self._ended[pid] = int(self._ask({"cmd": "wait", "pid": pid})["status"])
        return self._ended.pop(pid)

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        finally:
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            assert self._process.stdout is not None
            self._process.stdout.close()


class FreshProcesses:
    """A new ``python _crash_writer.py run ...`` per writer (nothing shared)."""

    name = "fresh-processes"

    def __init__(self) -> None:
        self._processes: dict[int, subprocess.Popen[bytes]] = {}

    def spawn(self, args: dict[str, Any], stderr: Path) -> int:
        with stderr.open("ab") as errors:
            process = subprocess.Popen(
                [sys.executable, str(WRITER), "run", json.dumps(args)],
                stdin=subprocess.DEVNULL,
                stdout=errors,
                stderr=errors,
            )
        self._processes[process.pid] = process
        return process.pid

    @staticmethod
    def _status(code: int) -> int:
        # rebuild a wait status from Popen's returncode (negative: killed by that signal)
        return -code if code < 0 else code << 8

    def poll(self, pid: int) -> int | None:
        code = self._processes[pid].poll()
        return None if code is None else self._status(code)

    def wait(self, pid: int) -> int:
        process = self._processes.pop(pid)
        return self._status(process.wait(timeout=60))

    def close(self) -> None:
        for process in self._processes.values():
            process.kill()
            process.wait()
        self._processes.clear()


# -- the model ------------------------------------------------------------------------------------


@dataclass
class Model:
    """The expected content of the file: committed transactions applied in commit order."""

    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # token -> id logged by the writer
    origin: dict[Any, int] = field(default_factory=dict)  # token -> seq that wrote it

    def apply(self, seq: int, op: dict[str, Any]) -> None:
        kind = op["op"]
        projects = self.projects
        if kind == "create":
            path, token, filler = op["doc"]
            projects[op["slug"]] = {
                "convs": {op["conv"]: list(op["msgs"])},
                "docs": {path: [content_of(token, filler)]},
            }
        elif kind == "bulk":
            for slug in op["slugs"]:
                projects[slug] = {"convs": {}, "docs": {}}
            projects[op["slugs"][0]]["docs"] = {
                path: [content_of(token, filler)] for path, token, filler in op["docs"]
            }
            if op["msgs"] is not None:
                target = op["msgs"]
                projects[target["slug"]]["convs"][target["conv"]].extend(target["tokens"])
        elif kind == "append":
            projects[op["slug"]]["convs"][op["conv"]].append(op["token"])
        elif kind == "revise":
            versions = projects[op["slug"]]["docs"][op["path"]]
            assert len(versions) == op["expected"], "the writer revised an unexpected version"
            versions.append(content_of(op["token"], op["filler"]))
        elif kind == "delete":
            del projects[op["slug"]]
        else:  # pragma: no cover
            raise AssertionError(kind)
        for token in op_tokens(op):
            self.origin.setdefault(token, seq)

    def canonical(self) -> dict[str, Any]:
        return {
            slug: {
                "convs": {
                    title: (len(messages), tuple(enumerate(messages, start=1)))
                    for title, messages in project["convs"].items()
                },
                "docs": {
                    path: (len(versions), versions[-1], tuple(enumerate(versions[:-1], start=1)))
                    for path, versions in project["docs"].items()
                },
            }
            for slug, project in self.projects.items()
        }


def op_tokens(op: dict[str, Any]) -> set[Any]:
    """The rows a transaction writes, as tokens (see :func:`tokens`)."""
    kind = op["op"]
    if kind == "create":
        _, token, filler = op["doc"]
        return {
            ("project", op["slug"]),
            ("conv", op["slug"], op["conv"]),
            *(("message", m) for m in op["msgs"]),
            ("content", content_of(token, filler)),
        }
    if kind == "bulk":
        found: set[Any] = {("project", slug) for slug in op["slugs"]}
        found |= {("content", content_of(token, filler)) for _, token, filler in op["docs"]}
        if op["msgs"] is not None:
            found |= {("message", m) for m in op["msgs"]["tokens"]}
        return found
    if kind == "append":
        return {("message", op["token"])}
    if kind == "revise":
        return {("content", content_of(op["token"], op["filler"]))}
    return set()


def canonical_snapshot(found: dict[str, Any]) -> dict[str, Any]:
    """A :func:`snapshot` in the shape of :meth:`Model.canonical` (ids dropped)."""
    return {
        slug: {
            "convs": {
                title: (conv["count"], conv["messages"]) for title, conv in project["convs"].items()
            },
            "docs": {
                path: (doc["version"], doc["content"], doc["history"])
                for path, doc in project["docs"].items()
            },
        }
        for slug, project in found["projects"].items()
    }


def tokens(canonical: dict[str, Any]) -> set[Any]:
    """Every row of a canonical state as a token: projects, conversations, messages, contents."""
    found: set[Any] = set()
    for slug, project in canonical.items():
        found.add(("project", slug))
        for title, (_, messages) in project["convs"].items():
            found.add(("conv", slug, title))
            found |= {("message", content) for _, content in messages}
        for _, content, history in project["docs"].values():
            found.add(("content", content))
            found |= {("content", old) for _, old in history}
    return found


# -- one campaign: many kill points on one file --------------------------------------------------


@dataclass
class Figures:
    """What a campaign tried and found."""

    kill_points: int = 0
    killed_while_opening: int = 0
    killed_while_writing: int = 0
    committed_checked: int = 0
    in_flight_committed: int = 0
    in_flight_absent: int = 0
    lost: int = 0
    phantom: int = 0
    partial: int = 0
    orphans: int = 0
    id_mismatches: int = 0
    checkpoints: int = 0
    read_only_verifications: int = 0

    def add(self, other: Figures) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


def read_log(path: Path) -> list[dict[str, Any]]:
    """The complete lines of a writer's log (a line cut by the kill was never written)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    return [json.loads(line) for line in data.split(b"\n")[:-1]]


def _wait_for(log: Path, kind: str, pid: int, launcher: Launcher, stderr: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not any(line["t"] == kind for line in read_log(log)):
        status = launcher.poll(pid)
        if status is not None:
            raise AssertionError(
                f"the writer {describe(status)} before {kind!r}:\n{stderr.read_text()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"the writer did not reach {kind!r} in {START_TIMEOUT} s")
        time.sleep(0.003)


class Campaign:
    """Repeated write / SIGKILL / verify rounds on one DuckDB file."""

    def __init__(self, folder: Path, seed: int, launcher: Launcher, max_delay: float) -> None:
        self.folder = folder
        self.database = folder / "crash.duckdb"
        self.rng = random.Random(seed)
        self.seed = seed
        self.launcher = launcher
        self.max_delay = max_delay
        self.model = Model()
        self.next_seq = 1
        self.figures = Figures()
        self.rounds = 0
        self.schema_exists = False

    def round(self) -> None:
        """One kill point: start a writer, kill it at a random moment, verify the file."""
        self.rounds += 1
        log = self.folder / f"log-{self.rounds}.jsonl"
        stderr = self.folder / f"stderr-{self.rounds}.txt"
        args = {
            "db": str(self.database),
            "log": str(log),
            "seed": self.rng.randrange(2**32),
            "start_seq": self.next_seq,
        }
        while_opening = self.rng.random() < 0.15
        pid = self.launcher.spawn(args, stderr)
        try:
            _wait_for(log, "opening", pid, self.launcher, stderr)
            if while_opening:
                time.sleep(self.rng.uniform(0.0, 0.15))
            else:
                _wait_for(log, "ready", pid, self.launcher, stderr)
                # a third of the kills come right after the start, the rest up to max_delay
                delay = self.rng.choice([0.0, 1.0, 1.0]) * self.rng.uniform(0.0, self.max_delay)
                time.sleep(delay)
        finally:
            # an unreaped child keeps its pid (a zombie at worst): the kill cannot hit another
            if self.launcher.poll(pid) is None:
                os.kill(pid, signal.SIGKILL)
            status = self.launcher.wait(pid)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
            f"the writer {describe(status)} before the kill:\n{stderr.read_text()}"
        )
        lines = read_log(log)
        reached_ready = any(line["t"] == "ready" for line in lines)
        self.figures.kill_points += 1
        if reached_ready:
            self.figures.killed_while_writing += 1
        else:
            self.figures.killed_while_opening += 1
        self.figures.checkpoints += sum(line["t"] == "checkpoint" for line in lines)
        read_only = self.schema_exists and self.rounds % 3 == 0
        try:
            asyncio.run(self._verify(lines, read_only=read_only))
        except StorageError as error:  # DuckDB could not read its own file back: keep it
            raise AssertionError(self._corrupt(error, lines, reached_ready)) from error
        self.schema_exists = self.schema_exists or reached_ready

    def _corrupt(
        self, error: StorageError, lines: list[dict[str, Any]], reached_ready: bool
    ) -> str:
        """Save the unreadable file and its WAL where the next run does not rotate them away."""
        evidence = Path(tempfile.mkdtemp(prefix=f"padb-corrupt-{self.seed}-{self.rounds}-"))
        for source in (self.database, Path(f"{self.database}.wal")):
            if source.exists():
                shutil.copy2(source, evidence / source.name)
        for log in self.folder.glob("log-*.jsonl"):
            shutil.copy2(log, evidence / log.name)
        phase = "while writing" if reached_ready else "while opening"
        return (
            f"round {self.rounds} (seed {self.seed}), killed {phase} after "
            f"{len(lines)} log lines, last {lines[-3:]}: DuckDB cannot read the file back "
            f"({error}). File, WAL and logs saved in {evidence}."
        )

    async def _verify(self, lines: list[dict[str, Any]], *, read_only: bool) -> None:
        intents = {line["seq"]: line["op"] for line in lines if line["t"] == "intent"}
        commits = {line["seq"]: line["ids"] for line in lines if line["t"] == "commit"}
        assert set(commits) <= set(intents), "a commit line without its intent"
        pending = sorted(set(intents) - set(commits))
        assert len(pending) <= 1, f"several transactions without a commit line: {pending}"
        if intents:
            self.next_seq = max(intents) + 1
        for seq in sorted(commits):
            self.model.apply(seq, intents[seq])
            self._remember_ids(intents[seq], commits[seq])
        absent = self.model.canonical()
        candidates = [("absent", absent, self.model)]
        if pending:
            with_it = copy.deepcopy(self.model)
            with_it.apply(pending[0], intents[pending[0]])
            candidates.append(("present", with_it.canonical(), with_it))

        async with Database.open(self.database, load_fts=False, read_only=read_only) as db:
            found = await snapshot(db)
            counted = await db.projects.count()
        self.figures.read_only_verifications += read_only
        actual = canonical_snapshot(found)
        assert counted == len(found["projects"])

        matched = [(name, model) for name, state, model in candidates if state == actual]
        self.figures.committed_checked += len(commits)
        self.figures.orphans += sum(found["orphans"].values())
        self.figures.id_mismatches += self._check_ids(found)
        if matched:
            name, model = matched[0]
            self.model = model
            if pending:
                if name == "present":
                    self.figures.in_flight_committed += 1
                else:
                    self.figures.in_flight_absent += 1
        else:
            self._count_damage(candidates, actual, intents, pending)
        totals = found["totals"]
        assert totals["projects"] == len(actual)
        assert totals["conversations"] == sum(len(p["convs"]) for p in actual.values())
        assert totals["documents"] == sum(len(p["docs"]) for p in actual.values())
        assert not sum(found["orphans"].values()), f"orphans: {found['orphans']}"
        assert matched, (
            f"round {self.rounds}: the file matches neither the committed state nor the "
            f"committed state plus the in-flight transaction {pending}: {self.figures}"
        )

    def _remember_ids(self, op: dict[str, Any], ids: dict[str, Any]) -> None:
        if op["op"] == "create" and "project" in ids:
            self.model.ids[op["slug"]] = ids["project"]
        elif op["op"] == "bulk" and "first" in ids:
            self.model.ids[op["slugs"][0]] = ids["first"]

    def _check_ids(self, found: dict[str, Any]) -> int:
        return sum(
            1
            for slug, project in found["projects"].items()
            if slug in self.model.ids and self.model.ids[slug] != project["id"]
        )

    def _count_damage(
        self,
        candidates: list[tuple[str, dict[str, Any], Model]],
        actual: dict[str, Any],
        intents: dict[int, dict[str, Any]],
        pending: list[int],
    ) -> None:
        have = tokens(actual)
        every = [tokens(state) for _, state, _ in candidates]
        expected_by_all = set.intersection(*every)
        missing = expected_by_all - have
        self.figures.lost += len({self.model.origin.get(t, -1) for t in missing})
        self.figures.phantom += len(have - set.union(*every))
        if pending:
            own = op_tokens(intents[pending[0]])
            if own & have and own - have:
                self.figures.partial += 1


def run_campaign(
    folder: Path, seed: int, launcher: Launcher, kills: int, max_delay: float = 0.8
) -> Figures:
    """``kills`` kill points on a new file; every round's check must pass."""
    campaign = Campaign(folder, seed, launcher, max_delay)
    for _ in range(kills):
        campaign.round()
    return campaign.figures
