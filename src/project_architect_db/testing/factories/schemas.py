"""factory-boy factories of the Pydantic ``*Create`` schemas, with realistic, seeded content.

Each factory builds a validated schema object (``ProjectCreateFactory.build()`` ->
:class:`~project_architect_db.schemas.ProjectCreate`); ``build_batch(n)`` builds ``n``. Output
depends only on :func:`~project_architect_db.testing.factories.seeding.seed_factories`' seed
and reference instant: no wall clock, no ``uuid4``. Overrides work as in any factory-boy
factory, and dependent fields follow them (``BuildCreateFactory.build(status="running")``
has no ``finished_at``; ``ProjectCreateFactory.build(name="Atlas")`` has slug ``atlas``).

Parent ids (``project_id``, ``repository_id`` ...) default to fresh seeded ids; pass the real
parent's id to link records: ``ConversationCreateFactory.build(project_id=project.id)``.
:func:`build_thread` builds a whole conversation's messages in order.
"""

# factory-boy's nested ``Meta`` / ``Params`` classes are configuration, not API to document.
# ruff: noqa: D106

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar, cast

import factory as _factory_boy
from pydantic import BaseModel

from project_architect_db.schemas import (
    AttachmentCreate,
    BuildCreate,
    ConversationCreate,
    DeploymentCreate,
    DocumentCreate,
    DocumentUpdate,
    DocumentVersionRead,
    MessageCreate,
    ProjectCreate,
    RepositoryCreate,
    content_digest,
    slugify,
)
from project_architect_db.testing.factories import _text as text
from project_architect_db.testing.factories import _vocabulary as vocab
from project_architect_db.testing.factories.seeding import STATE, register_sequenced

__all__ = [
    "AttachmentCreateFactory",
    "BuildCreateFactory",
    "ConversationCreateFactory",
    "DeploymentCreateFactory",
    "DocumentCreateFactory",
    "DocumentUpdateFactory",
    "DocumentVersionReadFactory",
    "MessageCreateFactory",
    "ProjectCreateFactory",
    "RepositoryCreateFactory",
    "SchemaFactory",
    "build_thread",
]

# factory-boy ships py.typed but leaves its API unannotated; use it through Any and give the
# factories typed build methods instead.
fb: Any = _factory_boy

SchemaT = TypeVar("SchemaT", bound=BaseModel)


class SchemaFactory(fb.Factory, Generic[SchemaT]):  # type: ignore[misc]  # untyped base
    """Base of the schema factories: factory-boy's ``Factory`` with typed build methods.

    Pydantic schemas are plain values, so ``create`` is ``build`` (nothing is saved; save the
    result through a repository: ``await db.projects.create(ProjectCreateFactory.build())``).
    """

    class Meta:
        abstract = True

    @classmethod
    def build(cls, **kwargs: Any) -> SchemaT:
        """Build one validated schema object; keyword arguments override fields."""
        return cast(SchemaT, super().build(**kwargs))

    @classmethod
    def build_batch(cls, size: int, **kwargs: Any) -> list[SchemaT]:
        """Build ``size`` objects with the same overrides."""
        return cast("list[SchemaT]", super().build_batch(size, **kwargs))

    @classmethod
    def create(cls, **kwargs: Any) -> SchemaT:
        """Same as :meth:`build`: a schema object is not persisted by a factory."""
        return cast(SchemaT, super().create(**kwargs))

    @classmethod
    def create_batch(cls, size: int, **kwargs: Any) -> list[SchemaT]:
        """Same as :meth:`build_batch`."""
        return cast("list[SchemaT]", super().create_batch(size, **kwargs))


def _pick(items: tuple[str, ...], weights: tuple[float, ...]) -> str:
    return text.weighted(STATE.random, items, weights)


def _lognormal_seconds(median: float, sigma: float, cap: float) -> float:
    return min(cap, STATE.random.lognormvariate(math.log(median), sigma))


# -- projects -----------------------------------------------------------------------------------


def _unique_project_name() -> str:
    return STATE.unique("project", text.project_name(STATE.random))


