"""Conversation, message and attachment factories, and whole threads."""

# factory-boy's nested ``Meta`` / ``Params`` classes are configuration, not API to document.

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from project_architect_db.datagen import _text as text
from project_architect_db.datagen import _vocabulary as vocab
from project_architect_db.schemas import (
    AttachmentCreate,
    ConversationCreate,
    MessageCreate,
)
from project_architect_db.testing.factories.schemas._base import (
    SchemaFactory,
    _lognormal_seconds,
    _pick,
    fb,
)
from project_architect_db.testing.factories.seeding import STATE, register_sequenced

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
