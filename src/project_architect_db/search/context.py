"""``db.search.context``: the passages an assistant needs to answer a question, within a budget.

Two sources, one budget:

* **the recent conversation** (when ``conversation_id`` is given): its last messages, newest
  first, up to a third of the budget, rendered in the order they were written;
* **retrieved passages**: ``db.search.hybrid`` over the project's documents and messages (the
  matched chunk of a document or a long message, or a chunk-sized window around the first
  matching word when only BM25 found the row), best first, until the budget is spent. The last
  one that does not fit whole is cut at a word to fit (when at least ``MIN_PASSAGE_TOKENS``
  are left).

**Tokens are estimated, not counted** (no tokenizer dependency, and the library does not know
the caller's model): ``estimate_tokens`` counts one token per 3 ASCII characters plus one
per 2.5 UTF-8 bytes of the other characters, rounded up. English runs about 4 characters per
token in the common BPE vocabularies, so English text is over-estimated by about a third; CJK
text (3 bytes a character) is estimated at 1.2 tokens a character. Over-estimating is the
safe side: a prompt built within the budget does not overflow the caller's window. The budget
covers the whole ``to_prompt()`` text, headers and citations included.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from project_architect_db.exceptions import NotFoundError, ValidationError
from project_architect_db.search.hybrid import fetch_by_id

if TYPE_CHECKING:
    from project_architect_db.search.hybrid import HybridHit
    from project_architect_db.search.service import SearchService

__all__ = [
    "MIN_PASSAGE_TOKENS",
    "MIN_TOKEN_BUDGET",
    "Context",
    "ContextPassage",
    "estimate_tokens",
]

#: The smallest budget accepted: the question's line and one short passage.
MIN_TOKEN_BUDGET = 64
#: A passage is cut to fit only if this many tokens are left for it.
MIN_PASSAGE_TOKENS = 32
#: How many recent messages of the conversation are considered.
RECENT_MESSAGES = 8
#: How many hits of hybrid search are considered.
RETRIEVED = 20
#: Window of a passage found by BM25 only, and of a message cut to fit (the chunk size).
PASSAGE_CHARS = 800


def estimate_tokens(text: str) -> int:
    """A conservative token count: ASCII characters / 3 + other characters' UTF-8 bytes / 2.5.

    Examples:
        >>> estimate_tokens("deployment failed"), estimate_tokens("数据库架构")
        (6, 6)
    """
    ascii_chars = len(text.encode("ascii", "ignore"))
    other_bytes = len(text.encode("utf-8")) - ascii_chars
    return math.ceil(ascii_chars / 3 + other_bytes / 2.5)


class ContextPassage(BaseModel):
    """One passage of a context, with what a citation needs."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["document", "message"]
    #: ``"recent"``: from the conversation's last messages; ``"retrieved"``: found by search.
    source: Literal["recent", "retrieved"]
    #: The document's or the message's id.
    id: uuid.UUID
    project_id: uuid.UUID
    conversation_id: uuid.UUID | None
    #: Documents: the version the passage comes from, its path and title.
    version: int | None
    path: str | None
    title: str | None
    #: Messages: who wrote it, and its place in the conversation.
    role: str | None
    sequence: int | None
    #: Character offsets of ``text`` in the row's content: ``content[start:end] == text``.
    start: int
    end: int
    text: str
    #: The fused hybrid score (None for recent messages).
    score: float | None
    #: Estimated tokens of this passage's block in ``to_prompt()``.
    tokens: int

    def citation(self) -> str:
        """Where the passage comes from, in one line (ids, version, offsets)."""
        if self.kind == "document":
            return (
                f"document {self.path} (id {self.id}, version {self.version}, "
                f"characters {self.start}-{self.end})"
            )
        return (
            f"message #{self.sequence} by {self.role} (id {self.id}, conversation "
            f"{self.conversation_id}, characters {self.start}-{self.end})"
        )


