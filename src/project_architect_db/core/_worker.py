"""A dedicated thread per DuckDB connection, so no DuckDB call runs on the event loop.

One thread per connection keeps the connection's calls in order (a DuckDB connection must not
be used by two threads at once) and makes each statement a single hop: the caller hands the
thread one function that does everything the statement needs (BEGIN, execute, fetch) and is
woken once with the result.

A thread whose connection closed is kept, parked, for the next connection instead of ending
(up to :data:`MAX_PARKED` of them). Besides saving a thread start per connection, this keeps
the library from ending threads while the application runs: on CPython 3.11 a thread that ends
after greenlet gave it per-thread state (coverage's ``concurrency = greenlet`` tracer does that
on every thread) can make the main thread spin forever (docs/reliability.md, "The spin in
greenlet's clean-up").
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb

T = TypeVar("T")

_STOP = object()


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # cancelled while the thread was working
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


#: How many idle threads are kept for later connections; a thread beyond these ends.
MAX_PARKED = 64


class _WorkerThread(threading.Thread):
    """A thread that serves one :class:`ConnectionWorker` after another, parked in between.

    ``free`` is set while it serves none and holds no reference to one (so to no DuckDB
    connection either): what :func:`join_worker_threads` waits for at exit.
    """

    def __init__(self) -> None:
        super().__init__(name="padb-duckdb", daemon=True)
        self._inbox: queue.SimpleQueue[ConnectionWorker] = queue.SimpleQueue()
        self.free = threading.Event()

    def serve(self, worker: ConnectionWorker, name: str) -> None:
        """Run ``worker``'s loop on this (parked or new) thread."""
        self.free.clear()
        self.name = name
        self._inbox.put(worker)

    def run(self) -> None:
        get = self._inbox.get
        while True:
            worker = get()
            try:
                worker._loop()
            finally:
                ended = worker._ended
                # the last reference to the worker (and its connection) goes before the signal:
                # whoever waits for ``ended`` or ``free`` finds the connection released
                del worker
                ended.set()
                self.free.set()
            if not _park(self):
                return


_PARKED: list[_WorkerThread] = []
_PARKED_LOCK = threading.Lock()


def _lend_thread() -> _WorkerThread:
    """A parked thread, or a new one when none is idle."""
    with _PARKED_LOCK:
        if _PARKED:
            return _PARKED.pop()
    thread = _WorkerThread()
    thread.start()
    return thread


def _forget_parked_threads() -> None:  # pragma: no cover - runs in forked children only
    """In a forked child: the parent's parked threads do not exist here."""
    global _PARKED_LOCK
    _PARKED_LOCK = threading.Lock()  # a thread of the parent may have held it
    _PARKED.clear()


os.register_at_fork(after_in_child=_forget_parked_threads)


def _park(thread: _WorkerThread) -> bool:
    """Keep ``thread`` for the next connection; False if enough are parked (it then ends)."""
    with _PARKED_LOCK:
        if len(_PARKED) >= MAX_PARKED:
            return False
        _PARKED.append(thread)
        return True


def parked_threads() -> int:
    """How many idle worker threads wait for a connection right now."""
    with _PARKED_LOCK:
        return len(_PARKED)