@register_sequenced
class ProjectCreateFactory(SchemaFactory[ProjectCreate]):
    """A :class:`~project_architect_db.schemas.ProjectCreate` like "Atlas Billing Platform".

    Names (and so slugs) are unique until the next ``seed_factories``; the phase fits the
    status; ``tech_stack`` and ``architecture`` describe one coherent stack (the ``stack``
    parameter, a ``Stack``, which can be passed in).
    """

    class Meta:
        model = ProjectCreate

    class Params:
        stack = fb.LazyFunction(lambda: text.random_stack(STATE.random))

    name = fb.LazyFunction(_unique_project_name)
    slug = fb.LazyAttribute(lambda o: slugify(o.name) or None)
    description = fb.LazyAttribute(
        lambda o: text.project_description(STATE.random, o.name, o.stack)
    )
    status = fb.LazyFunction(lambda: text.project_status(STATE.random))
    phase = fb.LazyAttribute(lambda o: text.project_phase(STATE.random, str(o.status)))
    owner_id = fb.LazyFunction(lambda: f"usr_{STATE.random.getrandbits(64):016x}")
    tags = fb.LazyFunction(lambda: text.project_tags(STATE.random))
    tech_stack = fb.LazyAttribute(lambda o: o.stack.tech_stack())
    architecture = fb.LazyAttribute(
        lambda o: text.architecture(STATE.random, o.slug or "project", o.stack)
    )
    metadata = fb.LazyFunction(lambda: text.project_metadata(STATE.random))


# -- conversations, messages, attachments -------------------------------------------------------

_CONVERSATION_PHASE_WEIGHTS = (30.0, 25.0, 20.0, 15.0, 10.0)


@register_sequenced
class ConversationCreateFactory(SchemaFactory[ConversationCreate]):
    """A chat thread in a phase, titled after what the phase discusses."""

    class Meta:
        model = ConversationCreate

    project_id = fb.LazyFunction(STATE.new_id)
    phase = fb.LazyFunction(lambda: _pick(vocab.PHASES, _CONVERSATION_PHASE_WEIGHTS))
    title = fb.LazyAttribute(lambda o: STATE.random.choice(vocab.CONVERSATION_TITLES[str(o.phase)]))
    status = fb.LazyFunction(lambda: _pick(("active", "archived", "deleted"), (75, 20, 5)))
    summary = fb.LazyAttribute(
        lambda o: (
            text.conversation_summary(STATE.random, str(o.phase), o.title or "Thread")
            if STATE.random.random() < 0.6
            else None
        )
    )
    metadata = fb.LazyFunction(
        lambda: {
            "channel": STATE.random.choice(("web", "web", "web", "slack", "api")),
            "assistant_model": STATE.random.choice(vocab.ASSISTANT_MODELS),
        }
    )


def _attachment_size(file_type: str) -> int:
    median = {"application/pdf": 400_000.0, "image/png": 250_000.0, "image/jpeg": 900_000.0}
    return int(_lognormal_seconds(median.get(file_type, 20_000.0), 1.0, 50_000_000.0))


