"""Chat messages: user questions, assistant answers, code, tables, errors."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from project_architect_db.datagen import _vocabulary as vocab
from project_architect_db.datagen._text._projects import Stack, project_name, random_stack

# -- messages -----------------------------------------------------------------------------------

# (role, type) pairs the generator produces, with relative weights per role.
MESSAGE_KINDS: tuple[tuple[str, str], ...] = (
    ("user", "text"),
    ("user", "code"),
    ("user", "error"),
    ("assistant", "text"),
    ("assistant", "code"),
    ("assistant", "table"),
    ("assistant", "plot"),
    ("system", "text"),
    ("tool", "text"),
    ("tool", "table"),
    ("tool", "error"),
)
MESSAGE_KIND_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {
    "user": (("text", 0.88), ("code", 0.08), ("error", 0.04)),
    "assistant": (("text", 0.64), ("code", 0.26), ("table", 0.06), ("plot", 0.04)),
    "system": (("text", 1.0),),
    "tool": (("text", 0.6), ("table", 0.3), ("error", 0.1)),
}


@dataclass(frozen=True)
class _Ctx:
    stack: Stack
    project: str
    entity: str
    other: str
    field: str
    concern: str
    cloud: str
    number: int


def _ctx(rng: random.Random, project: str | None, stack: Stack | None) -> _Ctx:
    entity, other = rng.sample(vocab.ENTITIES, k=2)
    return _Ctx(
        stack=stack or random_stack(rng),
        project=project or project_name(rng),
        entity=entity,
        other=other,
        field=rng.choice(vocab.FIELDS),
        concern=rng.choice(vocab.CONCERNS),
        cloud=rng.choice(vocab.CLOUDS),
        number=rng.choice((5, 10, 20, 50, 100, 250, 500)),
    )


def _user_text(rng: random.Random, c: _Ctx) -> str:
    s = c.stack
    options = (
        f"We expect about {c.number}k requests per minute at peak. Can {s.database} handle "
        f"that, or should we put {s.cache or 'a cache'} in front of it?",
        f"How should we model {c.entity}s and {c.other}s? A {c.entity} can have many "
        f"{c.other}s and we mostly query them by `{c.field}`.",
        f"What is the simplest way to deploy this to {c.cloud} with zero-downtime releases?",
        f"I'm worried about {c.concern}. What would you change in the current design?",
        f"Can you write the acceptance criteria for the {c.entity} export feature?",
        f"Should the {c.entity} service own the {c.other} data, or is that a separate service?",
        f"Our {s.framework} endpoint for {c.entity}s takes 800 ms at p95. Where do I start?",
        f"Do we need {s.messaging or 'a message broker'} from day one, or can we start with a "
        "table-backed job queue?",
        f"Summarise the trade-offs between {s.database} and PostgreSQL for {c.project}.",
        "Thanks, that makes sense. Next question: how do we handle retries?",
        f"Which metrics should we alert on for the {c.entity} pipeline?",
        f"Legal says {c.entity} data must be deleted after {c.number} days. How do we enforce it?",
    )
    return rng.choice(options)


def _bullets(rng: random.Random, c: _Ctx, count: int) -> str:
    s = c.stack
    points = (
        f"index `{c.other}s.{c.field}`; it is the filter on every list view",
        f"keep `{c.entity}_id` on every {c.other} row so deletes need no join",
        f"put {s.cache or 'a cache'} in front of the read path with a short TTL",
        "make every write idempotent with a client-supplied request id",
        f"emit a `{c.entity}.updated` event after commit, never before",
        "paginate with a keyset cursor instead of OFFSET",
        "store timestamps in UTC and convert at the edge",
        f"run {s.database} migrations in CI against a production-sized snapshot",
        f"measure {c.concern} before and after the change",
        "fail closed: deny by default in the authorization layer",
        "add a dead-letter queue and alert when it is not empty",
        "keep the service stateless so it scales horizontally",
    )
    return "\n".join(f"- {p[0].upper()}{p[1:]}." for p in rng.sample(points, k=count))


def _assistant_text(rng: random.Random, c: _Ctx) -> str:
    s = c.stack
    opening = rng.choice(
        (
            "Short answer: yes, with a few caveats.",
            f"It depends mostly on {c.concern}.",
            f"For {c.project} I would keep it simple at first.",
            "Good question: this is where most designs go wrong.",
            f"Given your stack ({s.framework} on {s.database}), here is what I recommend.",
        )
    )
    recommendation = rng.choice(
        (
            f"**Recommendation:** model `{c.entity}` as the aggregate root and load "
            f"`{c.other}` rows through it.",
            f"**Recommendation:** start with a {s.style.replace('-', ' ')} and split out the "
            f"{c.entity} service only when its load profile differs.",
            f"**Recommendation:** use {s.database} for the source of truth and build read "
            "models asynchronously.",
            "**Recommendation:** add the index, then measure again before changing the schema.",
        )
    )
    closing = rng.choice(
        (
            "Want me to draft an ADR for this?",
            "I can sketch the migration next if that helps.",
            f"The main risk is {c.concern}; keep an eye on it in the load test.",
            "",
        )
    )
    body = f"{opening}\n\n{recommendation}\n\n{_bullets(rng, c, rng.randint(2, 5))}"
    return f"{body}\n\n{closing}".rstrip()


def _python_code(rng: random.Random, c: _Ctx) -> str:
    e, o = c.entity, c.other
    return rng.choice(
        (
            f'```python\n@router.get("/{e}s/{{{e}_id}}", response_model={e.title()}Read)\n'
            f"async def get_{e}({e}_id: UUID, db: Database = Depends(get_db)) -> "
            f"{e.title()}Read:\n    {e} = await db.{e}s.get({e}_id)\n"
            f"    if {e} is None:\n        raise HTTPException(status_code=404)\n"
            f"    return {e}\n```",
            f'```python\nclass {e.title()}(Base):\n    __tablename__ = "{e}s"\n\n'
            f"    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)\n"
            f"    {c.field}: Mapped[str] = mapped_column(index=True)\n"
            f"    {o}_count: Mapped[int] = mapped_column(default=0)\n```",
            f"```python\nasync def process_{e}_events(queue: Queue) -> None:\n"
            f"    async for event in queue:\n        try:\n"
            f"            await handle(event)\n        except TransientError:\n"
            f"            await queue.retry(event, backoff=2 ** event.attempt)\n"
            f"        else:\n            await queue.ack(event)\n```",
        )
    )


def _sql_code(rng: random.Random, c: _Ctx) -> str:
    e, o = c.entity, c.other
    return rng.choice(
        (
            f"```sql\nCREATE TABLE {o}s (\n    id UUID PRIMARY KEY,\n    {e}_id UUID NOT NULL,\n"
            f"    status VARCHAR NOT NULL,\n    {c.field} TIMESTAMP NOT NULL\n);\n"
            f"CREATE INDEX ix_{o}s_{e}_id ON {o}s ({e}_id);\n```",
            f"```sql\nSELECT date_trunc('week', created_at) AS week, count(*) AS {o}s\n"
            f"FROM {o}s\nWHERE {e}_id = $1\nGROUP BY week\nORDER BY week;\n```",
        )
    )


def _typescript_code(rng: random.Random, c: _Ctx) -> str:
    e = c.entity
    name = e.title()
    return (
        f"```tsx\nexport function {name}List({{ {e}s }}: {{ {e}s: {name}[] }}) {{\n"
        f"  return (\n    <ul>\n      {{{e}s.map(({e}) => (\n"
        f"        <li key={{{e}.id}}>{{{e}.name}}</li>\n      ))}}\n    </ul>\n  );\n}}\n```"
    )


def _yaml_code(rng: random.Random, c: _Ctx) -> str:
    return rng.choice(
        (
            "```yaml\nname: ci\non: [push, pull_request]\njobs:\n  test:\n"
            "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
            "      - run: make test\n```",
            f"```yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {c.entity}-api\n"
            "spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n"
            f"        - name: api\n          resources:\n            limits:\n"
            f"              memory: {rng.choice((256, 512, 1024))}Mi\n```",
        )
    )


def _code(rng: random.Random, c: _Ctx, *, role: str) -> str:
    snippet = {
        "Python": _python_code,
        "TypeScript": _typescript_code,
    }.get(c.stack.language, _sql_code)
    pick = rng.random()
    if pick < 0.2:
        snippet = _sql_code
    elif pick < 0.3:
        snippet = _yaml_code
    elif pick < 0.4 and c.stack.frontend is not None:
        snippet = _typescript_code
    code = snippet(rng, c)
    if role == "user":
        return f"Here is what I have so far:\n\n{code}\n\nIs this the right direction?"
    lead = rng.choice(
        (
            f"Here is a minimal version for `{c.entity}`:",
            "Something like this:",
            f"A sketch for {c.project}:",
            "This is the pattern I would use:",
        )
    )
    return f"{lead}\n\n{code}"


def _table(rng: random.Random, c: _Ctx) -> str:
    rows = (
        rng.sample(vocab.DATABASES, k=3) if rng.random() < 0.5 else rng.sample(vocab.MESSAGING, k=3)
    )
    lines = ["| Option | p95 latency | Monthly cost | Ops effort |", "| --- | --- | --- | --- |"]
    for name in rows:
        lines.append(
            f"| {name} | {rng.randint(2, 120)} ms | ${rng.randint(1, 40) * 50} | "
            f"{rng.choice(('low', 'medium', 'high'))} |"
        )
    return f"Comparison for {c.concern}:\n\n" + "\n".join(lines)


def _plot(rng: random.Random, c: _Ctx) -> str:
    metric = rng.choice(("p95_latency_ms", "requests_per_minute", "error_rate", "cost_usd"))
    points = ", ".join(
        f'{{"week": "2025-W{w:02d}", "{metric}": {rng.randint(10, 900)}}}'
        for w in range(rng.randint(10, 20), rng.randint(21, 30))
    )
    return (
        f'```vega-lite\n{{"mark": "line", "encoding": {{"x": {{"field": "week"}}, '
        f'"y": {{"field": "{metric}"}}}}, "data": {{"values": [{points}]}}}}\n```'
    )


def _error(rng: random.Random, c: _Ctx) -> str:
    e = c.entity
    return rng.choice(
        (
            '```\nTraceback (most recent call last):\n  File "app/services/'
            f'{e}.py", line {rng.randint(20, 400)}, in create_{e}\n'
            f"    await session.flush()\nsqlalchemy.exc.IntegrityError: duplicate key value "
            f'violates unique constraint "ix_{e}s_{c.field}"\n```',
            f'```\nERROR:  relation "{e}s" does not exist\nLINE 1: SELECT * FROM {e}s WHERE '
            f"{c.field} = $1\n```",
            f"```\nError: connect ECONNREFUSED 10.0.{rng.randint(0, 9)}.{rng.randint(2, 250)}:"
            f"{rng.choice((5432, 6379, 9092))}\n```",
            f"```\nTimeoutError: {c.stack.framework} request to /{e}s exceeded 30s\n```",
        )
    )


def _system(rng: random.Random, c: _Ctx) -> str:
    return (
        f"You are an experienced software architect helping the team behind {c.project}. "
        f"The stack is {', '.join(c.stack.tech_stack()[:5])}. Be concise, state trade-offs, "
        "and ask before assuming requirements."
    )


def _tool_text(rng: random.Random, c: _Ctx) -> str:
    return (
        f'{{"results": [{{"path": "docs/adr/000{rng.randint(1, 9)}.md", "score": '
        f'{rng.randint(50, 99) / 100}}}, {{"path": "README.md", "score": '
        f'{rng.randint(10, 49) / 100}}}], "query": "{c.entity} {c.concern}"}}'
    )


def message_content(
    rng: random.Random,
    role: str,
    type_: str,
    *,
    project: str | None = None,
    stack: Stack | None = None,
) -> str:
    """Content for a message of ``role`` and ``type_`` (markdown; code blocks for ``code``)."""
    c = _ctx(rng, project, stack)
    if role == "system":
        return _system(rng, c)
    if type_ == "code":
        return _code(rng, c, role=role)
    if type_ == "table":
        return _table(rng, c)
    if type_ == "plot":
        return _plot(rng, c)
    if type_ == "error":
        return _error(rng, c)
    if role == "user":
        return _user_text(rng, c)
    if role == "tool":
        return _tool_text(rng, c)
    return _assistant_text(rng, c)


def message_metadata(rng: random.Random, role: str) -> dict[str, Any]:
    """Metadata a chat client would record for a message of ``role``."""
    if role == "assistant":
        return {
            "model": rng.choice(vocab.ASSISTANT_MODELS),
            "latency_ms": int(rng.lognormvariate(7.2, 0.6)),
            "finish_reason": "stop" if rng.random() < 0.97 else "length",
        }
    if role == "tool":
        return {"tool": rng.choice(vocab.TOOLS), "call_id": f"call_{rng.getrandbits(40):010x}"}
    if role == "user":
        return {"client": rng.choice(("web", "web", "web", "desktop", "mobile"))}
    return {}


def conversation_summary(rng: random.Random, phase: str, title: str) -> str:
    """A one-paragraph summary of a thread."""
    outcome = rng.choice(
        (
            "Agreed on a first version and listed open questions.",
            "Decision recorded as an ADR.",
            "Two options remain; a spike is planned to compare them.",
            "Action items assigned; follow-up next week.",
            "Resolved: root cause found and fixed.",
        )
    )
    return f"{title} ({phase}). {outcome}"


def attachment_description(rng: random.Random) -> tuple[str, str, str]:
    """``(mime type, extension, base name)`` of a plausible attachment."""
    return rng.choice(vocab.ATTACHMENT_TYPES)
