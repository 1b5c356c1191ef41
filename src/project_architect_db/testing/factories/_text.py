"""Realistic text for the factories: project profiles, chat messages, markdown documents.

Every function takes the ``random.Random`` to draw from, so output depends only on its state:
the schema factories pass their seeded instance, and the Arrow generator builds pools of
messages with its own.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from project_architect_db.schemas.common import slugify
from project_architect_db.testing.factories import _vocabulary as vocab

__all__ = [
    "MESSAGE_KINDS",
    "MESSAGE_KIND_WEIGHTS",
    "ProjectProfile",
    "Stack",
    "architecture",
    "attachment_description",
    "conversation_summary",
    "document_body",
    "document_path_and_title",
    "estimate_tokens",
    "message_content",
    "message_metadata",
    "project_description",
    "project_metadata",
    "project_name",
    "project_phase",
    "project_profile",
    "project_status",
    "project_tags",
    "random_stack",
    "revision_section",
    "weighted",
]

T = TypeVar("T")


def weighted(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    """One item of ``items`` drawn with relative ``weights``."""
    return rng.choices(items, weights=weights, k=1)[0]


# -- projects -----------------------------------------------------------------------------------


def project_name(rng: random.Random) -> str:
    """A product-like name: ``"Atlas Billing Platform"``."""
    return f"{rng.choice(vocab.CODENAMES)} {rng.choice(vocab.DOMAINS)} {rng.choice(vocab.KINDS)}"


@dataclass(frozen=True)
class Stack:
    """A coherent technology choice for one project."""

    language: str
    framework: str
    database: str
    cache: str | None
    messaging: str | None
    frontend: str | None
    cloud: str
    infra: tuple[str, ...]
    observability: tuple[str, ...]
    style: str
    deployment: str

    def tech_stack(self) -> list[str]:
        """The stack as the ``tech_stack`` list of a project (no duplicates)."""
        items = [self.framework, self.language, self.database]
        items += [x for x in (self.cache, self.messaging, self.frontend) if x is not None]
        items += [*self.infra, *self.observability]
        return list(dict.fromkeys(items))


def random_stack(rng: random.Random) -> Stack:
    """A plausible stack: one backend framework, a database, maybe a cache, a broker, a UI."""
    language, framework = weighted(rng, vocab.BACKENDS, vocab.BACKEND_WEIGHTS)
    cloud = rng.choice(("AWS", "AWS", "AWS", "Google Cloud", "Azure"))
    infra = ["Docker", cloud, *rng.sample(("Kubernetes", "Terraform", "GitHub Actions", "Helm",
                                           "Argo CD", "GitLab CI", "Pulumi", "Cloudflare"),
                                          k=rng.randint(1, 3))]  # fmt: skip
    return Stack(
        language=language,
        framework=framework,
        database=weighted(rng, vocab.DATABASES, vocab.DATABASE_WEIGHTS),
        cache=rng.choice(vocab.CACHES) if rng.random() < 0.6 else None,
        messaging=rng.choice(vocab.MESSAGING) if rng.random() < 0.45 else None,
        frontend=(
            weighted(rng, vocab.FRONTENDS, vocab.FRONTEND_WEIGHTS) if rng.random() < 0.75 else None
        ),
        cloud=cloud,
        infra=tuple(dict.fromkeys(infra)),
        observability=tuple(rng.sample(vocab.OBSERVABILITY, k=rng.randint(0, 2))),
        style=weighted(rng, vocab.ARCHITECTURE_STYLES, vocab.ARCHITECTURE_STYLE_WEIGHTS),
        deployment=rng.choice(vocab.DEPLOYMENT_TARGETS),
    )


@dataclass(frozen=True)
class ProjectProfile:
    """Everything about a project but its id, name, owner and timestamps."""

    description: str
    status: str
    phase: str
    tags: list[str]
    stack: Stack
    architecture: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


def architecture(rng: random.Random, slug: str, stack: Stack) -> dict[str, Any]:
    """The ``architecture`` JSON of a project: style, database, services, deployment."""
    if stack.style in ("monolith", "modular-monolith"):
        roles = ["app"] + (["worker"] if rng.random() < 0.5 else [])
    else:
        roles = rng.sample(vocab.SERVICE_ROLES, k=rng.randint(2, 6))
    services = [
        {
            "name": f"{slug}-{role}"[:60],
            "language": stack.language.lower(),
            "framework": stack.framework,
            "replicas": rng.choice((1, 2, 2, 3, 3, 4, 6)),
        }
        for role in roles
    ]
    architecture: dict[str, Any] = {
        "style": stack.style,
        "database": stack.database.lower().replace(" ", "-"),
        "services": services,
        "deployment": stack.deployment,
        "cloud": stack.cloud,
        "regions": rng.sample(("eu-west-1", "eu-central-1", "us-east-1", "us-west-2",
                               "ap-southeast-2"), k=rng.choice((1, 1, 1, 2))),
    }  # fmt: skip
    if stack.messaging is not None:
        architecture["messaging"] = stack.messaging
    if stack.cache is not None:
        architecture["cache"] = stack.cache
    if stack.frontend is not None:
        architecture["frontend"] = stack.frontend
    return architecture


def project_status(rng: random.Random) -> str:
    """A project status, most often ``active``."""
    return weighted(rng, vocab.PROJECT_STATUSES, vocab.PROJECT_STATUS_WEIGHTS)


def project_phase(rng: random.Random, status: str) -> str:
    """A phase plausible for ``status`` (a draft is in requirements, a completed one deployed)."""
    return weighted(rng, vocab.PHASES, vocab.PHASE_WEIGHTS_BY_STATUS.get(status, (1,) * 5))


def project_tags(rng: random.Random) -> list[str]:
    """One to five distinct tags."""
    return rng.sample(vocab.TAGS, k=rng.randint(1, 5))


def project_description(rng: random.Random, name: str, stack: Stack) -> str:
    """A two-sentence pitch naming the audience, the goal and the stack."""
    audience = rng.choice(vocab.AUDIENCES)
    goal = rng.choice(vocab.GOALS)
    return (
        f"{name} is a {stack.style.replace('-', ' ')} {stack.framework} application for "
        f"{audience}. The goal is to {goal}. Data lives in {stack.database}"
        + (f", with {stack.messaging} carrying domain events" if stack.messaging else "")
        + f"; it runs on {stack.cloud}."
    )


def project_metadata(rng: random.Random) -> dict[str, Any]:
    """Where the project came from and how big the team is."""
    metadata: dict[str, Any] = {
        "source": rng.choice(("web", "web", "web", "api", "import")),
        "team_size": rng.choice((2, 3, 4, 5, 6, 8, 12)),
    }
    if rng.random() < 0.3:
        metadata["budget_usd"] = rng.choice((25_000, 50_000, 120_000, 250_000))
    return metadata


def project_profile(rng: random.Random, name: str) -> ProjectProfile:
    """Status, phase (consistent with the status), tags, stack and architecture of a project."""
    status = project_status(rng)
    phase = project_phase(rng, status)
    stack = random_stack(rng)
    return ProjectProfile(
        description=project_description(rng, name, stack),
        status=status,
        phase=phase,
        tags=project_tags(rng),
        stack=stack,
        architecture=architecture(rng, slugify(name), stack),
        metadata=project_metadata(rng),
    )


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


# -- documents ----------------------------------------------------------------------------------


def document_path_and_title(
    rng: random.Random, doc_type: str, index: int, stack: Stack
) -> tuple[str, str]:
    """A path unique within a project for its ``index``-th document, and the document's title.

    The index is part of every path but the project's README and architecture overview, which
    take slots 0 and 1.
    """
    if doc_type == "readme":
        return ("README.md", "README") if index == 0 else (f"services/{index:03d}/README.md",
                                                           f"Service {index} README")  # fmt: skip
    if doc_type == "architecture":
        return (
            ("docs/architecture/overview.md", "Architecture overview")
            if index == 1
            else (f"docs/architecture/{index:03d}-{stack.style}.md", f"Architecture: {stack.style}")
        )
    if doc_type == "adr":
        slug_template, title_template = rng.choice(vocab.ADR_DECISIONS)
        values = {
            "database": stack.database,
            "style": stack.style,
            "messaging": stack.messaging or "Kafka",
            "deploy": stack.deployment,
            "frontend": stack.frontend or "React",
        }
        slug = slugify(slug_template.format(**values))
        number = f"{index + 1:04d}"
        return f"docs/adr/{number}-{slug}.md", f"ADR {number}: {title_template.format(**values)}"
    if doc_type == "spec":
        topic = rng.choice(vocab.SPEC_TOPICS)
        return f"docs/specs/{index:03d}-{topic}.md", f"Spec: {topic.replace('-', ' ').capitalize()}"
    topic = rng.choice(vocab.NOTE_TOPICS)
    folder = "notes" if doc_type == "note" else "misc"
    return f"{folder}/{index:03d}-{topic}.md", topic.replace("-", " ").capitalize()


def document_body(
    rng: random.Random, doc_type: str, title: str, project: str, stack: Stack
) -> list[str]:
    """The markdown sections of a document, in order; revisions are prefixes of this list."""
    c = _ctx(rng, project, stack)
    if doc_type == "adr":
        return [
            f"# {title}",
            "## Status\n\nAccepted",
            f"## Context\n\n{project} handles about {c.number}k {c.entity} events a day. The "
            f"current approach makes {c.concern} hard to reason about, and the team knows "
            f"{stack.framework} and {stack.database} well.",
            f"## Decision\n\n{_assistant_text(rng, c)}",
            f"## Consequences\n\n{_bullets(rng, c, 3)}",
            f"## Alternatives considered\n\n{_table(rng, c)}",
        ]
    if doc_type == "readme":
        return [
            f"# {project}\n\n{project} is built with {', '.join(stack.tech_stack()[:4])}.",
            "## Getting started\n\n```bash\nmake setup\nmake dev\n```",
            f"## Configuration\n\nSet `DATABASE_URL` to your {stack.database} instance and "
            "`LOG_LEVEL` to `info`.",
            f"## Architecture\n\nSee `docs/architecture/overview.md`.\n\n{_bullets(rng, c, 2)}",
            "## Testing\n\n```bash\nmake test\n```",
        ]
    if doc_type == "spec":
        return [
            f"# {title}",
            f"## Overview\n\n{_user_text(rng, c)}",
            f"## Requirements\n\n{_bullets(rng, c, 4)}",
            f"## API\n\n{_code(rng, c, role='assistant')}",
            f"## Data model\n\n{_sql_code(rng, c)}",
            f"## Open questions\n\n{_bullets(rng, c, 2)}",
        ]
    if doc_type == "architecture":
        return [
            f"# {title}",
            f"## Context\n\n{project} follows a {stack.style} style on {stack.cloud}.",
            f"## Components\n\n{_bullets(rng, c, 4)}",
            f"## Data\n\n{_assistant_text(rng, c)}",
            f"## Deployment\n\n{_yaml_code(rng, c)}",
        ]
    return [
        f"# {title}",
        _bullets(rng, c, 3),
        _assistant_text(rng, c),
        _bullets(rng, c, 2),
    ]


def estimate_tokens(rng: random.Random, content: str) -> int:
    """A token count for ``content``: about four characters per token, with some spread."""
    return max(1, round(len(content) / 4 * rng.uniform(0.85, 1.15)))


def revision_section(rng: random.Random, when: str) -> str:
    """A section a later revision of a document appends (``when`` is a date, for the heading)."""
    c = _ctx(rng, None, None)
    return f"## Update {when}\n\n{_bullets(rng, c, rng.randint(1, 3))}"
