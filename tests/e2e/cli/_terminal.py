"""Run the CLI as a real process whose stdin is a terminal (a pseudo-terminal) to answer prompts."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def run_in_terminal(args: list[str], answer: str, timeout: float = 120.0) -> tuple[int, str]:
    """Run ``project-architect-db *args`` with a terminal as stdin; type ``answer`` at the prompt.

    Returns the exit code and everything the process printed (stdout and stderr).
    """
    primary, secondary = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "project_architect_db", *args],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    os.close(secondary)
    try:
        os.write(primary, answer.encode() + b"\n")  # buffered by the terminal until read
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
        output, _ = process.communicate(timeout=timeout)
    finally:
        os.close(primary)
    return process.returncode, output.decode(errors="replace")
