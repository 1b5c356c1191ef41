"""Table cells and search snippets in the terminal: highlights styled, data never read as markup."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from project_architect_db.cli._render import (
    HIGHLIGHT_STYLE,
    SNIPPET_MARKERS,
    cell,
    duration,
    highlighted,
    percent,
)
from project_architect_db.cli.demo import _table

START, END = SNIPPET_MARKERS


def _render(renderable: object, *, width: int = 120) -> tuple[str, str]:
    """The plain text and the ANSI-styled text a terminal would show."""
    from rich.console import Console

    console = Console(
        record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="standard"
    )
    console.print(renderable)
    return console.export_text(clear=False), console.export_text(styles=True)


def _styled_words(text: Any) -> list[tuple[str, str]]:
    return [(text.plain[span.start : span.end], str(span.style)) for span in text.spans]


def test_a_snippet_shows_its_matches_in_the_highlight_style_without_markers() -> None:
    text = highlighted(f"…use short-lived {START}tokens{END} for {START}authentication{END}…")
    assert text.plain == "…use short-lived tokens for authentication…"
    assert _styled_words(text) == [("tokens", HIGHLIGHT_STYLE), ("authentication", HIGHLIGHT_STYLE)]


def test_the_demo_table_prints_highlights_as_bold_and_no_markers() -> None:
    rows = [
        {"score": 1.5, "path": "README.md", "snippet": highlighted(f"run {START}migrations{END}")},
        {"score": 0.7, "path": "docs/a.md", "snippet": highlighted("**Recommendation:** x")},
    ]
    plain, styled = _render(_table("documents matching 'migration'", rows, 3))
    assert "run migrations" in plain
    assert START not in plain and END not in plain
    assert "\x1b[1;33mmigrations\x1b[0m" in styled  # bold yellow, and only the match
    assert "\x1b[1;33mrun" not in styled
    # a document's own markdown is its text: shown as written, not as a highlight
    assert "**Recommendation:** x" in plain
    assert "\x1b[1;33mRecommendation" not in styled


def test_the_default_double_star_markers_render_as_emphasis_too() -> None:
    plain, styled = _render(highlighted("add the **index** first", ("**", "**")))
    assert "**" not in plain
    assert "add the index first" in plain
    assert "\x1b[1;33mindex\x1b[0m" in styled


def test_rich_markup_in_a_snippet_is_printed_literally() -> None:
    text = highlighted(f"[bold red]not markup[/] and {START}[link=x]{END} :smile:")
    plain, styled = _render(text)
    assert "[bold red]not markup[/] and [link=x] :smile:" in plain
    assert "\x1b[1;31m" not in styled  # the [bold red] was not applied
    assert _styled_words(text) == [("[link=x]", HIGHLIGHT_STYLE)]


def test_an_unmatched_marker_is_kept_as_text() -> None:
    text = highlighted("a **dangling marker", ("**", "**"))
    assert text.plain == "a **dangling marker"
    assert text.spans == []
    tail = highlighted(f"{START}one{END} and {START}two", SNIPPET_MARKERS)
    assert tail.plain == f"one and {START}two"
    assert _styled_words(tail) == [("one", HIGHLIGHT_STYLE)]


def test_an_empty_snippet_renders_as_nothing() -> None:
    assert highlighted("").plain == ""
    assert highlighted(f"{START}{END}").plain == ""


def test_markup_in_any_cell_or_title_is_printed_literally() -> None:
    rows = [{"name": "[bold]Atlas[/bold]", "count": 3}]
    plain, styled = _render(_table("[red]title[/red]", rows))
    assert "[bold]Atlas[/bold]" in plain
    assert "[red]title[/red]" in plain
    assert "\x1b[1mAtlas" not in styled
    assert "\x1b[31m" not in styled  # no red anywhere


def test_an_empty_result_says_so() -> None:
    plain, _ = _render(_table("nothing", []))
    assert "(no rows)" in plain


def test_cells_group_numbers_and_shorten_instants_and_text() -> None:
    assert cell(1234567).plain == "1,234,567"
    assert cell(Decimal(1215)).plain == "1,215"
    assert cell(Decimal("2.5")).plain == "2.50"
    assert cell(0.333).plain == "0.33"
    assert cell(None).plain == "-"
    assert cell(True).plain == "true"
    assert cell(datetime(2026, 11, 23, tzinfo=UTC)).plain == "2026-11-23"
    assert cell(datetime(2026, 11, 23, 14, 59, 7, tzinfo=UTC)).plain == "2026-11-23 14:59"
    plus_two = timezone(timedelta(hours=2))
    assert cell(datetime(2026, 11, 23, tzinfo=plus_two)).plain == "2026-11-23 00:00"
    assert cell("x" * 200).plain == "x" * 117 + "..."
    assert cell("short").plain == "short"


def test_durations_and_rates_read_like_a_human_wrote_them() -> None:
    assert duration(None).plain == "-"
    assert duration(42.4).plain == "42 s"
    assert duration(450).plain == "7.5 min"
    assert duration(3 * 3600 + 720).plain == "3.2 h"
    assert duration(2 * 86_400).plain == "2.0 d"
    assert percent(0.853).plain == "85%"
    assert percent(None).plain == "-"


def test_the_demo_table_renders_seconds_and_rates_by_column_name() -> None:
    rows = [{"name": "Atlas", "lead_time_seconds": 7200.0, "change_failure_rate": 0.25}]
    columns = {"name": "project", "lead_time_seconds": "lead time", "change_failure_rate": "failed"}
    plain, _ = _render(_table("CI/CD", rows, columns=columns))
    assert "2.0 h" in plain and "25%" in plain and "lead time" in plain