class Context(BaseModel):
    """The passages for a question, within ``token_budget`` estimated tokens."""

    model_config = ConfigDict(frozen=True)

    question: str
    token_budget: int
    #: Estimated tokens of ``to_prompt()`` (at most ``token_budget``).
    tokens: int
    #: Retrieved passages first (best first), then the recent conversation (oldest first).
    passages: tuple[ContextPassage, ...]

    def to_prompt(self) -> str:
        """The passages as prompt text, numbered ``[1]``, ``[2]``... with their citations."""
        return _header(self.question) + "".join(
            _block(n, p) for n, p in enumerate(self.passages, start=1)
        )


def _header(question: str) -> str:
    return f"Question: {question}\n\nContext (cite passages by their number):\n\n"


def _block(number: int, passage: ContextPassage) -> str:
    label = "recent message" if passage.source == "recent" else passage.kind
    return f"[{number}] {label}: {passage.citation()}\n{passage.text}\n\n"


class ContextBuilder:
    """Builds a :class:`Context` (``db.search.context``; state lives in the service)."""

    def __init__(self, service: SearchService) -> None:
        self._service = service

    async def build(
        self,
        question: str,
        *,
        project_id: uuid.UUID,
        conversation_id: uuid.UUID | None,
        token_budget: int,
    ) -> Context:
        """See ``SearchService.context``."""
        if (
            isinstance(token_budget, bool)
            or not isinstance(token_budget, int)
            or token_budget < MIN_TOKEN_BUDGET
        ):
            raise ValidationError(
                f"token_budget must be an integer of at least {MIN_TOKEN_BUDGET} estimated "
                f"tokens (got {token_budget!r}): the question and one passage must fit."
            )
        await self._check_owner(project_id, conversation_id)
        hits = await self._service.hybrid(question, k=RETRIEVED, project_id=project_id)
        recent = await self._recent(conversation_id) if conversation_id else []
        used = estimate_tokens(_header(question))
        if used + MIN_PASSAGE_TOKENS > token_budget:
            raise ValidationError(
                f"token_budget {token_budget} leaves no room for a passage after the question "
                f"(~{used} tokens): raise it or shorten the question."
            )
        seen = {row["id"] for row in recent}
        kept_recent, used = self._fit_recent(recent, used, token_budget)
        retrieved = await self._retrieved([h for h in hits if h.id not in seen], used, token_budget)
        passages = [*retrieved, *reversed(kept_recent)]
        numbered = [
            p.model_copy(update={"tokens": _tokens(n, p)}) for n, p in enumerate(passages, 1)
        ]
        total = estimate_tokens(_header(question)) + sum(p.tokens for p in numbered)
        return Context(
            question=question, token_budget=token_budget, tokens=total, passages=tuple(numbered)
        )

    async def _check_owner(self, project_id: uuid.UUID, conversation_id: uuid.UUID | None) -> None:
        rows = await self._fetch("projects", "d.id", [project_id])
        if not rows:
            raise NotFoundError(f"No project with id {project_id}: check the id.")
        if conversation_id is None:
            return
        rows = await self._fetch("conversations", "d.project_id", [conversation_id])
        if not rows:
            raise NotFoundError(f"No conversation with id {conversation_id}: check the id.")
        if rows[0][0] != project_id:
            raise ValidationError(
                f"Conversation {conversation_id} belongs to another project than {project_id}."
            )

    async def _recent(self, conversation_id: uuid.UUID) -> list[dict[str, Any]]:
        sql = (
            "SELECT id, project_id, conversation_id, sequence, role, content FROM messages "
            "WHERE conversation_id = $c ORDER BY sequence DESC LIMIT $n"
        )
        params = {"c": conversation_id, "n": RECENT_MESSAGES}
        async with self._service.executor.transaction() as tx:
            rows = await tx.run_native(lambda con: con.execute(sql, params).fetchall())
        names = ("id", "project_id", "conversation_id", "sequence", "role", "content")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _fit_recent(
        self, rows: Sequence[dict[str, Any]], used: int, budget: int
    ) -> tuple[list[ContextPassage], int]:
        share = used + (budget - used) // 3
        kept: list[ContextPassage] = []
        for row in rows:  # newest first
            content = row["content"] or ""
            passage = ContextPassage(
                kind="message", source="recent", id=row["id"], project_id=row["project_id"],
                conversation_id=row["conversation_id"], version=None, path=None, title=None,
                role=str(row["role"]), sequence=row["sequence"], start=0,
                end=min(len(content), PASSAGE_CHARS), text=content[:PASSAGE_CHARS], score=None,
                tokens=0,
            )  # fmt: skip
            fitted = _fit(passage, share - used)
            if fitted is None:
                break
            kept.append(fitted)
            used += _tokens(99, fitted)
            if fitted.end < passage.end:
                break
        return kept, used

    async def _retrieved(
        self, hits: Sequence[HybridHit], used: int, budget: int
    ) -> list[ContextPassage]:
        texts = await self._texts(hits)
        out: list[ContextPassage] = []
        for hit in hits:
            content, path, title = texts.get((hit.kind, hit.id), ("", None, None))
            start, end = hit.start, hit.end
            if hit.chunk is None:  # BM25's window is a snippet's: widen it to a chunk's size
                start, end = _widen(content, start, end)
            passage = ContextPassage(
                kind=hit.kind, source="retrieved", id=hit.id, project_id=hit.project_id,
                conversation_id=hit.conversation_id, version=hit.version, path=path,
                title=title, role=None, sequence=None, start=start, end=end,
                text=content[start:end], score=hit.score, tokens=0,
            )  # fmt: skip
            fitted = _fit(passage, budget - used)
            if fitted is None:
                continue
            out.append(fitted)
            used += _tokens(99, fitted)
            if fitted.end < passage.end:
                break
        return out

    async def _texts(
        self, hits: Sequence[HybridHit]
    ) -> dict[tuple[str, uuid.UUID], tuple[Any, ...]]:
        found: dict[tuple[str, uuid.UUID], tuple[Any, ...]] = {}
        for kind, table, columns in (
            ("document", "documents", "d.id, d.content, d.path, d.title"),
            ("message", "messages", "d.id, d.content, NULL, NULL"),
        ):
            ids = [hit.id for hit in hits if hit.kind == kind]
            if ids:
                for row_id, content, path, title in await self._fetch(table, columns, ids):
                    found[(kind, row_id)] = (content or "", path, title)
        return found

    async def _fetch(self, table: str, columns: str, ids: Sequence[uuid.UUID]) -> list[Any]:
        return await fetch_by_id(self._service, table, columns, ids)


