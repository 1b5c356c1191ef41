"""When a point-select shape runs on the loop thread (``core/point_select._Shape.timed``)."""

from __future__ import annotations

from project_architect_db.core.point_select import _FAR_OVER, _STRIKES, _Shape

BUDGET = 0.002


def _shape(inline: bool | None = None) -> _Shape:
    shape = _Shape.__new__(_Shape)
    shape.inline, shape.slow = inline, 0
    return shape


def test_a_short_run_on_the_worker_lets_the_shape_onto_the_loop() -> None:
    shape = _shape()
    shape.timed(BUDGET / 2, BUDGET)
    assert shape.inline is True


def test_slow_runs_in_a_row_keep_it_off_the_loop_for_good() -> None:
    shape = _shape()
    for _ in range(_STRIKES - 1):
        shape.timed(BUDGET * 2, BUDGET)
        assert shape.inline is None  # not yet known to be short
    shape.timed(BUDGET * 2, BUDGET)
    assert shape.inline is False
    shape.timed(BUDGET / 2, BUDGET)
    assert shape.inline is False  # for good


def test_a_cold_first_run_far_over_the_budget_does_not_decide() -> None:
    shape = _shape()
    shape.timed(BUDGET * (_FAR_OVER + 1), BUDGET)  # the index loaded from the file
    assert shape.inline is None
    shape.timed(BUDGET / 2, BUDGET)
    assert shape.inline is True


def test_one_run_far_over_the_budget_on_the_loop_sends_it_back() -> None:
    shape = _shape(inline=True)
    shape.timed(BUDGET * (_FAR_OVER + 1), BUDGET)
    assert shape.inline is False


def test_a_short_run_forgives_the_slow_ones_before() -> None:
    shape = _shape(inline=True)
    for _ in range(_STRIKES - 1):
        shape.timed(BUDGET * 2, BUDGET)
    shape.timed(BUDGET / 2, BUDGET)
    for _ in range(_STRIKES - 1):
        shape.timed(BUDGET * 2, BUDGET)
    assert shape.inline is True
