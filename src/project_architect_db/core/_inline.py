"""Short reads on the event-loop thread, under a watchdog that moves them to the worker.

A point read outside any transaction costs DuckDB a fraction of a millisecond, and handing it
to the connection's worker thread costs about as much again: the worker must wake up, and the
loop must wake up once more for the result (docs/performance.md, "Reads at the floor"). When
the worker is idle, a read marked :class:`ShortRead` therefore runs right on the loop thread,
while a watchdog thread stands by: past :data:`INLINE_BUDGET` it calls DuckDB's
``interrupt()`` (DuckDB releases the GIL while it executes, so the watchdog runs) and the read
is run again on the worker, where it may take as long as it needs. The loop is never held for
longer than the budget (plus the watchdog's tick and DuckDB's reaction to the interrupt).

Only auto-committed reads may run this way: an interrupt inside a transaction aborts the whole
transaction (DuckDB: "Current transaction is aborted"), whereas an interrupted lone ``SELECT``
leaves nothing behind and can simply run again.

Fairness: a task awaiting inline reads one after another would never give the loop back (an
``await`` that does not suspend does not yield). Once inline reads have held the loop for a
budget's worth of time without the loop running anything else, the next one yields first
(``asyncio.sleep(0)``).

Hot rows: the watchdog does not bound a point read. DuckDB keeps every version of an updated
row while a transaction older than the update is open, and a read of any row of the same
vector (2,048 rows) walks them all, in one chunk: it checks the interrupt only when that walk
is over (measured: 3,000 versions, 11-18 ms of CPU per read, interrupted only at its end). So a
read shape carries an :class:`InlineCost`: once its runs over the budget held the loop for more
than :data:`FAR_OVER` budgets within :data:`STRIKE_WINDOW` (one hot walk does), the shape goes
to the worker (timed there) for a cool-down that grows while the row stays hot. A lone run a
little over the budget is tolerated: the first lookups after other work ran take 2-7 ms with
cold CPU caches, and sending the shape away for each of them cost more hops than the loop time
it saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import duckdb

__all__ = [
    "COOLDOWN",
    "INLINE_BUDGET",
    "FAR_OVER",
    "MAX_COOLDOWN",
    "STRIKE_WINDOW",
    "WATCHDOG",
    "InlineCost",
    "ShortRead",
    "Watch",
    "Watchdog",
    "is_plain_select",
    "must_yield",
    "yield_if_held",
]

T = TypeVar("T")

#: How long a read may hold the event loop before it is interrupted and moved to the worker.
INLINE_BUDGET = 0.002
#: How often the watchdog repeats the interrupt of a read past its deadline.
_TICK = 0.0005
#: How long a read shape stays off the loop after a run over the budget (``InlineCost``) ...
COOLDOWN = 0.05
#: ... doubled at each further one in the same spell, up to this ...
MAX_COOLDOWN = 5.0
#: ... and a spell is over after this many cool-downs without one.
_QUIET = 4
#: Runs on the loop over the budget send their shape to the worker once together they took
#: more than this many budgets (one hot row's walk does: 11-18 ms at 3,000 versions) ...
FAR_OVER = 4.0
#: ... counting the runs of a spell in which each came this soon after the one before (seconds).
STRIKE_WINDOW = 0.05


class InlineCost:
    """Whether one read shape may run on the loop thread, from the time its runs took.

    A shape's cost is not fixed: the same point read that takes DuckDB 0.3 ms takes it tens
    of milliseconds once the row's vector holds thousands of versions (module docstring), and
    neither the watchdog nor the statement can tell beforehand. Its runs can: a run over the
    budget on the loop sends the shape to the worker for a cool-down, doubled at each further
    run over it on the loop while the spell lasts (up to :data:`MAX_COOLDOWN`), and back to
    :data:`COOLDOWN` after a quiet spell; the first run on the worker within the budget after
    the cool-down brings it back (slow runs on the worker only keep it there). Versions pile
    up while a row stays hot, and a shape sent back at the first short run came back into the
    next long walk (seen in the soak): spells of hot rows last, so the loop tries a hot shape a
    few times per spell (about log2 of its length in cool-downs), not at every lull.

    Slow runs on the loop count by the loop time they took: the shape leaves once the runs
    over the budget, each within :data:`STRIKE_WINDOW` of the one before, took more than
    :data:`FAR_OVER` budgets together (a hot row's walk does it alone). A lone run a little
    over the budget is what the first lookups cost after other work evicted the CPU caches
    (2-7 ms), or a preemption on a busy machine: it holds the loop once, and the cool-down of
    hops it used to start cost more than that (session point select 1.2-1.5x raw, measured).
    """

    __slots__ = ("cooldown", "debt", "inline", "struck", "until")

    def __init__(self) -> None:
        #: whether the next run may be tried on the loop thread
        self.inline = True
        #: the current cool-down (seconds), and until when it runs (``time.perf_counter``)
        self.cooldown = 0.0
        self.until = 0.0
        #: the loop time (seconds) of the current spell of runs over the budget on the loop,
        #: and when its last run ended
        self.debt = 0.0
        self.struck = -math.inf

    def settle(self, spent: float | None, budget: float) -> None:
        """Note that a run of this shape took ``spent`` seconds (``None``: it did not run)."""
        if spent is None:
            return
        if spent <= budget:
            if not self.inline and time.perf_counter() >= self.until:
                self.inline = True
            return
        if not self.inline:
            # A slow run on the worker held no loop: the shape stays there until a short run
            # after the cool-down, but the cool-down is not lengthened. On a 2-core machine
            # ~3 % of index lookups on the worker take 2-6 ms of its CPU (DuckDB's caller
            # spins while its own threads run a task); lengthening on those kept a cool shape
            # off the loop for good (get 1.19x -> 1.28x raw, measured).
            return
        now = time.perf_counter()
        debt = spent if now - self.struck > STRIKE_WINDOW else self.debt + spent
        self.struck = now
        if debt <= FAR_OVER * budget:  # a lone slow run: cold caches, a preemption
            self.debt = debt
            return
        self.debt = 0.0
        quiet = now - self.until > _QUIET * self.cooldown  # the last spell is over
        self.cooldown = COOLDOWN if quiet else min(2 * self.cooldown, MAX_COOLDOWN)
        self.until = now + self.cooldown
        self.inline = False


class ShortRead(Generic[T]):
    """``fn(duckdb_connection)`` that only reads and may run twice (once interrupted).

    Marks work for :meth:`~project_architect_db.core._adapter.AsyncAdaptedConnection.run_short`:
    a single auto-committed statement expected to end well within :data:`INLINE_BUDGET`.
    With a ``cost`` (its shape's :class:`InlineCost`), each run records in ``spent`` how long
    it took: wall time while the shape runs inline (an upper bound of the thread's CPU time, at
    a tenth of the price of reading the thread's CPU clock, and this is every ``get``'s path),
    the thread's CPU time while it is off the loop (a loaded machine that preempts the worker
    does not keep the shape there).
    """

    __slots__ = ("cost", "fn", "spent")

    def __init__(
        self, fn: Callable[[duckdb.DuckDBPyConnection], T], cost: InlineCost | None = None
    ) -> None:
        self.fn = fn
        self.cost = cost
        #: seconds the last run took (``None``: no cost to learn, or not run yet)
        self.spent: float | None = None

    def __call__(self, duck: duckdb.DuckDBPyConnection) -> T:
        cost = self.cost
        if cost is None:
            return self.fn(duck)
        clock = time.perf_counter if cost.inline else time.thread_time
        started = clock()
        try:
            return self.fn(duck)
        finally:
            self.spent = clock() - started


class Watch:
    """One armed read: its deadline, how to interrupt it, and whether that happened."""

    __slots__ = ("deadline", "fired", "interrupt")

    def __init__(self, interrupt: Callable[[], None], deadline: float) -> None:
        self.interrupt = interrupt
        self.deadline = deadline
        self.fired = False


class Watchdog:
    """A daemon thread that interrupts armed reads past their deadline.

    The thread sleeps until the earliest deadline armed, not at a fixed tick: a read that
    ends in time costs it no wake-up of its own (reads back to back share one wake-up per
    budget), and with nothing armed it parks until the next :meth:`arm`. A thread ticking
    every 0.5 ms while reads ran woke four times per read and took the GIL each time, which
    slowed the reads it watched (docs/performance.md, "get"). Past a read's deadline it
    interrupts it at every tick (``tick`` seconds) until it is disarmed: an interrupt that
    lands before DuckDB has started the query is dropped. Arming and disarming take one
    uncontended lock; the interrupt is sent under the same lock, so it can never land after
    :meth:`disarm` returned (on the next statement).
    """

    def __init__(self, tick: float = _TICK) -> None:
        self._tick = tick
        self._lock = threading.Lock()
        self._watches: set[Watch] = set()
        #: when the thread wakes next; ``None`` while it is parked (nothing armed)
        self._due: float | None = None
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def arm(self, interrupt: Callable[[], None], budget: float) -> Watch:
        """Interrupt with ``interrupt()`` unless :meth:`disarm` comes within ``budget`` seconds."""
        watch = Watch(interrupt, time.monotonic() + budget)
        with self._lock:
            self._watches.add(watch)
            due = self._due
            if due is None or watch.deadline < due:  # parked, or due too late for this one
                self._due = watch.deadline
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name="padb-watchdog", daemon=True
                    )
                    self._thread.start()
                self._wake.set()
        return watch

    def disarm(self, watch: Watch) -> bool:
        """Stop watching; whether the interrupt was sent."""
        with self._lock:
            self._watches.discard(watch)
            return watch.fired

    @property
    def ticking(self) -> bool:
        """Whether the thread is due to wake (reads armed, or disarmed since its last look)."""
        return self._due is not None

    def _run(self) -> None:
        lock, wake, watches, tick = self._lock, self._wake, self._watches, self._tick
        timeout: float | None = None
        while True:
            wake.wait(timeout)
            with lock:
                wake.clear()
                now = time.monotonic()
                for watch in watches:
                    if watch.deadline <= now:
                        watch.fired = True
                        with contextlib.suppress(Exception):  # a connection closed meanwhile
                            watch.interrupt()
                due = min((watch.deadline for watch in watches), default=None)
                if due is not None and due <= now:  # fired: again in a tick unless disarmed
                    due = now + tick
                self._due = due
            timeout = None if due is None else max(due - now, 0.0)

    def _forget_thread(self) -> None:
        """In a forked child: the parent's thread does not exist here."""
        self._lock = threading.Lock()
        self._watches.clear()
        self._due = None
        self._wake = threading.Event()
        self._thread = None


#: The process's watchdog (its thread starts with the first inline read).
WATCHDOG = Watchdog()
os.register_at_fork(after_in_child=WATCHDOG._forget_thread)


class _Held:
    """Per event loop: since when inline reads hold it without a loop iteration in between."""

    __slots__ = ("scheduled", "since")

    def __init__(self) -> None:
        self.scheduled = False
        self.since = 0.0

    def release(self) -> None:  # a loop callback: the loop ran an iteration
        self.scheduled = False


_HELD: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Held] = weakref.WeakKeyDictionary()


