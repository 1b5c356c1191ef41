"""Counting an event loop's ticks: is the loop free while DuckDB works on another thread?

On a busy machine (xdist workers, DuckDB's own threads) even a free loop ticks well below its
nominal rate, so tests compare against the rate an idle loop reaches on the same machine just
before, never against a fixed count.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

#: The heartbeat's period when nothing else runs.
PERIOD = 0.01


async def count_ticks(seconds: float, during: Awaitable[Any] | None = None) -> tuple[int, float]:
    """Heartbeat every 10 ms for ``seconds`` (or while ``during`` runs): (ticks, elapsed).

    An exception raised by ``during`` propagates once the heartbeat has stopped.
    """
    ticks = 0
    stop = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(PERIOD)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    started = time.perf_counter()
    try:
        if during is None:
            await asyncio.sleep(seconds)
        else:
            await during
    finally:
        elapsed = time.perf_counter() - started
        stop.set()
        await beat
    return ticks, elapsed


async def idle_period() -> float:
    """Seconds per tick of this loop when idle, on this machine as loaded as it is now."""
    ticks, elapsed = await count_ticks(0.3)
    return elapsed / max(ticks, 1)
