"""What an xdist worker left behind when it died, printed at the end of the run.

A worker that dies (a fatal signal inside DuckDB's C++, or a hang ended by pytest-timeout's
``os._exit``) is reported by xdist only as "worker 'gw0' crashed while running ...". Python's
``faulthandler`` writes every thread's stack when that happens, but to the worker's stderr,
which CI shows far above the coverage table, if at all. Here each worker writes that evidence
to its own file instead, and the controller prints the end of every non-empty file just before
the short test summary, where a truncated CI log still shows it:

- a fatal signal (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL): ``faulthandler.enable``;
- a test still running after ``HANG_DUMP_SECONDS``: the innermost frames of every thread, one
  line each, so a hang shows where each thread waits before pytest-timeout (``timeout`` in
  pytest.ini) ends the worker.

Without xdist the stacks of a hang go to stderr.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Generator
from pathlib import Path
from types import FrameType
from typing import IO, Any

import pytest

#: Dump every thread's stack when one test runs this long (pytest-timeout ends it at 300 s).
HANG_DUMP_SECONDS = float(os.environ.get("PADB_HANG_DUMP_SECONDS", "240"))
#: Innermost frames shown per thread of a hung test.
FRAMES_PER_THREAD = 10
#: Lines of each worker's evidence shown in the summary.
SHOWN_LINES = 200

_DIRECTORY = "PADB_CRASH_EVIDENCE_DIR"
_file_key = pytest.StashKey[IO[str]]()
_owner_key = pytest.StashKey[Path]()


def _worker() -> str | None:
    return os.environ.get("PYTEST_XDIST_WORKER")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    worker = _worker()
    if worker is None:
        if _DIRECTORY not in os.environ:  # set before xdist starts the workers: they inherit it
            directory = Path(tempfile.mkdtemp(prefix="padb-crash-evidence-"))
            os.environ[_DIRECTORY] = str(directory)
            config.stash[_owner_key] = directory
        return
    directory = Path(os.environ.get(_DIRECTORY) or tempfile.gettempdir())
    # line-buffered text over an unbuffered descriptor: faulthandler writes to the descriptor
    evidence = (directory / f"{worker}-{os.getpid()}.log").open("a", buffering=1)
    config.stash[_file_key] = evidence
    faulthandler.enable(file=evidence, all_threads=True)  # replaces pytest's (stderr)


def pytest_unconfigure(config: pytest.Config) -> None:
    evidence = config.stash.get(_file_key, None)
    if evidence is not None:
        faulthandler.disable()
        evidence.close()
    directory = config.stash.get(_owner_key, None)
    if directory is not None:
        os.environ.pop(_DIRECTORY, None)
        if not any(path.stat().st_size for path in directory.iterdir()):
            shutil.rmtree(directory, ignore_errors=True)  # kept (and printed) when not empty


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/src/", "/tests/"):
        index = filename.rfind(marker)
        if index >= 0:
            return (
                filename[index + len(marker) :]
                if marker == "site-packages/"
                else filename[index + 1 :]
            )
    return filename


def thread_stacks(frames_per_thread: int = FRAMES_PER_THREAD) -> list[str]:
    """Every thread's innermost frames, one line each (``path:line function``)."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    lines: list[str] = []
    for ident, frame in sys._current_frames().items():
        if ident == threading.get_ident():
            continue  # the timer thread writing this
        lines.append(f"thread {names.get(ident, ident)}:")
        stack = traceback.extract_stack(frame)[-frames_per_thread:]
        lines.extend(f"  {_short(f.filename)}:{f.lineno} {f.name}" for f in stack)
    return lines


def _awaiting_frames(awaitable: object) -> list[FrameType]:
    """The frames of ``awaitable`` and of what it awaits, outermost first."""
    frames: list[FrameType] = []
    while awaitable is not None and len(frames) < 200:
        for name in ("cr_frame", "gi_frame", "ag_frame"):
            frame = getattr(awaitable, name, None)
            if frame is not None:
                frames.append(frame)
                break
        awaitable = next(
            (
                getattr(awaitable, name)
                for name in ("cr_await", "gi_yieldfrom", "ag_await")
                if getattr(awaitable, name, None) is not None
            ),
            None,
        )
    return frames


