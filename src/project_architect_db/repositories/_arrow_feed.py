"""A bulk insert's Arrow chunks, built on the event loop while DuckDB inserts the ones before.

Building the Arrow table of 10k records costs about a third of DuckDB's INSERT and COMMIT of
them, and it needs the GIL, whereas DuckDB's work does not. One ``INSERT`` cannot overlap it:
DuckDB pulls every batch of an Arrow scan within a few ms and does its heavy work (the index
inserts) after the last one (measured: the last batch of a 10k-row reader was pulled after
~7 ms of a ~90 ms INSERT). So ``bulk_create`` outside a transaction builds a first small
chunk, starts the unit's one hop, and the hop inserts the chunks one ``INSERT`` each: its first
act asks the loop to build the other chunks, and while DuckDB inserts chunk *k* the loop
builds chunk *k+1*. The chunks share one transaction: all or nothing, as before.

The feed keeps every chunk, so the unit's work can run again (the group committer may re-run
a unit alone after a neighbour failed): a second pass replays what was built. A build that
fails ends the feed with its error; the hop then fails and the caller gets that error.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa

__all__ = ["CHUNK", "FIRST_CHUNK", "ArrowFeed", "chunks", "sliced"]

#: Rows built before the hop starts (the part of the build nothing overlaps). A batch up to
#: this size is one chunk: on a quiet 2-core machine building 10k rows in chunks while DuckDB
#: inserts the one before was slower than one chunk (2.04-2.06x the raw insert against
#: 1.60-1.79x, docs/performance.md "bulk"), since DuckDB's scan of a Python Arrow table takes
#: the GIL the build needs; chunks bound the memory of very large batches.
FIRST_CHUNK = 50_000
#: Rows per chunk built while DuckDB inserts the previous one.
CHUNK = 50_000
#: Seconds the worker waits for a batch between checks that the loop is still there.
_WAIT = 1.0


def chunks(count: int, first: int | None = None, size: int | None = None) -> list[tuple[int, int]]:
    """``(start, stop)`` of each chunk of ``count`` rows: ``first`` rows, then ``size`` each.

    ``None``: :data:`FIRST_CHUNK` / :data:`CHUNK` as they are at the call.
    """
    first = FIRST_CHUNK if first is None else first
    size = CHUNK if size is None else size
    bounds = [(0, min(first, count))]
    start = bounds[0][1]
    while start < count:
        bounds.append((start, min(start + size, count)))
        start += size
    return bounds


class ArrowFeed:
    """The chunks of one bulk insert; the rest built by ``build_rest`` on ``loop``.

    Args:
        first: The first chunk, built before the hop.
        build_rest: Builds the other chunks in order, handing each to :meth:`add`; run once,
            on the loop, when a reader first needs it. ``None``: ``first`` is everything.
        loop: The event loop ``build_rest`` runs on.
    """

    __slots__ = (
        "_build_rest",
        "_chunks",
        "_condition",
        "_done",
        "_loop",
        "_started",
        "error",
    )

    def __init__(
        self,
        first: pa.Table,
        build_rest: Callable[[ArrowFeed], None] | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._chunks: list[pa.Table] = [first]
        self._build_rest = build_rest
        self._done = build_rest is None
        self._loop = loop
        self._started = False  # a reader asked the loop to build the rest (worker-side flag)
        self._condition = threading.Condition()
        #: What stopped the build (the insert failed because of it), else ``None``.
        self.error: BaseException | None = None

    # -- the loop's side ---------------------------------------------------------------------
    def add(self, table: pa.Table) -> None:
        """Hand the next chunk to the worker."""
        with self._condition:
            self._chunks.append(table)
            self._condition.notify_all()

    def _build(self) -> None:
        build_rest = self._build_rest
        assert build_rest is not None
        error: BaseException | None = None
        try:
            build_rest(self)
        except BaseException as raised:  # handed to the INSERT, which fails with it
            error = raised
        with self._condition:
            self.error = error
            self._done = True
            self._condition.notify_all()

    def table(self) -> pa.Table:
        """Every chunk as one table (once the feed is complete)."""
        return pa.concat_tables(self._chunks)

    # -- the worker's side -------------------------------------------------------------------
    def tables(self) -> Iterator[pa.Table]:
        """Every chunk, waiting for each; the first pass asks the loop to build the rest.

        Raises:
            RuntimeError: The build failed (its error is :attr:`error`), or the loop closed.
        """
        if not self._started:
            self._started = True
            if not self._done:
                self._loop.call_soon_threadsafe(self._build)
        index = 0
        while True:
            with self._condition:
                while index >= len(self._chunks) and not self._done:
                    if self._loop.is_closed():
                        raise RuntimeError("the event loop building this insert has closed")
                    self._condition.wait(_WAIT)
                if index < len(self._chunks):
                    table = self._chunks[index]
                elif self.error is not None:
                    raise RuntimeError("building the Arrow chunks failed") from self.error
                else:
                    return
            index += 1
            yield table


def sliced(values: Mapping[str, Sequence[Any]], start: int, stop: int) -> dict[str, Sequence[Any]]:
    """Each value list of ``values`` cut to ``[start:stop]``."""
    return {key: column[start:stop] for key, column in values.items()}