def _tokens(number: int, passage: ContextPassage) -> int:
    return estimate_tokens(_block(number, passage))


def _fit(passage: ContextPassage, room: int) -> ContextPassage | None:
    """``passage`` whole if its block fits in ``room`` tokens, else cut at a word, or None."""
    if _tokens(99, passage) <= room:  # 99: a two-digit number, the widest label counted
        return passage
    if room < MIN_PASSAGE_TOKENS:
        return None
    overhead = _tokens(99, passage.model_copy(update={"text": ""}))
    # from 2 characters a token (ASCII: 3; CJK: 0.83), shrunk below until it fits
    chars = max(0, (room - overhead) * 2)
    text = passage.text[:chars]
    cut = text.rfind(" ")
    text = text[:cut] if cut > 0 else text
    while text and _tokens(99, passage.model_copy(update={"text": text})) > room:
        text = text[: len(text) * 9 // 10]
    if not text.strip():
        return None
    return passage.model_copy(update={"text": text, "end": passage.start + len(text)})


def _widen(content: str, start: int, end: int) -> tuple[int, int]:
    """A window of about ``PASSAGE_CHARS`` around ``start:end``, cut between words."""
    extra = max(0, PASSAGE_CHARS - (end - start))
    new_start = max(0, start - extra // 4)
    new_end = min(len(content), new_start + max(PASSAGE_CHARS, end - start))
    if new_start > 0:
        space = content.find(" ", new_start, start + 1)
        new_start = space + 1 if space >= 0 else new_start
    if new_end < len(content):
        space = content.rfind(" ", end, new_end)
        new_end = space if space > end else new_end
    return new_start, new_end
