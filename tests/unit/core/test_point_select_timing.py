"""When a point-select shape runs on the loop thread (``core/point_select._Shape.timed``)."""

from __future__ import annotations

import time

from project_architect_db.core._inline import COOLDOWN, InlineCost
from project_architect_db.core.point_select import _Shape

BUDGET = 0.002


def _shape(inline: bool | None = None) -> _Shape:
    shape = _Shape.__new__(_Shape)
    shape.cost = None
    if inline is not None:
        shape.cost = InlineCost()
        shape.cost.inline = inline
    return shape


def _cool_down_over(shape: _Shape) -> None:
    assert shape.cost is not None
    shape.cost.until = time.perf_counter() - 0.001


def test_a_shape_is_unknown_until_its_first_run_is_timed() -> None:
    shape = _shape()
    assert shape.inline is None
    shape.timed(BUDGET / 2, BUDGET)
    assert shape.inline is True


def test_a_slow_run_keeps_it_off_the_loop_for_its_cool_down_then_a_short_one_lets_it_back() -> None:
    shape = _shape(inline=True)
    shape.timed(BUDGET * 5, BUDGET)
    assert shape.inline is False
    assert shape.cost is not None and shape.cost.cooldown == COOLDOWN
    shape.timed(BUDGET / 2, BUDGET)  # short, but the row may still be hot
    assert shape.inline is False
    _cool_down_over(shape)
    shape.timed(BUDGET / 2, BUDGET)
    assert shape.inline is True


def test_a_cold_first_run_far_over_the_budget_costs_a_cool_down_not_the_loop_for_good() -> None:
    shape = _shape()
    shape.timed(BUDGET * 20, BUDGET)  # the index loaded from the file
    assert shape.inline is False
    _cool_down_over(shape)
    shape.timed(BUDGET / 2, BUDGET)
    assert shape.inline is True


def test_slow_runs_on_the_loop_within_a_spell_lengthen_the_cool_down() -> None:
    shape = _shape(inline=True)
    shape.timed(BUDGET * 5, BUDGET)
    for _ in range(2):  # back on the loop after each cool-down, and slow there again
        _cool_down_over(shape)
        shape.timed(BUDGET / 2, BUDGET)
        assert shape.inline is True
        shape.timed(BUDGET * 5, BUDGET)
    assert shape.cost is not None and shape.cost.cooldown == 4 * COOLDOWN
    assert shape.inline is False


def test_slow_runs_on_the_worker_do_not_lengthen_the_cool_down() -> None:
    shape = _shape(inline=True)
    shape.timed(BUDGET * 5, BUDGET)
    for _ in range(3):
        shape.timed(BUDGET * 2, BUDGET)  # on the worker now
    assert shape.cost is not None and shape.cost.cooldown == COOLDOWN
    assert shape.inline is False


def test_a_lone_run_a_little_over_the_budget_keeps_the_shape_on_the_loop() -> None:
    shape = _shape(inline=True)
    shape.timed(BUDGET * 2, BUDGET)  # the first lookup after other work: cold caches
    assert shape.inline is True
    shape.timed(BUDGET / 2, BUDGET)
    assert shape.inline is True


def test_a_second_slow_run_right_after_the_first_sends_the_shape_away() -> None:
    shape = _shape(inline=True)
    shape.timed(BUDGET * 2.5, BUDGET)
    shape.timed(BUDGET * 2.5, BUDGET)  # together past FAR_OVER budgets: the row may be hot
    assert shape.inline is False
    assert shape.cost is not None and shape.cost.cooldown == COOLDOWN