def _attachment_metadata(kind: tuple[str, str, str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"original_name": f"{kind[2]}.{kind[1]}"}
    if kind[0].startswith("image/"):
        metadata["width"], metadata["height"] = STATE.random.choice(
            ((1920, 1080), (1280, 800), (2560, 1440), (800, 600))
        )
    return metadata


@register_sequenced
class AttachmentCreateFactory(SchemaFactory[AttachmentCreate]):
    """A file attached to a message: a diagram, a screenshot, a PDF, an export ..."""

    class Meta:
        model = AttachmentCreate

    class Params:
        kind = fb.LazyFunction(lambda: text.attachment_description(STATE.random))

    url = fb.LazyAttributeSequence(
        lambda o, n: (
            f"https://files.example.com/uploads/{STATE.now:%Y/%m}/"
            f"{STATE.random.getrandbits(48):012x}/{o.kind[2]}-{n + 1}.{o.kind[1]}"
        )
    )
    file_type = fb.LazyAttribute(lambda o: o.kind[0])
    size_bytes = fb.LazyAttribute(lambda o: _attachment_size(o.kind[0]))
    metadata = fb.LazyAttribute(lambda o: _attachment_metadata(o.kind))


def _alternating_role(n: int) -> str:
    if n % 2:
        return "assistant"
    return "tool" if n and STATE.random.random() < 0.05 else "user"


def _message_type(role: str) -> str:
    kinds = text.MESSAGE_KIND_WEIGHTS[role]
    return text.weighted(STATE.random, [k for k, _ in kinds], [w for _, w in kinds])


@register_sequenced
class MessageCreateFactory(SchemaFactory[MessageCreate]):
    """A chat message; successive messages alternate user / assistant (now and then a tool).

    ``created_at`` grows with the factory's sequence from the ``started_at`` parameter (30 s
    apart, never past the reference instant), so a batch is in order. Content fits role and
    type (markdown, fenced code for ``code``, a table for ``table`` ...) and ``token_count``
    follows the content's length.
    Parameters: ``started_at``, ``attachment_count`` (attachments to build with it),
    ``project_name`` and ``stack`` (what the content talks about).
    """

    class Meta:
        model = MessageCreate

    class Params:
        started_at = fb.LazyFunction(lambda: STATE.now - timedelta(days=14))
        attachment_count = 0
        project_name = None
        stack = None

    role = fb.Sequence(_alternating_role)
    type = fb.LazyAttribute(lambda o: _message_type(str(o.role)))
    content = fb.LazyAttribute(
        lambda o: text.message_content(
            STATE.random, str(o.role), str(o.type), project=o.project_name, stack=o.stack
        )
    )
    token_count = fb.LazyAttribute(lambda o: text.estimate_tokens(STATE.random, o.content))
    metadata = fb.LazyAttribute(lambda o: text.message_metadata(STATE.random, str(o.role)))
    attachments = fb.LazyAttribute(
        lambda o: AttachmentCreateFactory.build_batch(o.attachment_count)
    )
    created_at = fb.LazyAttributeSequence(
        lambda o, n: min(STATE.now, o.started_at + timedelta(seconds=30 * (n + 1)))
    )


def _pause_before(role: str) -> timedelta:
    if role == "user":  # someone reading the last answer and typing the next question
        seconds = _lognormal_seconds(90.0, 1.0, 4 * 3600.0)
    elif role == "system":
        seconds = 0.05
    else:  # the assistant or a tool answering
        seconds = _lognormal_seconds(8.0, 0.6, 300.0)
    return timedelta(microseconds=max(1000, round(seconds * 1_000_000)))


def build_thread(
    count: int,
    *,
    started_at: datetime | None = None,
    system_prompt: bool | None = None,
    project_name: str | None = None,
    stack: text.Stack | None = None,
    attachment_rate: float = 0.03,
) -> list[MessageCreate]:
    """The ``count`` messages of one conversation, in order, as ``MessageCreate`` objects.

    An optional system prompt comes first, then user and assistant take turns (a tool answers
    now and then in the user's place); ``created_at`` strictly increases from ``started_at``
    (a conversation's creation time) with human-like pauses before user turns.

    Args:
        count: How many messages (>= 0).
        started_at: When the conversation was created (aware); a seeded instant before the
            reference "now" if omitted. Every message is later than it.
        system_prompt: Whether to open with a system message; decided at random if ``None``.
        project_name: The project the messages talk about.
        stack: The technology stack the messages talk about.
        attachment_rate: Chance that a user message carries an attachment.

    Raises:
        ValueError: If ``count`` is negative or ``started_at`` is naive.

    Examples:
        >>> messages = build_thread(4, system_prompt=False)
        >>> [m.role.value for m in messages][:2]
        ['user', 'assistant']
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if started_at is None:
        started_at = STATE.before_now(timedelta(days=3), timedelta(days=90))
    elif started_at.tzinfo is None or started_at.utcoffset() is None:
        raise ValueError("started_at must be timezone-aware")
    with_system = STATE.random.random() < 0.25 if system_prompt is None else system_prompt
    at = started_at
    messages: list[MessageCreate] = []
    for index in range(count):
        turn = index - int(with_system)
        if turn < 0:
            role = "system"
        elif turn % 2:
            role = "assistant"
        else:
            role = "tool" if turn and STATE.random.random() < 0.05 else "user"
        at += _pause_before(role)
        attachments = int(role == "user" and STATE.random.random() < attachment_rate)
        messages.append(
            MessageCreateFactory.build(
                role=role,
                created_at=at,
                attachment_count=attachments,
                project_name=project_name,
                stack=stack,
            )
        )
    return messages


# -- documents ----------------------------------------------------------------------------------

DOC_TYPES = ("spec", "adr", "architecture", "readme", "note", "other")
DOC_TYPE_WEIGHTS = (25.0, 25.0, 10.0, 10.0, 20.0, 10.0)


@register_sequenced
class DocumentCreateFactory(SchemaFactory[DocumentCreate]):
    """A markdown document: a spec, an ADR (Context / Decision / Consequences), a README ...

    Paths are unique within a batch (they carry the factory's sequence number); parameters
    ``project_name`` and ``stack`` set what the document is about.
    """

    class Meta:
        model = DocumentCreate

    class Params:
        project_name = fb.LazyFunction(lambda: text.project_name(STATE.random))
        stack = fb.LazyFunction(lambda: text.random_stack(STATE.random))
        index = fb.Sequence(lambda n: n)
        location = fb.LazyAttribute(
            lambda o: text.document_path_and_title(STATE.random, str(o.doc_type), o.index, o.stack)
        )
        sections = fb.LazyAttribute(
            lambda o: text.document_body(
                STATE.random, str(o.doc_type), o.title, o.project_name, o.stack
            )
        )

    project_id = fb.LazyFunction(STATE.new_id)
    doc_type = fb.LazyFunction(lambda: _pick(DOC_TYPES, DOC_TYPE_WEIGHTS))
    path = fb.LazyAttribute(lambda o: o.location[0])
    title = fb.LazyAttribute(lambda o: o.location[1])
    content = fb.LazyAttribute(lambda o: "\n\n".join(o.sections) + "\n")
    metadata = fb.LazyFunction(
        lambda: {
            "author": STATE.faker.name(),
            "status": _pick(("draft", "in-review", "approved"), (30, 20, 50)),
        }
    )


@register_sequenced
class DocumentUpdateFactory(SchemaFactory[DocumentUpdate]):
    """A new revision of a document's content (the repository then keeps the old version).

    Pass the current content as ``base_content``: the revision appends an "Update" section
    dated ``revised_at`` (default: a seeded day before the reference instant).
    """

    class Meta:
        model = DocumentUpdate

    class Params:
        base_content = ""
        revised_at = fb.LazyFunction(
            lambda: STATE.before_now(timedelta(hours=1), timedelta(days=30))
        )

    content = fb.LazyAttribute(
        lambda o: (
            (o.base_content.rstrip("\n") + "\n\n" if o.base_content else "")
            + text.revision_section(STATE.random, f"{o.revised_at:%Y-%m-%d}")
            + "\n"
        )
    )


@register_sequenced
class DocumentVersionReadFactory(SchemaFactory[DocumentVersionRead]):
    """A :class:`~project_architect_db.schemas.DocumentVersionRead`: a row of a document's history.

    There is no ``DocumentVersionCreate``: the repository writes versions when content changes.
    ``version`` counts up with the sequence (``created_at`` 8 hours apart from ``started_at``,
    never past the reference instant); the content is the ``document`` parameter's with a
    dated update appended.
    """

    class Meta:
        model = DocumentVersionRead

    class Params:
        document = fb.LazyFunction(lambda: DocumentCreateFactory.build())
        started_at = fb.LazyFunction(lambda: STATE.now - timedelta(days=120))

    document_id = fb.LazyFunction(STATE.new_id)
    project_id = fb.LazyAttribute(lambda o: o.document.project_id)
    version = fb.Sequence(lambda n: n + 1)
    title = fb.LazyAttribute(lambda o: o.document.title)
    content = fb.LazyAttribute(
        lambda o: (
            o.document.content
            + "\n"
            + text.revision_section(STATE.random, f"{o.created_at:%Y-%m-%d}")
            + "\n"
        )
    )
    content_hash = fb.LazyAttribute(lambda o: content_digest(o.content)[0])
    size_bytes = fb.LazyAttribute(lambda o: content_digest(o.content)[1])
    created_at = fb.LazyAttribute(
        lambda o: min(STATE.now, o.started_at + timedelta(hours=8 * o.version))
    )
    id = fb.LazyAttribute(lambda o: STATE.id_at(o.created_at))


# -- code repositories, builds, deployments -----------------------------------------------------


def _organisation() -> str:
    if STATE.random.random() < 0.5:
        return slugify(STATE.faker.company())
    codename = STATE.random.choice(vocab.CODENAMES).lower()
    return f"{codename}-{STATE.random.choice(vocab.ORG_SUFFIXES)}"


def _stars(visibility: str) -> int:
    # Long tail: most repositories have a handful, a few have thousands.
    if visibility != "public":
        return int(STATE.random.paretovariate(3.0)) - 1
    return min(250_000, int(8 * (STATE.random.paretovariate(1.1) - 1)))


def _provider() -> tuple[str, str]:
    index = text.weighted(STATE.random, range(len(vocab.PROVIDERS)), vocab.PROVIDER_WEIGHTS)
    return vocab.PROVIDERS[index], vocab.PROVIDER_HOSTS[index]


@register_sequenced
class RepositoryCreateFactory(SchemaFactory[RepositoryCreate]):
    """A GitHub/GitLab/Bitbucket repository whose provider, owner, name and url agree.

    URLs are unique until the next ``seed_factories``; stars have a long-tail distribution
    (most repositories few, some thousands), forks and open issues follow them.
    """

    class Meta:
        model = RepositoryCreate

    class Params:
        host = fb.LazyFunction(_provider)
        organisation = fb.LazyFunction(_organisation)
        repository_name = fb.LazyAttribute(
            lambda o: STATE.unique(
                f"repository:{o.host[1]}/{o.organisation}",
                f"{STATE.random.choice(vocab.CODENAMES).lower()}-"
                f"{STATE.random.choice(vocab.REPOSITORY_SUFFIXES)}",
                separator="-",
            )
        )

    project_id = fb.LazyFunction(STATE.new_id)
    url = fb.LazyAttribute(lambda o: f"{o.host[1]}/{o.organisation}/{o.repository_name}")
    provider = fb.LazyAttribute(lambda o: o.host[0])
    owner = fb.LazyAttribute(lambda o: o.organisation)
    name = fb.LazyAttribute(lambda o: o.repository_name)
    default_branch = fb.LazyFunction(lambda: _pick(("main", "master", "develop"), (85, 10, 5)))
    language = fb.LazyFunction(lambda: STATE.random.choice(vocab.LANGUAGES))
    visibility = fb.LazyFunction(lambda: _pick(("private", "internal", "public"), (60, 15, 25)))
    stars = fb.LazyAttribute(lambda o: _stars(str(o.visibility)))
    forks = fb.LazyAttribute(lambda o: int(o.stars * STATE.random.uniform(0.02, 0.25)))
    open_issues = fb.LazyAttribute(
        lambda o: int(STATE.random.paretovariate(2.0)) - 1 + int(math.sqrt(o.stars) / 2)
    )
    last_commit_at = fb.LazyFunction(
        lambda: STATE.before_now(timedelta(minutes=5), timedelta(days=45))
    )
    metadata = fb.LazyFunction(
        lambda: {
            "topics": STATE.random.sample(vocab.TAGS, k=STATE.random.randint(0, 4)),
            "archived": STATE.random.random() < 0.05,
            "has_ci": STATE.random.random() < 0.9,
        }
    )


def _commit_sha() -> str:
    return f"{STATE.random.getrandbits(160):040x}"


def _branch() -> str:
    return "main" if STATE.random.random() < 0.6 else STATE.random.choice(vocab.FEATURE_BRANCHES)


_BUILD_MEDIAN_SECONDS = {"success": 300.0, "failure": 140.0, "cancelled": 60.0}


def _build_started(status: str) -> datetime | None:
    if status == "queued":
        return None
    if status == "running":
        return STATE.before_now(timedelta(seconds=10), timedelta(minutes=20))
    return STATE.before_now(timedelta(hours=2), timedelta(days=60))


def _build_finished(status: str, started_at: datetime | None) -> datetime | None:
    if started_at is None or status not in _BUILD_MEDIAN_SECONDS:
        return None
    seconds = _lognormal_seconds(_BUILD_MEDIAN_SECONDS[status], 0.6, 7000.0)
    return started_at + timedelta(microseconds=round(seconds * 1_000_000))


@register_sequenced
class BuildCreateFactory(SchemaFactory[BuildCreate]):
    """A CI run: mostly successes, some failures, the odd cancelled / running / queued one.

    Timing follows the status: a queued build has not started, a running one has not finished,
    and ``duration_seconds`` is computed by the schema from the interval.
    """

    class Meta:
        model = BuildCreate

    repository_id = fb.LazyFunction(STATE.new_id)
    status = fb.LazyFunction(
        lambda: _pick(("success", "failure", "cancelled", "running", "queued"), (78, 14, 4, 3, 1))
    )
    commit_sha = fb.LazyFunction(_commit_sha)
    branch = fb.LazyFunction(_branch)
    started_at = fb.LazyAttribute(lambda o: _build_started(str(o.status)))
    finished_at = fb.LazyAttribute(lambda o: _build_finished(str(o.status), o.started_at))
    trigger = fb.LazyFunction(lambda: _pick(vocab.BUILD_TRIGGERS, vocab.BUILD_TRIGGER_WEIGHTS))


_TERMINAL_DEPLOYMENT = ("success", "failure", "rolled_back")


def _deployment_started(status: str) -> datetime | None:
    if status == "pending":
        return None
    if status == "in_progress":
        return STATE.before_now(timedelta(seconds=10), timedelta(minutes=10))
    return STATE.before_now(timedelta(hours=6), timedelta(days=90))


def _deployment_finished(status: str, started_at: datetime | None) -> datetime | None:
    if started_at is None or status not in _TERMINAL_DEPLOYMENT:
        return None
    seconds = _lognormal_seconds(180.0, 0.7, 3600.0)
    return started_at + timedelta(microseconds=round(seconds * 1_000_000))


def _caused_incident(environment: str, status: str) -> bool:
    if environment != "production" or status not in _TERMINAL_DEPLOYMENT:
        return False
    return STATE.random.random() < (0.06 if status == "success" else 0.45)


def _restored(caused_incident: bool, finished_at: datetime | None) -> datetime | None:
    if not caused_incident or finished_at is None:
        return None
    seconds = _lognormal_seconds(5400.0, 0.9, 4 * 3600.0)
    return finished_at + timedelta(microseconds=round(seconds * 1_000_000))


@register_sequenced
class DeploymentCreateFactory(SchemaFactory[DeploymentCreate]):
    """A deployment to staging / production (some development), for the DORA metrics.

    The commit is always authored before the deployment starts (lead time); failed or
    rolled-back production deployments often cause an incident, with ``restored_at`` hours
    later.
    """

    class Meta:
        model = DeploymentCreate

    class Params:
        lead_time = fb.LazyFunction(
            lambda: timedelta(seconds=_lognormal_seconds(6 * 3600.0, 1.0, 20 * 86400.0))
        )

    repository_id = fb.LazyFunction(STATE.new_id)
    build_id = fb.LazyFunction(lambda: STATE.new_id() if STATE.random.random() < 0.8 else None)
    environment = fb.LazyFunction(
        lambda: _pick(("staging", "production", "development"), (50, 40, 10))
    )
    status = fb.LazyFunction(
        lambda: _pick(
            ("success", "failure", "rolled_back", "in_progress", "pending"), (85, 7, 4, 2, 2)
        )
    )
    commit_sha = fb.LazyFunction(_commit_sha)
    started_at = fb.LazyAttribute(lambda o: _deployment_started(str(o.status)))
    finished_at = fb.LazyAttribute(lambda o: _deployment_finished(str(o.status), o.started_at))
    commit_at = fb.LazyAttribute(lambda o: (o.started_at or STATE.now) - o.lead_time)
    caused_incident = fb.LazyAttribute(
        lambda o: _caused_incident(str(o.environment), str(o.status))
    )
    restored_at = fb.LazyAttribute(lambda o: _restored(o.caused_incident, o.finished_at))
