"""Hostile input at every public entry point that takes user data.

Hypothesis feeds SQL-injection strings, huge strings, deeply nested JSON, lone surrogates and
invalid UTF-8, NUL bytes, extreme integers and floats (2**63, nan, inf) and extreme dates to:
the schemas (through ``create`` / ``update`` / ``add_message`` / ``record_build``, which take
plain dicts), ``list`` / ``count`` filters, sorts and cursors, ``db.search``, the analytics
builder's field, output and JSON-path names, and the CLI's options. Only a correct result or a
``ProjectArchitectDBError`` subclass may come out; stored records read back equal to what the
call returned. When a module's examples are done, the database is checked: a sentinel project
and everything under it are unchanged, every table has exactly the rows the successful calls
added, and nothing is orphaned.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from project_architect_db import Database
from project_architect_db.cli import app
from project_architect_db.cli._common import ExitCode
from project_architect_db.models import Build, Conversation, Document, Message, Project, Repository
from project_architect_db.models.graph import REFERENCES
from project_architect_db.queries.analytics import bucket, count
from project_architect_db.queries.analytics import json as json_field
from project_architect_db.queries.sorting import _signature, parse_order
from tests.reliability._figures import FigureBook
from tests.reliability._hostile import (
    CI_EXAMPLES,
    EXTREME_DATES,
    EXTREME_FLOATS,
    EXTREME_INTS,
    INJECTIONS,
    SLOW_EXAMPLES,
    World,
    hostile_json,
    hostile_scalar,
    hostile_text,
    hostile_value,
    hypothesis_settings,
    maybe,
)

# A failing example holding a 300 kB string would otherwise be reported as this warning
# (pytest turns warnings into errors) instead of as the failure itself.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
)

TABLES = [
    "projects",
    "conversations",
    "messages",
    "attachments",
    "documents",
    "document_versions",
    "repositories",
    "builds",
    "deployments",
]


# -- the world: one database per module and worker, checked when the examples are done ----------


async def _seed(world: World) -> None:
    db = world.db
    async with db.transaction() as tx:
        sentinel = await tx.projects.create(
            {"name": "Sentinel", "tags": ["keep"], "architecture": {"db": "duckdb"}}
        )
        conv = await tx.conversations.create({"project_id": sentinel.id, "title": "keep"})
        for n in range(3):
            await tx.conversations.add_message(conv.id, {"role": "user", "content": f"keep {n}"})
        doc = await tx.documents.create(
            {"project_id": sentinel.id, "path": "keep.md", "content": "websocket auth v1"}
        )
        await tx.documents.update(doc.id, {"content": "websocket auth v2"})
        repo = await tx.code_repositories.create(
            {"project_id": sentinel.id, "url": "https://github.com/acme/sentinel"}
        )
        await tx.code_repositories.record_build(
            repo.id, {"commit_sha": "abcdef1", "branch": "main"}
        )
        victim = await tx.projects.create({"name": "Victim"})
        victim_conv = await tx.conversations.create({"project_id": victim.id, "title": "victim"})
        victim_doc = await tx.documents.create(
            {"project_id": victim.id, "path": "victim.md", "content": "cache latency"}
        )
        victim_repo = await tx.code_repositories.create(
            {"project_id": victim.id, "url": "https://github.com/acme/victim"}
        )
    world.ids.update(
        sentinel=sentinel.id,
        project=victim.id,
        conversation=victim_conv.id,
        document=victim_doc.id,
        repository=victim_repo.id,
    )
    world.ids["sentinel_state"] = await _sentinel_state(world)


async def _sentinel_state(world: World) -> Any:
    db, sentinel = world.db, world.ids["sentinel"]
    project = await db.projects.get(sentinel)
    convs = (await db.conversations.list(project_id=sentinel)).items
    messages = [(await db.conversations.messages(c.id)).items for c in convs]
    docs = (await db.documents.list(project_id=sentinel)).items
    history = [await db.documents.history(d.id) for d in docs]
    repos = (await db.code_repositories.list(project_id=sentinel)).items
    builds = [await db.code_repositories.builds(r.id) for r in repos]
    return project, convs, messages, docs, history, repos, builds


async def _counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            table: int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
            for table in TABLES
        }


async def _orphans(db: Database) -> dict[str, int]:
    found = {}
    async with db.session() as session:
        for ref in REFERENCES:
            child, parent = ref.child.__tablename__, ref.parent.__tablename__
            result = await session.execute(
                text(
                    f"SELECT count(*) FROM {child} c WHERE c.{ref.column} IS NOT NULL AND NOT "
                    f"EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{ref.column})"
                )
            )
            found[str(ref)] = int(result.scalar_one())
    return found


def _check(world: World) -> None:
    """The database after the examples so far: counts, sentinel, orphans, the CLI's file."""
    after = world.run(_counts(world.db))
    before = world.ids["counts"]
    expected = {table: before[table] + world.created[table] for table in TABLES}
    assert after == expected, f"rows: {after} != {expected} (created {dict(world.created)})"
    assert world.run(_sentinel_state(world)) == world.ids["sentinel_state"], "sentinel changed"
    orphans = world.run(_orphans(world.db))
    assert not any(orphans.values()), orphans
    cli_db = world.ids["folder"] / "cli.duckdb"
    if cli_db.exists():  # the CLI's own database still works after the hostile commands
        result = cli_runner.invoke(app, ["migrate", "current", "--database", str(cli_db)])
        assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, extension_directory: Path, figures: FigureBook
) -> Iterator[World]:
    runner = asyncio.Runner()
    folder = tmp_path_factory.mktemp("hostile")
    db = Database.open(folder / "hostile.duckdb", extension_directory=extension_directory)
    runner.run(db.connect())
    world = World(runner, db)
    world.ids["folder"] = folder
    try:
        runner.run(_seed(world))
        world.ids["counts"] = runner.run(_counts(db))
        yield world
    finally:
        try:
            runner.run(db.close())
        finally:
            runner.close()
            examples = {k: v for k, v in world.cases.items() if k.startswith("examples ")}
            figures.add("hostile input", **examples, unhandled=len(world.unhandled))
            calls = {k: v for k, v in world.cases.items() if k not in examples}
            figures.add("hostile input calls", **calls)


