"""What the event-loop thread does in each callback: its CPU time, and where that time went.

:class:`CallbackTimer` wraps ``asyncio.Handle._run`` (one callback: one step of one task) and
measures the loop thread's CPU time in it, garbage collections apart. A side thread samples the
loop thread's Python stack every few milliseconds while a callback runs, so the longest callback
comes with the code that used the CPU, not only with the ``await`` it started and ended at.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import sys
import threading
import time
from asyncio import Task
from collections import Counter
from types import FrameType
from typing import Any

__all__ = ["CallbackTimer", "LongCallback"]

#: How often the side thread looks at the loop thread while a callback runs.
SAMPLE_EVERY = 0.005
#: How many frames of a sampled stack are kept (innermost first).
STACK_DEPTH = 14


def _awaiting(task: object) -> str:
    """The chain of coroutines ``task`` is suspended in, outermost first."""
    if not isinstance(task, Task):
        return "-"
    links = []
    awaited: Any = task.get_coro()
    while awaited is not None and len(links) < 24:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            break
        links.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return " > ".join(links) or "-"


def _stack(frame: FrameType | None) -> str:
    """A sampled stack, innermost frame first: ``file:line function`` per frame."""
    parts = []
    while frame is not None and len(parts) < STACK_DEPTH:
        code = frame.f_code
        name = code.co_filename.rsplit("/", 2)
        parts.append(f"{'/'.join(name[-2:])}:{frame.f_lineno} {code.co_name}")
        frame = frame.f_back
    return " <- ".join(parts)


class LongCallback:
    """The longest callback seen: its CPU split, where it ran, and what the samples say."""

    def __init__(self) -> None:
        self.work = 0.0  # loop-thread CPU, its garbage collections excluded
        self.cpu = 0.0  # loop-thread CPU, collections included
        self.gc = 0.0  # loop-thread CPU in collections during the callback
        self.user = 0.0  # of ``cpu``: user / system time (getrusage of the thread)
        self.system = 0.0
        self.wall = 0.0
        self.handle = ""
        self.started_in = "-"  # the task's outermost coroutine, where it was resumed
        self.ended_in = "-"
        self.samples: Counter[str] = Counter()

    def describe(self, top: int = 4) -> str:
        """The failure message: figures, then the most frequent sampled stacks."""
        lines = [
            f"{self.handle}: {self.work * 1000:.1f} ms of loop CPU without GC "
            f"({self.cpu * 1000:.1f} ms with {self.gc * 1000:.1f} ms GC; user "
            f"{self.user * 1000:.1f} / system {self.system * 1000:.1f} ms; "
            f"wall {self.wall * 1000:.1f} ms)",
            f"  resumed in: {self.started_in} (the task's own coroutine)",
            f"  suspended in: {self.ended_in}",
            f"  {sum(self.samples.values())} samples every {SAMPLE_EVERY * 1000:.0f} ms:",
        ]
        lines += [f"  {count} x {stack}" for stack, count in self.samples.most_common(top)]
        return "\n".join(lines)


class CallbackTimer:
    """The loop thread's CPU time in each event-loop callback (one step of one task).

    A callback is what blocks a loop: nothing else runs on it meanwhile. CPU time, not wall
    time, so that waiting for a core (a loaded machine) is not counted as blocking. Garbage
    collection runs inside whichever callback allocates when a threshold is crossed; its
    time is recorded apart (``longest_gc``), since it scans the whole process heap (every
    imported module), not work of the step it interrupts. Only collections on the loop thread
    count: one run by a worker thread uses that thread's CPU, not the loop's.
    """

    def __init__(self, sample_every: float = SAMPLE_EVERY) -> None:
        self.longest = 0.0  # CPU of the longest callback, collections included
        self.longest_gc = 0.0
        self.worst = LongCallback()  # the callback with the most CPU, collections excluded
        self.callbacks = 0
        self._every = sample_every
        self._gc_started = 0.0
        self._gc_spent = 0.0
        self._original = asyncio.events.Handle._run
        self._loop_thread = threading.get_ident()
        #: (callback number, when it started) while a callback runs; (0, 0.0) between them
        self._running: tuple[int, float] = (0, 0.0)
        self._samples: list[str] = []
        self._sampled_callback = 0
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    @property
    def longest_work(self) -> float:
        """CPU of the longest callback, its collections excluded."""
        return self.worst.work

    @property
    def where(self) -> str:
        """The longest callback and where its CPU went (for a failure message)."""
        return self.worst.describe()

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() != self._loop_thread:
            return
        if phase == "start":
            self._gc_started = time.thread_time()
        else:
            spent = time.thread_time() - self._gc_started
            self._gc_spent += spent
            self.longest_gc = max(self.longest_gc, spent)

    def _sample(self) -> None:
        """Side thread: the loop thread's stack, while a callback has run for a period."""
        frames = sys._current_frames
        loop_thread, every = self._loop_thread, self._every
        while not self._stop.wait(every):
            number, started = self._running
            if not number or time.perf_counter() - started < every:
                continue
            frame = frames().get(loop_thread)
            stack = _stack(frame)
            del frame
            if self._running[0] == number:  # still the same callback
                if self._sampled_callback != number:
                    self._sampled_callback, self._samples = number, []
                self._samples.append(stack)

    def __enter__(self) -> CallbackTimer:
        original = self._original
        timer = self
        rusage, thread = resource.getrusage, resource.RUSAGE_THREAD

        def run(handle: asyncio.Handle) -> None:
            # kept cheap (~4 us a callback): the figures of the worst one are made afterwards
            task = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
            frame = getattr(task.get_coro(), "cr_frame", None) if isinstance(task, Task) else None
            resumed_at = frame.f_lineno if frame is not None else 0
            timer._gc_spent = 0.0
            timer.callbacks += 1
            number = timer.callbacks
            before = rusage(thread)
            timer._running = (number, time.perf_counter())
            try:
                original(handle)
            finally:
                _, wall_start = timer._running
                timer._running = (0, 0.0)
                after = rusage(thread)
                user = after.ru_utime - before.ru_utime
                system = after.ru_stime - before.ru_stime
                spent = user + system
                work = spent - timer._gc_spent
                timer.longest = max(timer.longest, spent)
                if work > timer.worst.work:
                    worst = timer.worst = LongCallback()
                    worst.work, worst.cpu, worst.gc = work, spent, timer._gc_spent
                    worst.user, worst.system = user, system
                    worst.wall = time.perf_counter() - wall_start
                    worst.handle = f"{handle!r:.100}"
                    if frame is not None:
                        worst.started_in = f"{frame.f_code.co_name}:{resumed_at}"
                    worst.ended_in = _awaiting(task)
                    if timer._sampled_callback == number:
                        worst.samples = Counter(timer._samples)

        asyncio.events.Handle._run = run  # type: ignore[method-assign, assignment]
        gc.callbacks.append(self._on_gc)
        self._sampler = threading.Thread(target=self._sample, name="loop-sampler", daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]
        gc.callbacks.remove(self._on_gc)
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()
