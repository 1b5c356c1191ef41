"""Highlighted snippets, bounded in cost: only the first ``SCAN_CHARS`` of a hit are looked at."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from project_architect_db.search._sql import PUNCTUATION

__all__ = ["SCAN_CHARS", "candidate_words", "make_snippet", "normalize", "snippet_window"]

#: How much of a hit's text is scanned for the first match.
SCAN_CHARS = 20_000
#: A word as the index's tokenizer cuts it (``_sql.PUNCTUATION``: digits are part of words).
_WORD = re.compile(f"[^\\s{PUNCTUATION}]+")


def normalize(word: str) -> str:
    """What DuckDB's fts tokenizer does to a word before stemming: strip accents, lower."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _prefix(stem: str) -> str:
    # The Porter stemmer only rewrites a word's end, by at most two characters.
    return stem[: max(2, len(stem) - 2)] if len(stem) > 2 else stem


def candidate_words(
    texts: Iterable[str], stems: Iterable[str], limit: int = 512, *, exact: bool = False
) -> set[str]:
    """Normalised words of ``texts`` that may stem to one of ``stems`` (checked in SQL after).

    With ``exact``, ``stems`` are whole words and only those are found.
    """
    wanted = frozenset(stems)
    prefixes = tuple({_prefix(s) for s in wanted if s})
    found: set[str] = set()
    if not prefixes:
        return found
    for text in texts:
        for match in _WORD.finditer(text, 0, min(len(text), SCAN_CHARS)):
            word = normalize(match.group())
            if (word in wanted) if exact else word.startswith(prefixes):
                found.add(word)
                if len(found) >= limit:
                    return found
    return found


def snippet_window(
    text: str, is_match: Callable[[str], bool], *, width: int = 160
) -> tuple[int, int, re.Match[str] | None]:
    """``(start, end, first match)`` of about ``width`` characters around the first match.

    The window starts the text when no word matches, and is cut between words.
    """
    end_scan = min(len(text), SCAN_CHARS)
    first = None
    for match in _WORD.finditer(text, 0, end_scan):
        if is_match(normalize(match.group())):
            first = match
            break
    if first is None:
        window_start, window_end = 0, min(len(text), width)
    else:
        window_start = max(0, first.start() - width // 3)
        window_end = min(len(text), window_start + width)
        if window_start > 0:  # do not cut a word in two
            space = text.rfind(" ", 0, window_start + 1)
            window_start = (
                space + 1 if space >= 0 and first.start() - space < width else window_start
            )
    if window_end < len(text):
        space = text.rfind(" ", window_start, window_end)
        window_end = space if space > (first.end() if first else window_start) else window_end
    return window_start, window_end, first


def make_snippet(
    text: str,
    is_match: Callable[[str], bool],
    *,
    width: int = 160,
    markers: tuple[str, str] = ("**", "**"),
) -> str:
    """About ``width`` characters around the first matching word, matches wrapped in ``markers``."""
    window_start, window_end, _ = snippet_window(text, is_match, width=width)
    window = text[window_start:window_end]
    out: list[str] = []
    last = 0
    for match in _WORD.finditer(window):
        if is_match(normalize(match.group())):
            out.append(window[last : match.start()])
            out.append(f"{markers[0]}{match.group()}{markers[1]}")
            last = match.end()
    out.append(window[last:])
    snippet = " ".join("".join(out).split())
    prefix = "…" if window_start > 0 else ""
    suffix = "…" if window_end < len(text) else ""
    return f"{prefix}{snippet}{suffix}"
