"""Every ``python`` code block in README.md and docs/ runs, as its own script, and succeeds.

A block runs in a fresh interpreter in an empty folder. A block whose first line is
``# test_<name>.py`` is a test module for users and runs under pytest (with the package's
plugin, as a user's project would). A block that must not run (evidence scripts that need
another environment, fragments) carries ``<!-- not executed: <reason> -->`` on the line above
its fence; the reason is required.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_SKIP = re.compile(r"<!-- not executed: (?P<reason>[^>]{10,}) -->\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    code: str
    skip_reason: str | None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            skip = _SKIP.search(before)
            found.append(
                Block(
                    page,
                    text.count("\n", 0, match.start()) + 1,
                    match.group(1),
                    skip.group("reason") if skip else None,
                )
            )
    return found


BLOCKS = blocks()
RUNNABLE = [block for block in BLOCKS if block.skip_reason is None]


def test_the_docs_have_runnable_examples() -> None:
    pages = {block.page.name for block in RUNNABLE}
    assert {"README.md", "getting-started.md"} <= pages
    assert len(RUNNABLE) >= 7  # README 1, getting-started 6 (the pages may add more)


@pytest.mark.subprocess
@pytest.mark.parametrize("block", RUNNABLE, ids=[block.id for block in RUNNABLE])
def test_code_block_runs(block: Block, tmp_path: Path) -> None:
    first = block.code.lstrip().split("\n", 1)[0]
    test_module = re.fullmatch(r"# (test_\w+\.py)\b.*", first)
    if test_module:
        script = tmp_path / test_module.group(1)
        command = [
            sys.executable, "-m", "pytest", str(script), "-q", "-p", "no:cacheprovider",
            "-o", "asyncio_mode=strict", "-o", "asyncio_default_fixture_loop_scope=function",
            "-W", "error",
        ]  # fmt: skip
    else:
        script = tmp_path / "block.py"
        command = [sys.executable, "-W", "error", str(script)]
    script.write_text(block.code, encoding="utf-8")
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{block.id} failed:\n{done.stdout}\n{done.stderr}"
    if test_module:
        assert " passed" in done.stdout


def test_a_block_cannot_be_skipped_without_a_reason(tmp_path: Path) -> None:
    page = "<!-- not executed: -->\n```python\nraise SystemExit(1)\n```\n"
    match = _FENCE.search(page)
    assert match is not None
    before = page[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
    assert _SKIP.search(before) is None
