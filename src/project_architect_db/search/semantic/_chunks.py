"""Split a text into overlapping chunks, each with its character offsets.

e5-small reads at most 512 tokens; a chunk of about 800 characters stays under that for most
scripts (CJK runs about one token per character) and is short enough for a passage to be
about one thing. Chunks end at white space where there is some near the end, and overlap a
little so a sentence cut at a boundary is whole in one of them.
"""

from __future__ import annotations

__all__ = ["CHUNK_CHARS", "OVERLAP_CHARS", "chunk_spans"]

CHUNK_CHARS = 800
OVERLAP_CHARS = 100


def chunk_spans(
    text: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS
) -> list[tuple[int, int]]:
    """``(start, end)`` offsets covering ``text``; ``[(0, 0)]`` for an empty text.

    Examples:
        >>> chunk_spans("")
        [(0, 0)]
        >>> text = "alpha beta gamma delta"
        >>> [text[a:b] for a, b in chunk_spans(text, size=12, overlap=6)]
        ['alpha beta', 'beta gamma', 'gamma delta']
    """
    n = len(text)
    if n <= size:
        return [(0, n)]
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + size, n)
        if end < n:
            cut = text.rfind(" ", start + size // 2, end)
            if cut > start:
                end = cut
        spans.append((start, end))
        if end >= n:
            return spans
        start = _word_start(text, max(end - overlap, start + 1), end)


def _word_start(text: str, start: int, limit: int) -> int:
    """``start`` moved to the beginning of the next word, if one begins before ``limit``."""
    if start == 0 or text[start - 1].isspace():
        return start
    space = text.find(" ", start, limit)
    return space + 1 if space != -1 else start