class ConnectionWorker:
    """Runs callables for one connection on its own daemon thread.

    ``interrupt`` (set by the connection's owner) stops a running query; at interpreter exit
    every live worker is interrupted and joined (see :func:`_stop_all_at_exit`).

    Work handed to a stopped worker fails at once with ``duckdb.ConnectionException`` (the
    error DuckDB gives for a closed connection) instead of waiting for a thread that has gone:
    the queue takes nothing after the stop marker.
    """

    __slots__ = (
        "__weakref__",
        "_busy",
        "_ended",
        "_lock",
        "_pending",
        "_queue",
        "_stopped",
        "_thread",
        "_using",
        "interrupt",
    )

    def __init__(self, name: str = "padb-duckdb") -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._stopped = False
        self._busy = False
        self._pending = 0  # work queued or running on the thread
        # held by whoever uses the DuckDB connection: the thread, or the loop for an inline read
        self._using = threading.Lock()
        self._ended = threading.Event()
        self.interrupt: Callable[[], None] | None = None
        self._thread = _lend_thread()
        self._thread.serve(self, name)
        _LIVE.add(self)

    @property
    def alive(self) -> bool:
        """Whether the worker still runs its loop (its thread may live on, parked)."""
        return not self._ended.is_set()

    def _loop(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is _STOP:
                return
            fn, future, loop = item
            with self._using:  # waits while an inline read (core/_inline.py) uses the connection
                self._busy = True
                try:
                    value = fn()
                except BaseException as error:  # handed to the awaiting task, never lost
                    ok, value = False, error
                else:
                    ok = True
                finally:
                    self._busy = False
            with self._lock:
                self._pending -= 1
            # a closed loop raises RuntimeError: nobody waits for the result any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, future, ok, value)

    def _put(self, item: tuple[Any, Any, Any]) -> None:
        with self._lock:
            if self._stopped:
                raise duckdb.ConnectionException("Connection already closed!")
            self._pending += 1
            self._queue.put(item)

    def claim(self) -> bool:
        """Take the connection for a call on this thread, if the worker is idle; never waits.

        True means nothing is queued or running and the worker will wait for :meth:`release`
        before it runs anything queued later: the caller may use the DuckDB connection.
        """
        with self._lock:
            if self._stopped or self._pending:
                return False
            return self._using.acquire(blocking=False)

    def release(self) -> None:
        """Give the connection back to the worker after :meth:`claim`."""
        self._using.release()

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Queue ``fn`` on the worker; the returned future resolves on the running loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        try:
            self._put((fn, future, loop))
        except duckdb.ConnectionException as error:
            future.set_exception(error)
        return future

    def call_blocking(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the worker and wait for it from a thread without a running loop.

        Raises:
            RuntimeError: Called on the worker's own thread, where it would wait for itself.
            duckdb.ConnectionException: The worker was stopped (its connection closed).
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("a worker cannot wait for itself; use finish() for teardown")
        done = threading.Event()
        box: list[Any] = []

        def run() -> None:
            try:
                box.append((True, fn()))
            except BaseException as error:
                box.append((False, error))
            finally:
                done.set()

        self._put((run, _NullFuture(), _NullLoop()))
        done.wait()
        ok, value = box[0]
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    def finish(self, fn: Callable[[], None]) -> None:
        """Run the teardown ``fn`` (closing the connection) on the worker and wait for it.

        On the worker's own thread (the garbage collector finalising a connection while this
        thread runs Python code) waiting would wait for itself forever, and running ``fn`` here
        could close the connection under the call in progress: ``fn`` is queued to run after
        that call instead. On a stopped worker (the exit hook stops every worker before the
        interpreter's last collections) ``fn`` runs here once the thread has ended, since no
        other thread can touch the connection then.
        """
        if threading.current_thread() is self._thread:
            with contextlib.suppress(duckdb.ConnectionException):  # stopping: DuckDB closes it
                self._put((fn, _NullFuture(), _NullLoop()))
            return
        with self._lock:
            stopped = self._stopped
        if not stopped:
            self.call_blocking(fn)
            return
        self.join(10.0)  # what was queued before the stop runs first
        if not self.alive:
            fn()

    def stop(self) -> None:
        """Let the thread finish what is queued, then end; later work is refused."""
        with self._lock:
            if not self._stopped:
                self._stopped = True
                self._queue.put(_STOP)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the loop to end and let go of the connection (after :meth:`stop`)."""
        if self._thread is not threading.current_thread():
            self._ended.wait(timeout)


#: Every worker whose thread may still run (weak: a closed, forgotten worker just disappears).
_LIVE: weakref.WeakSet[ConnectionWorker] = weakref.WeakSet()


def _stop_all_at_exit() -> None:
    """Interrupt and join the workers still alive when the interpreter exits.

    A worker is a daemon thread. If the process exits (Ctrl-C, ``sys.exit``) while one is inside
    DuckDB, DuckDB's C++ objects are destroyed under the running query and the process aborts
    ("terminate called without an active exception"). Interrupting the query and waiting for the
    thread makes the exit clean; an unfinished transaction is rolled back by DuckDB as usual.

    Then it waits for every worker thread still serving, too: a stopped worker's thread can
    outlive its ``ConnectionWorker``. When its loop returns, the thread drops its last reference to
    the worker, and with it to the DuckDB connection, whose destructor releases the GIL; the
    worker has already left ``_LIVE`` by then. Had Python finalised meanwhile, the thread taking
    the GIL back would be ended by ``pthread_exit`` inside a C++ destructor: ``std::terminate``,
    SIGABRT (duckdb/duckdb#13904; seen in CI at the end of a successful ``demo``). Every worker
    is stopped at this point, so each of these threads is about to be free. Parked threads hold
    nothing and are left parked: daemon threads blocked on their queue, they never run again.
    """
    stop_workers(list(_LIVE))
    join_worker_threads()


def join_worker_threads(timeout: float = 10.0) -> None:
    """Wait until every worker thread of the process is free (each worker must be stopped)."""
    current = threading.current_thread()
    for thread in threading.enumerate():
        if isinstance(thread, _WorkerThread) and thread is not current:
            thread.free.wait(timeout)


def stop_workers(workers: list[ConnectionWorker], timeout: float = 10.0) -> None:
    """Interrupt the running call of each worker, end their threads and wait for them."""
    workers = [worker for worker in workers if worker.alive]
    for worker in workers:
        if worker._busy and worker.interrupt is not None:
            with contextlib.suppress(Exception):
                worker.interrupt()
        worker.stop()
    for worker in workers:
        worker.join(timeout)


atexit.register(_stop_all_at_exit)


class _NullFuture:
    def done(self) -> bool:
        return True


class _NullLoop:
    def call_soon_threadsafe(self, *args: Any) -> None:
        return None


async def to_thread(fn: Callable[..., T], /, *args: Any) -> T:
    """Run the blocking ``fn(*args)`` on a kept worker thread and await its result.

    The library's ``asyncio.to_thread``: the loop's default executor starts threads that end
    when the loop closes (after every ``padb.run`` / CLI command), which the library avoids (see
    the module docstring). Cancelling the caller does not stop ``fn``, as with ``to_thread``.
    """
    worker = ConnectionWorker("padb-io")
    try:
        return await worker.submit(functools.partial(fn, *args))
    finally:
        worker.stop()


#: Seconds between the interrupts a cancelled call sends until its thread comes back.
REINTERRUPT = 0.05


async def run_interruptible(
    worker: ConnectionWorker, fn: Callable[[], T], interrupt: Callable[[], None]
) -> T:
    """Await ``fn`` on ``worker``; if the awaiting task is cancelled, interrupt the query.

    DuckDB keeps running a query whose caller went away (seen: 14-25 s instead of 0.3 s), so a
    cancellation calls ``interrupt()`` and then waits for the thread to come back before the
    ``CancelledError`` propagates: the connection is idle and usable again when the caller
    regains control.

    The interrupt is sent again every :data:`REINTERRUPT` seconds until the thread is back:
    DuckDB drops an interrupt that lands before its query has started (the worker still in
    Python, or the call still queued), and one lost interrupt left an endless query running.
    """
    future = worker.submit(fn)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            interrupt()
            try:
                await asyncio.wait((future,), timeout=REINTERRUPT)
            except asyncio.CancelledError:
                continue
        if not future.cancelled():
            future.exception()  # mark retrieved; the interrupt error is expected here
        raise