def _both(body: Callable[..., None], **strategies: Any) -> tuple[Any, Any]:
    """The property as a default test and, with 10x the examples, a ``slow`` one.

    Each runs its Hypothesis examples, then checks the database (:func:`_check`).
    """

    def make(examples: int) -> Callable[[World], None]:
        def test(world: World) -> None:
            def example(**drawn: Any) -> None:
                body(world, **drawn)

            hypothesis_settings(examples)(given(**strategies)(example))()
            _check(world)

        return test

    return make(CI_EXAMPLES), pytest.mark.slow(make(SLOW_EXAMPLES))


def _with_extras(fields: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Sometimes unknown keys too (schemas are closed: they must be refused, not ignored)."""
    extras = st.dictionaries(st.sampled_from(INJECTIONS) | st.text(max_size=10), hostile_value)
    return st.one_of(fields, st.builds(lambda a, b: {**b, **a}, fields, extras))


def _field(sane: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return maybe(hostile_value, sane)


aware_datetimes = st.datetimes(min_value=datetime(1, 1, 2), timezones=st.just(UTC))
dates = st.one_of(st.sampled_from(EXTREME_DATES), aware_datetimes)
ids = st.one_of(st.uuids(), hostile_scalar)


# -- schemas through the repositories ------------------------------------------------------------

project_data = _with_extras(
    st.fixed_dictionaries(
        {"name": _field(st.text(min_size=1, max_size=30))},
        optional={
            "slug": _field(st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,5}){0,2}", fullmatch=True)),
            "description": _field(st.text(max_size=100)),
            "status": _field(st.sampled_from(["draft", "active", "archived"])),
            "phase": _field(st.sampled_from(["design", "deployment"])),
            "owner_id": _field(st.text(min_size=1, max_size=20)),
            "tags": st.one_of(st.lists(hostile_value, max_size=5), hostile_value),
            "tech_stack": st.lists(hostile_text, max_size=5),
            "architecture": hostile_json,
            "metadata": hostile_json,
        },
    )
)
project_changes = _with_extras(
    st.fixed_dictionaries(
        {},
        optional={
            "name": _field(st.text(min_size=1, max_size=30)),
            "slug": hostile_value,
            "description": hostile_value,
            "status": _field(st.sampled_from(["paused", "completed"])),
            "tags": st.lists(hostile_text, max_size=3),
            "architecture": hostile_json,
            "metadata": hostile_json,
            "expected_version": hostile_scalar,
        },
    )
)
versions = st.one_of(st.none(), st.sampled_from(EXTREME_INTS), st.integers(), hostile_scalar)


def _projects(world: World, data: dict[str, Any], changes: dict[str, Any], expected: Any) -> None:
    world.cases["examples projects"] += 1
    db = world.db
    created = world.attempt("projects.create", lambda: db.projects.create(data))
    target = world.ids["project"]
    if created is not None:
        world.created["projects"] += 1
        assert world.run(db.projects.get(created.id)) == created
        target = created.id
    before = world.run(db.projects.get(target))
    updated = world.attempt(
        "projects.update", lambda: db.projects.update(target, changes, expected_version=expected)
    )
    after = world.run(db.projects.get(target))
    if updated is None:
        assert after == before  # a refused update changed nothing
    else:
        assert after == updated
        assert updated.version in (before.version, before.version + 1)


test_project_schemas, test_project_schemas_slow = _both(
    _projects, data=project_data, changes=project_changes, expected=versions
)

attachment = st.fixed_dictionaries(
    {
        "url": _field(st.just("https://files.example.com/a.png")),
        "file_type": _field(st.just("image/png")),
    },
    optional={"size_bytes": _field(st.integers(min_value=0)), "metadata": hostile_json},
)
conversation_data = _with_extras(
    st.fixed_dictionaries(
        {"project_id": st.one_of(st.just("victim"), ids)},
        optional={
            "title": _field(st.text(min_size=1, max_size=30)),
            "phase": _field(st.just("design")),
            "status": _field(st.just("archived")),
            "summary": hostile_value,
            "metadata": hostile_json,
        },
    )
)
message_data = _with_extras(
    st.fixed_dictionaries(
        {
            "role": _field(st.sampled_from(["user", "assistant", "system", "tool"])),
            "content": _field(st.text(max_size=50)),
        },
        optional={
            "type": _field(st.sampled_from(["text", "code"])),
            "token_count": _field(st.integers(min_value=0)),
            "metadata": hostile_json,
            "attachments": st.one_of(st.lists(attachment, max_size=3), hostile_value),
            "created_at": dates,
        },
    )
)


def _conversations(
    world: World, conv: dict[str, Any], message: dict[str, Any], target: Any
) -> None:
    world.cases["examples conversations"] += 1
    db = world.db
    if conv["project_id"] == "victim":
        conv = {**conv, "project_id": world.ids["project"]}
    created = world.attempt("conversations.create", lambda: db.conversations.create(conv))
    conv_id = world.ids["conversation"]
    if created is not None:
        world.created["conversations"] += 1
        assert world.run(db.conversations.get(created.id)) == created
        conv_id = created.id
    if target != "conversation":
        conv_id = target
    before = (
        world.run(db.conversations.get_or_none(conv_id)) if isinstance(conv_id, uuid.UUID) else None
    )
    added = world.attempt(
        "conversations.add_message", lambda: db.conversations.add_message(conv_id, message)
    )
    if added is not None:
        world.created["messages"] += 1
        world.created["attachments"] += len(message.get("attachments") or [])
        assert before is not None
        after = world.run(db.conversations.get(conv_id))
        # gap-free: the message took the next sequence and the count followed
        assert added.sequence == before.message_count + 1 == after.message_count
        assert world.run(db.conversations.get_message(added.id)) == added


test_conversation_and_message_schemas, test_conversation_and_message_schemas_slow = _both(
    _conversations,
    conv=conversation_data,
    message=message_data,
    target=st.one_of(st.just("conversation"), ids),
)

document_data = _with_extras(
    st.fixed_dictionaries(
        {
            "project_id": st.one_of(st.just("victim"), ids),
            "path": _field(st.from_regex(r"[a-z]{1,8}(/[a-z]{1,8}){0,2}\.md", fullmatch=True)),
        },
        optional={
            "title": _field(st.text(min_size=1, max_size=30)),
            "doc_type": _field(st.sampled_from(["spec", "adr"])),
            "content": _field(st.text(max_size=200)),
            "metadata": hostile_json,
        },
    )
)
document_changes = _with_extras(
    st.fixed_dictionaries(
        {},
        optional={
            "content": _field(st.text(max_size=200)),
            "path": hostile_value,
            "title": hostile_value,
            "doc_type": hostile_value,
            "metadata": hostile_json,
            "expected_version": hostile_scalar,
        },
    )
)


def _documents(world: World, data: dict[str, Any], changes: dict[str, Any], expected: Any) -> None:
    world.cases["examples documents"] += 1
    db = world.db
    if data["project_id"] == "victim":
        data = {**data, "project_id": world.ids["project"]}
    created = world.attempt("documents.create", lambda: db.documents.create(data))
    target = world.ids["document"]
    if created is not None:
        world.created["documents"] += 1
        assert world.run(db.documents.get(created.id)) == created
        target = created.id
    before = world.run(db.documents.get(target))
    updated = world.attempt(
        "documents.update", lambda: db.documents.update(target, changes, expected_version=expected)
    )
    after = world.run(db.documents.get(target))
    if updated is None:
        assert after == before
    else:
        assert after == updated
        assert updated.version in (before.version, before.version + 1)
        world.created["document_versions"] += updated.version - before.version
        assert len(world.run(db.documents.history(target))) == updated.version - 1


test_document_schemas, test_document_schemas_slow = _both(
    _documents, data=document_data, changes=document_changes, expected=versions
)

repository_data = _with_extras(
    st.fixed_dictionaries(
        {
            "project_id": st.one_of(st.just("victim"), ids),
            "url": _field(
                st.from_regex(r"https://(github|gitlab)\.com/[a-z]{1,8}/[a-z]{1,8}", fullmatch=True)
            ),
        },
        optional={
            "provider": _field(st.just("github")),
            "owner": hostile_value,
            "name": hostile_value,
            "default_branch": hostile_value,
            "language": hostile_value,
            "visibility": _field(st.just("public")),
            "stars": _field(st.integers(min_value=0, max_value=10**6)),
            "forks": st.sampled_from(EXTREME_INTS),
            "open_issues": hostile_scalar,
            "last_commit_at": dates,
            "metadata": hostile_json,
        },
    )
)
build_data = _with_extras(
    st.fixed_dictionaries(
        {
            "commit_sha": _field(st.from_regex(r"[0-9a-f]{7,40}", fullmatch=True)),
            "branch": _field(st.text(min_size=1, max_size=20)),
        },
        optional={
            "status": _field(st.sampled_from(["success", "failure"])),
            "started_at": dates,
            "finished_at": dates,
            "duration_seconds": st.one_of(st.sampled_from(EXTREME_FLOATS), hostile_scalar),
            "trigger": hostile_value,
            "repository_id": ids,
        },
    )
)


def _repositories(world: World, data: dict[str, Any], build: dict[str, Any]) -> None:
    world.cases["examples repositories"] += 1
    db = world.db
    if data["project_id"] == "victim":
        data = {**data, "project_id": world.ids["project"]}
    created = world.attempt("code_repositories.create", lambda: db.code_repositories.create(data))
    target = world.ids["repository"]
    if created is not None:
        world.created["repositories"] += 1
        assert world.run(db.code_repositories.get(created.id)) == created
        target = created.id
    recorded = world.attempt(
        "code_repositories.record_build", lambda: db.code_repositories.record_build(target, build)
    )
    if recorded is not None:
        world.created["builds"] += 1
        stored = world.run(db.code_repositories.builds(target, id=recorded.id))
        assert stored.items == [recorded]
        duration = recorded.duration_seconds
        assert duration is None or (math.isfinite(duration) and duration >= 0)


test_repository_and_build_schemas, test_repository_and_build_schemas_slow = _both(
    _repositories, data=repository_data, build=build_data
)


# -- listing: filters, sorts, pages, cursors -----------------------------------------------------

FIELDS = {
    "projects": ["name", "slug", "status", "version", "tags", "architecture", "created_at", "id"],
    "conversations": ["title", "status", "message_count", "project_id", "created_at"],
    "documents": ["path", "doc_type", "size_bytes", "version", "metadata", "updated_at"],
    "code_repositories": ["url", "stars", "language", "last_commit_at", "visibility"],
}
OPERATORS = [
    "",
    "__in",
    "__gte",
    "__lt",
    "__ne",
    "__has",
    "__contains",
    "__isnull",
    "__between",
    "__startswith",
    "__x",
    "__a__b",
]


def _tampered_cursor(values: list[Any]) -> str:
    """A cursor for ``projects`` ordered by ``-created_at``, with the values replaced."""
    keys = parse_order(Project, "-created_at")
    payload = json.dumps({"s": _signature(Project, keys), "v": values})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


cursor_values = st.lists(
    st.one_of(
        hostile_json,
        st.builds(lambda v: {"t": v}, hostile_text),
        st.builds(lambda v: {"u": v}, hostile_text),
        st.builds(lambda v: {"t": v}, st.sampled_from(["9999-12-31T23:59:59", "0001-01-01"])),
    ),
    min_size=0,
    max_size=3,
)


@st.composite
def list_calls(draw: st.DrawFn) -> dict[str, Any]:
    repo = draw(st.sampled_from(sorted(FIELDS)))
    key = st.one_of(
        st.builds(lambda f, o: f + o, st.sampled_from(FIELDS[repo]), st.sampled_from(OPERATORS)),
        hostile_text,
    )
    reserved = {"filters", "order_by", "limit", "offset", "cursor", "with_total"}
    conditions = draw(
        st.dictionaries(key.filter(lambda k: k not in reserved), hostile_value, max_size=3)
    )
    order = st.one_of(
        st.builds(
            lambda s, f: s + f, st.sampled_from(["", "-", "+", "--"]), st.sampled_from(FIELDS[repo])
        ),
        hostile_text,
    )
    if repo == "projects" and draw(st.booleans()):  # a real cursor's shape, hostile values
        return {
            "repo": repo,
            "conditions": conditions,
            "order_by": "-created_at",
            "limit": draw(st.integers(0, 50)),
            "offset": 0,
            "cursor": _tampered_cursor(draw(cursor_values)),
            "with_total": False,
        }
    return {
        "repo": repo,
        "conditions": conditions,
        "order_by": draw(st.one_of(st.none(), order, st.lists(order, max_size=6))),
        "limit": draw(
            st.one_of(st.integers(-5, 1200), st.sampled_from(EXTREME_INTS), hostile_scalar)
        ),
        "offset": draw(st.one_of(st.just(0), st.integers(-5, 50), hostile_scalar)),
        "cursor": draw(st.one_of(st.none(), hostile_text)),
        "with_total": draw(st.one_of(st.booleans(), hostile_scalar)),
    }


def _listing(world: World, call: dict[str, Any]) -> None:
    world.cases["examples listing"] += 1
    repo = getattr(world.db, call["repo"])
    conditions = call["conditions"]
    order_by = call["order_by"]
    page = world.attempt(
        f"{call['repo']}.list",
        lambda: repo.list(
            order_by=order_by,
            limit=call["limit"],
            offset=call["offset"],
            cursor=call["cursor"],
            with_total=call["with_total"],
            **conditions,
        ),
    )
    if page is not None:
        assert len(page.items) <= call["limit"]
        assert all(isinstance(item, repo.read_schema) for item in page.items)
        if call["with_total"] is True:
            assert page.total is not None and page.total >= len(page.items)
    counted = world.attempt(f"{call['repo']}.count", lambda: repo.count(**conditions))
    if counted is not None:
        assert counted >= 0
        if page is not None and call["cursor"] is None and call["offset"] == 0:
            assert len(page.items) == min(call["limit"], counted)


test_list_filters_sorts_and_cursors, test_list_filters_sorts_and_cursors_slow = _both(
    _listing, call=list_calls()
)


# -- full-text search ----------------------------------------------------------------------------

search_words = st.lists(
    st.sampled_from(["websocket", "auth", "cache", "latency", "keep", "running", "the"]),
    min_size=1,
    max_size=4,
).map(" ".join)
queries = st.one_of(
    search_words,
    hostile_text,
    st.text(min_size=990, max_size=1010),
    st.builds(lambda a, b: a + " " + b, search_words, st.sampled_from(INJECTIONS)),
)


def _search(world: World, kind: str, query: Any, scope: Any, label: Any, limit: Any) -> None:
    world.cases["examples search"] += 1
    search = world.db.search
    if scope == "victim":
        scope = world.ids["project"]

    async def call() -> list[Any]:
        if kind == "documents":
            return list(
                await search.documents(query, project_id=scope, doc_type=label, limit=limit)
            )
        return list(await search.messages(query, project_id=scope, role=label, limit=limit))

    hits = world.attempt(f"search.{kind}", call)
    if hits is not None:
        assert len(hits) <= limit
        assert all(math.isfinite(hit.score) and hit.score > 0 for hit in hits)
        assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


test_search_queries, test_search_queries_slow = _both(
    _search,
    kind=st.sampled_from(["documents", "messages"]),
    query=st.one_of(queries, hostile_scalar),
    scope=st.one_of(st.none(), st.just("victim"), ids),
    label=st.one_of(st.none(), st.sampled_from(["spec", "user", "other"]), hostile_value),
    limit=st.one_of(st.integers(1, 30), st.sampled_from(EXTREME_INTS), hostile_scalar),
)


# -- the analytics builder -----------------------------------------------------------------------

MODELS = {
    "Project": (Project, ["name", "status", "phase", "created_at", "architecture", "tags"]),
    "Conversation": (Conversation, ["phase", "status", "message_count", "created_at"]),
    "Message": (Message, ["role", "type", "token_count", "created_at"]),
    "Document": (Document, ["doc_type", "size_bytes", "updated_at", "metadata"]),
    "Repository": (Repository, ["language", "stars", "visibility", "last_commit_at"]),
    "Build": (Build, ["status", "duration_seconds", "started_at", "branch"]),
}


@st.composite
def analytics_calls(draw: st.DrawFn) -> tuple[str, list[tuple[str, Any]]]:
    name = draw(st.sampled_from(sorted(MODELS)))
    fields = MODELS[name][1]
    field = st.sampled_from(fields)
    anyname = st.one_of(field, hostile_text)
    alias = st.one_of(hostile_text, st.text(min_size=1, max_size=10))
    step = st.one_of(
        st.tuples(
            st.just("where"),
            st.dictionaries(st.one_of(field, hostile_text), hostile_value, max_size=2),
        ),
        st.tuples(st.just("group_by"), anyname),
        st.tuples(st.just("group_by_as"), st.tuples(alias, field)),
        st.tuples(st.just("count_as"), alias),
        st.tuples(st.just("select"), anyname),
        st.tuples(st.just("order_by"), st.one_of(anyname, alias)),
        st.tuples(
            st.just("having"),
            st.dictionaries(st.one_of(st.just("count"), hostile_text), hostile_value, max_size=2),
        ),
        st.tuples(st.just("limit"), st.one_of(st.integers(0, 100), hostile_scalar)),
        st.tuples(st.just("join"), hostile_text),
        st.tuples(
            st.just("json"), st.tuples(field, st.lists(hostile_text, min_size=1, max_size=3))
        ),
        st.tuples(
            st.just("bucket"),
            st.tuples(field, st.one_of(st.sampled_from(["day", "week"]), hostile_text)),
        ),
    )
    return name, draw(st.lists(step, min_size=1, max_size=5))


def _apply(query: Any, step: tuple[str, Any]) -> Any:
    op, arg = step
    if op == "where":
        return query.where(**arg)
    if op == "group_by":
        return query.group_by(arg)
    if op == "group_by_as":
        return query.group_by(**{arg[0]: arg[1]})
    if op == "count_as":
        return query.aggregate(**{arg: count()})
    if op == "select":
        return query.select(arg)
    if op == "order_by":
        return query.order_by(arg)
    if op == "having":
        return query.having(**arg)
    if op == "limit":
        return query.limit(arg)
    if op == "join":
        return query.join(arg)
    if op == "json":
        return query.group_by(json_field(arg[0], *arg[1])).aggregate(count())
    if op == "bucket":
        return query.group_by(bucket(arg[0], arg[1])).aggregate(count())
    raise AssertionError(op)


def _analytics(world: World, call: tuple[str, list[tuple[str, Any]]]) -> None:
    world.cases["examples analytics"] += 1
    model = MODELS[call[0]][0]

    async def run() -> list[dict[str, Any]]:
        query = world.db.analytics.query(model)
        for step in call[1]:
            query = _apply(query, step)
        rows: list[dict[str, Any]] = await query.rows()
        return rows

    rows = world.attempt("analytics.rows", run)
    if rows:
        names = set(rows[0])
        assert all(set(row) == names for row in rows)
        for op, arg in call[1]:
            if op in ("group_by_as", "count_as"):
                assert (arg[0] if op == "group_by_as" else arg) in names


test_analytics_names, test_analytics_names_slow = _both(_analytics, call=analytics_calls())


# -- the CLI ---------------------------------------------------------------------------------------

cli_runner = CliRunner()
SPECIAL_PATHS = [
    "/dev/null",
    "/",
    "/proc/self/status",
    "/etc/passwd",
    "",
    " ",
    ":memory:",
    ":memory:x",
    "no/such/folder/x.duckdb",
    "~",
    "~nobody/x.duckdb",
    "a\x00b.duckdb",
    "\ud800.duckdb",
    "x" * 5000,
]


@st.composite
def cli_calls(draw: st.DrawFn) -> list[str]:
    folder = "{folder}"
    name = draw(st.one_of(hostile_text, st.sampled_from(["a.duckdb", "b.db"])))
    confined = f"{folder}/{name}" if "/" not in name and ".." not in name else f"{folder}/x"
    path = draw(st.one_of(st.sampled_from(SPECIAL_PATHS), st.just(confined)))
    number = st.one_of(
        st.sampled_from([str(v) for v in EXTREME_INTS]), hostile_text.map(lambda v: v[:50])
    )
    command = draw(
        st.sampled_from(
            [
                ["db-analyze", "--database", path],
                ["db-analyze", "--json", "--database", path],
                ["db-vacuum", "--database", path],
                ["migrate", "current", "--database", path],
                ["migrate", "history", "--json", "--database", path],
                ["migrate", "check", "--database", path],
                ["init", "--database", confined],
                ["seed", "--database", "{cli_db}", "--preset", draw(hostile_text), "--seed", "1"],
                ["seed", "--database", "{cli_db}", "--preset", "nope", "--seed", draw(number)],
                ["migrate", "upgrade", draw(hostile_text), "--database", "{cli_db}"],
                ["migrate", *draw(st.lists(hostile_text, max_size=3))],
                draw(st.lists(hostile_text, min_size=1, max_size=3)),
            ]
        )
    )
    return list(command)


def _cli(world: World, args: list[str]) -> None:
    world.cases["examples cli"] += 1
    folder: Path = world.ids["folder"]
    cli_db = folder / "cli.duckdb"
    if not cli_db.exists():
        assert cli_runner.invoke(app, ["init", "--database", str(cli_db)]).exit_code == 0
    args = [
        a.replace("{folder}", str(folder / "cli")).replace("{cli_db}", str(cli_db)) for a in args
    ]
    (folder / "cli").mkdir(exist_ok=True)
    world.cases["cli.invoke"] += 1
    result = cli_runner.invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        world.unhandled.append(f"cli {args[:3]}: {type(result.exception).__name__}")
        raise result.exception
    assert result.exit_code in {int(code) for code in ExitCode}, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    world.outcomes[f"cli: exit {result.exit_code}"] += 1


test_cli_options, test_cli_options_slow = _both(_cli, args=cli_calls())
