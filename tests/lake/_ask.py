"""Talking to a peer process on a lake (``_search_peer.py``, ``_semantic_peer.py``)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any


async def ask(process: subprocess.Popen[bytes], *command: Any) -> dict[str, Any]:
    """Send ``command`` as one JSON line; its answer: ``{"ok": ...}`` or ``{"error": ...}``."""
    stdin, stdout = process.stdin, process.stdout
    assert stdin is not None
    assert stdout is not None
    stdin.write(json.dumps(list(command)).encode() + b"\n")
    stdin.flush()
    line = await asyncio.to_thread(stdout.readline)
    assert line, process.communicate(timeout=60)[1].decode()[-3000:]
    answer: dict[str, Any] = json.loads(line)
    return answer
