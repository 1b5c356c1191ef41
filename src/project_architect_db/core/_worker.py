"""A dedicated thread per DuckDB connection, so no DuckDB call runs on the event loop.

One thread per connection keeps the connection's calls in order (a DuckDB connection must not
be used by two threads at once) and makes each statement a single hop: the caller hands the
thread one function that does everything the statement needs (BEGIN, execute, fetch) and is
woken once with the result.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
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


class _WorkerThread(threading.Thread):
    """A worker's thread, found among all threads at exit (see :func:`_stop_all_at_exit`)."""


class ConnectionWorker:
    """Runs callables for one connection on its own daemon thread.

    ``interrupt`` (set by the connection's owner) stops a running query; at interpreter exit
    every live worker is interrupted and joined (see :func:`_stop_all_at_exit`).

    Work handed to a stopped worker fails at once with ``duckdb.ConnectionException`` (the
    error DuckDB gives for a closed connection) instead of waiting for a thread that has gone:
    the queue takes nothing after the stop marker.
    """

    __slots__ = ("__weakref__", "_busy", "_lock", "_queue", "_stopped", "_thread", "interrupt")

    def __init__(self, name: str = "padb-duckdb") -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._stopped = False
        self._busy = False
        self.interrupt: Callable[[], None] | None = None
        self._thread = _WorkerThread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        _LIVE.add(self)

    @property
    def alive(self) -> bool:
        """Whether the worker thread is still running."""
        return self._thread.is_alive()

    def _loop(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is _STOP:
                return
            fn, future, loop = item
            self._busy = True
            try:
                value = fn()
            except BaseException as error:  # handed to the awaiting task, never lost
                ok, value = False, error
            else:
                ok = True
            finally:
                self._busy = False
            # a closed loop raises RuntimeError: nobody waits for the result any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, future, ok, value)

    def _put(self, item: tuple[Any, Any, Any]) -> None:
        with self._lock:
            if self._stopped:
                raise duckdb.ConnectionException("Connection already closed!")
            self._queue.put(item)

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
        """Wait for the thread to end (after :meth:`stop`)."""
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)


#: Every worker whose thread may still run (weak: a closed, forgotten worker just disappears).
_LIVE: weakref.WeakSet[ConnectionWorker] = weakref.WeakSet()


def _stop_all_at_exit() -> None:
    """Interrupt and join the workers still alive when the interpreter exits.

    A worker is a daemon thread. If the process exits (Ctrl-C, ``sys.exit``) while one is inside
    DuckDB, DuckDB's C++ objects are destroyed under the running query and the process aborts
    ("terminate called without an active exception"). Interrupting the query and waiting for the
    thread makes the exit clean; an unfinished transaction is rolled back by DuckDB as usual.

    Then it waits for every worker thread still running, too: a stopped worker's thread can
    outlive its ``ConnectionWorker``. When its loop returns, the thread drops its last reference to
    the worker, and with it to the DuckDB connection, whose destructor releases the GIL; the
    worker has already left ``_LIVE`` by then. Had Python finalised meanwhile, the thread taking
    the GIL back would be ended by ``pthread_exit`` inside a C++ destructor: ``std::terminate``,
    SIGABRT (duckdb/duckdb#13904; seen in CI at the end of a successful ``demo``). Every worker
    is stopped at this point, so each of these threads is about to end.
    """
    stop_workers(list(_LIVE))
    join_worker_threads()


def join_worker_threads(timeout: float = 10.0) -> None:
    """Wait for every worker thread of the process to end (each must have been stopped)."""
    current = threading.current_thread()
    for thread in threading.enumerate():
        if isinstance(thread, _WorkerThread) and thread is not current:
            thread.join(timeout)


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


async def run_interruptible(
    worker: ConnectionWorker, fn: Callable[[], T], interrupt: Callable[[], None]
) -> T:
    """Await ``fn`` on ``worker``; if the awaiting task is cancelled, interrupt the query.

    DuckDB keeps running a query whose caller went away (seen: 14-25 s instead of 0.3 s), so a
    cancellation calls ``interrupt()`` and then waits for the thread to come back before the
    ``CancelledError`` propagates: the connection is idle and usable again when the caller
    regains control.
    """
    future = worker.submit(fn)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        interrupt()
        while not future.done():
            try:
                await asyncio.shield(future)
            except asyncio.CancelledError:
                continue
            except BaseException:
                break
        if not future.cancelled():
            future.exception()  # mark retrieved; the interrupt error is expected here
        raise