def must_yield(budget: float) -> bool:
    """Whether inline reads held the running loop for ``budget`` seconds in a row.

    When False, the loop is now watched: a callback notes its next iteration.
    """
    loop = asyncio.get_running_loop()
    held = _HELD.get(loop)
    if held is None:
        held = _HELD[loop] = _Held()
    if held.scheduled:
        return time.perf_counter() - held.since >= budget
    held.scheduled = True
    held.since = time.perf_counter()
    loop.call_soon(held.release)
    return False


async def yield_if_held(budget: float) -> None:
    """Give the loop one iteration if inline reads held it for ``budget`` seconds in a row."""
    if must_yield(budget):
        await asyncio.sleep(0)  # runs ``release`` (scheduled before) and every ready callback
        must_yield(budget)


#: Statements that may run inline: a plain ``SELECT`` that calls no sequence function (running
#: it again after an interrupt would skip a sequence value).
_SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_SIDE_EFFECTS = re.compile(r"\b(?:nextval|setval)\s*\(", re.IGNORECASE)
_READ_ONLY_CACHE: dict[str, bool] = {}


def is_plain_select(statement: str) -> bool:
    """Whether ``statement`` only reads and may run twice (cached per SQL string)."""
    known = _READ_ONLY_CACHE.get(statement)
    if known is None:
        known = bool(_SELECT.match(statement)) and not _SIDE_EFFECTS.search(statement)
        if len(_READ_ONLY_CACHE) > 4096:
            _READ_ONLY_CACHE.clear()
        _READ_ONLY_CACHE[statement] = known
    return known


class _Claimable(Protocol):
    def claim(self) -> bool: ...

    def release(self) -> None: ...


def run_inline(
    worker: _Claimable, duck: duckdb.DuckDBPyConnection, read: ShortRead[Any], budget: float
) -> tuple[bool, Any]:
    """Run ``read(duck)`` on this thread if ``worker`` is idle, interrupted past ``budget``.

    ``(True, result)``, or ``(False, None)`` when the read must go to the worker: busy (the
    read queues behind its work) or the read ran past ``budget`` (the watchdog interrupted it).
    """
    if not worker.claim():
        return False, None
    try:
        watch = WATCHDOG.arm(duck.interrupt, budget)
        try:
            value = read(duck)
        except duckdb.InterruptException:
            if WATCHDOG.disarm(watch):  # past the budget: the worker takes it from here
                return False, None
            raise  # pragma: no cover - an interrupt from elsewhere (interpreter exit)
        except BaseException:
            WATCHDOG.disarm(watch)
            raise
        WATCHDOG.disarm(watch)  # fired after the read ended: the result stands
        return True, value
    finally:
        worker.release()
