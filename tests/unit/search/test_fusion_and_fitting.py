"""Pure parts of hybrid search and context: fusion of ranked lists, fitting passages."""

from __future__ import annotations

import uuid

import pytest

from project_architect_db.search._fusion import convex, min_max, rrf, weighted_sum
from project_architect_db.search.context import (
    MIN_PASSAGE_TOKENS,
    ContextPassage,
    _fit,
    _tokens,
    _widen,
    estimate_tokens,
)


def test_rrf_rewards_agreement_and_weights_lists() -> None:
    fused = rrf({"a": ["x", "y"], "b": ["y", "z"]}, c=1)
    assert list(fused) == ["y", "x", "z"]
    assert fused["y"] == pytest.approx(1 / 3 + 1 / 2)
    weighted = rrf({"a": ["x"], "b": ["z"]}, c=1, weights={"b": 3.0})
    assert list(weighted) == ["z", "x"]


def test_min_max_scales_to_0_1_and_equal_scores_to_1() -> None:
    assert min_max([("a", 3.0), ("b", 1.0), ("c", 2.0)]) == [("a", 1.0), ("b", 0.0), ("c", 0.5)]
    assert min_max([("a", 0.7), ("b", 0.7)]) == [("a", 1.0), ("b", 1.0)]
    assert min_max([]) == []


def test_weighted_sum_and_convex_add_the_scaled_parts() -> None:
    fused = weighted_sum({"a": [("x", 1.0), ("y", 0.5)], "b": [("y", 1.0)]}, {"a": 0.5, "b": 0.5})
    assert fused == {"y": 0.75, "x": 0.5}
    assert list(convex({"a": [("x", 9.0), ("y", 1.0)], "b": []}, {"a": 1.0})) == ["x", "y"]


def _passage(text: str) -> ContextPassage:
    return ContextPassage(
        kind="document", source="retrieved", id=uuid.uuid4(), project_id=uuid.uuid4(),
        conversation_id=None, version=2, path="a.md", title="A", role=None, sequence=None,
        start=10, end=10 + len(text), text=text, score=1.0, tokens=0,
    )  # fmt: skip


@pytest.mark.parametrize("word", ["deployment", "数据库架构"])
def test_a_passage_is_cut_at_a_word_to_fit_its_room(word: str) -> None:
    passage = _passage(" ".join([word] * 200))
    fitted = _fit(passage, 60)
    assert fitted is not None
    assert _tokens(99, fitted) <= 60
    assert passage.text.startswith(fitted.text) and not fitted.text.endswith(" ")
    assert fitted.end == fitted.start + len(fitted.text) < passage.end


def test_a_passage_is_dropped_when_too_little_room_is_left() -> None:
    assert _fit(_passage("word " * 200), MIN_PASSAGE_TOKENS - 1) is None
    whole = _passage("short")
    assert _fit(whole, 1000) == whole


def test_widen_makes_a_chunk_sized_window_cut_between_words() -> None:
    content = " ".join(f"w{i:04d}" for i in range(1000))  # 5,999 characters
    start = content.index("w0500")
    new_start, new_end = _widen(content, start, start + 5)
    assert new_start <= start and new_end >= start + 5
    assert 600 <= new_end - new_start <= 800
    assert content[new_start - 1] == " " and content[new_end] == " "
    assert _widen("short text", 0, 5) == (0, 10)


def test_the_token_estimate_is_conservative_for_english_and_cjk() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("a" * 300) == 100
    assert estimate_tokens("数" * 10) == 12
    assert estimate_tokens("Привет") == 5  # 12 bytes / 2.5