def task_stacks(frames_per_task: int = FRAMES_PER_THREAD) -> list[str]:
    """The awaiting frames of every unfinished asyncio task, of any event loop."""
    lines: list[str] = []
    # every task of every loop: 3.11 keeps them in ``_all_tasks``, 3.12+ in ``_scheduled_tasks``
    registry: Any = getattr(asyncio.tasks, "_scheduled_tasks", None)
    if registry is None:
        registry = getattr(asyncio.tasks, "_all_tasks", ())
    try:
        tasks = [task for task in list(registry) if not task.done()]
    except RuntimeError:  # the set changed while copied: evidence is best effort
        return ["(tasks changed while read)"]
    for task in tasks:
        lines.append(f"task {task.get_name()}:")
        for frame in _awaiting_frames(task.get_coro())[-frames_per_task:]:
            code = frame.f_code
            lines.append(f"  {_short(code.co_filename)}:{frame.f_lineno} {code.co_name}")
    return lines


def native_stacks(frames_per_thread: int = FRAMES_PER_THREAD + 4) -> list[str]:
    """This process's threads as py-spy sees them, C frames included (where a thread waits).

    A thread blocked inside C code (a lock, a destructor, a system call) shows only its last
    Python frame to ``sys._current_frames``; ``py-spy dump --native`` shows the C frames too.
    """
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return ["(py-spy not installed: no native stacks)"]
    try:
        done = subprocess.run(
            [str(spy), "dump", "--native", "--pid", str(os.getpid())],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return [f"(py-spy failed: {error})"]
    if done.returncode != 0:
        return [f"(py-spy exit {done.returncode}: {done.stderr.strip()[:300]})"]
    lines: list[str] = []
    for block in re.split(r"\n(?=Thread )", done.stdout):
        if not block.startswith("Thread ") or "_dump_hang" in block:
            continue  # py-spy's own header, and the thread writing this
        head, *frames = block.splitlines()
        frames = [line.strip() for line in frames if line.startswith("    ")]
        lines.append(head)
        lines.extend(f"  {frame}" for frame in frames[:frames_per_thread])
    return lines


def _dump_hang(nodeid: str, out: IO[str]) -> None:
    header = f"{nodeid} still running after {HANG_DUMP_SECONDS:g} s"
    out.write(f"{header}; native stacks (innermost first):\n")
    out.flush()
    out.write("\n".join([*native_stacks(), "Python frames (outermost first):"]) + "\n")
    out.write("\n".join([*thread_stacks(), *task_stacks()]) + "\n")
    out.flush()


class _Watchdog:
    """One thread for the whole session dumps the stacks of a test that runs too long.

    A timer thread per test ended once per test, and on CPython 3.11 an ended thread can make
    the coverage-traced main thread spin forever in greenlet's clean-up (it did, in a stress
    loop: docs/reliability.md, "The spin in greenlet's clean-up").
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._armed: tuple[str, float, IO[str]] | None = None
        self._thread: threading.Thread | None = None

    def arm(self, nodeid: str, out: IO[str]) -> None:
        with self._changed:
            self._armed = (nodeid, time.monotonic() + HANG_DUMP_SECONDS, out)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="hang-dump", daemon=True)
                self._thread.start()
            self._changed.notify()

    def disarm(self) -> None:
        with self._changed:
            self._armed = None
            self._changed.notify()

    def _watch(self) -> None:
        while True:
            with self._changed:
                while self._armed is None:
                    self._changed.wait()
                nodeid, deadline, out = self._armed
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    self._changed.wait(remaining)
                    continue  # look again: the test may have ended, or another begun
                self._armed = None  # one dump per test
            _dump_hang(nodeid, out)


_WATCHDOG = _Watchdog()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    evidence = item.config.stash.get(_file_key, None)
    _WATCHDOG.arm(item.nodeid, evidence if evidence is not None else sys.stderr)
    try:
        return (yield)
    finally:
        _WATCHDOG.disarm()


def condensed(lines: list[str]) -> list[str]:
    """faulthandler's report with at most ``FRAMES_PER_THREAD`` frames per thread, short paths."""
    out: list[str] = []
    frames = 0
    for line in lines:
        match = re.fullmatch(r'  File "(.*)", line (\d+) in (.*)', line)
        if match is None:
            frames = 0
            out.append(line)
            continue
        frames += 1
        if frames <= FRAMES_PER_THREAD:
            out.append(f"  {_short(match[1])}:{match[2]} {match[3]}")
        elif frames == FRAMES_PER_THREAD + 1:
            out.append("  ...")
    return out


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    directory = terminalreporter.config.stash.get(_owner_key, None)
    if directory is None or not directory.is_dir():
        return
    for path in sorted(directory.iterdir()):
        lines = path.read_text(errors="replace").splitlines()
        if not lines:
            continue
        terminalreporter.write_sep("=", f"worker evidence: {path.name} ({path})")
        lines = condensed(lines)
        for line in lines[:SHOWN_LINES]:
            terminalreporter.write_line(line)
        if len(lines) > SHOWN_LINES:
            terminalreporter.write_line(f"... {len(lines) - SHOWN_LINES} more lines in {path}")
