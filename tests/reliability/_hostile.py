"""Strategies of hostile input, and the harness that runs library calls from Hypothesis tests.

Hypothesis drives synchronous test functions here: each example runs its library calls on one
event loop kept for the whole module (:class:`World`), so the database, its pool and its state
carry over from example to example, as in an application under attack.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from project_architect_db import Database, ProjectArchitectDBError

T = TypeVar("T")

#: Examples per entry point: in the default run, and under ``-m slow``.
CI_EXAMPLES = 120
SLOW_EXAMPLES = 1200


def hypothesis_settings(examples: int) -> settings:
    """Bounded, deadline-free, no example database written into the checkout."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# -- values --------------------------------------------------------------------------------------

INJECTIONS = [
    "'; DROP TABLE projects; --",
    '"; DROP TABLE projects; --',
    "1' OR '1'='1",
    "x') OR 1=1 --",
    "projects; DELETE FROM projects",
    "' || (SELECT count(*) FROM projects) || '",
    "$1",
    "?",
    "%s",
    "%(name)s",
    ":name",
    "{0}",
    "\\",
    "\\'",
    "*/ DROP TABLE projects /*",
    "__class__",
    "__proto__",
    "name__in",
    "metadata__a__b__c",
    "../../../etc/passwd",
    "/etc/passwd",
    "C:\\Windows\\system32",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "\x00",
    "a\x00b",
    "\u202eevil",
    "\ufeff",
    "\u0301",
    "🦆" * 50,
    "\ud800",
    "a\udfffb",
    "Ω" * 300,
    "\n" * 50,
    " " * 300,
    "NaN",
    "Infinity",
    "-0",
    "9" * 400,
    "null",
    "true",
    "[]",
    "{}",
    "",
]
HUGE_STRINGS = ["x" * 300_000, "é" * 100_001, "a " * 100_000]
EXTREME_INTS = [
    0,
    -1,
    1,
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
    2**200,
    -(2**200),
]
EXTREME_FLOATS = [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 0.1]
_FAR_EAST = timezone(timedelta(hours=14))
_FAR_WEST = timezone(-timedelta(hours=23, minutes=59))
EXTREME_DATES: list[Any] = [
    datetime.min,
    datetime.max,
    datetime.min.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=UTC),
    datetime.min.replace(tzinfo=_FAR_EAST),
    datetime.max.replace(tzinfo=_FAR_WEST),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2262, 4, 12, tzinfo=UTC),
    date.min,
    date.max,
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59.999999-23:59",
    "2025-02-30T00:00:00Z",
    "2025-01-01",
    "-1",
    "now",
]


def nested(depth: int) -> Any:
    """A JSON object nested ``depth`` levels deep."""
    value: Any = {"leaf": True}
    for _ in range(depth):
        value = {"a": value}
    return value


hostile_text = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=4),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20),
    st.sampled_from(HUGE_STRINGS),
)
hostile_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(EXTREME_INTS),
    st.integers(),
    st.sampled_from(EXTREME_FLOATS),
    st.floats(),
    hostile_text,
    st.binary(max_size=20),
    st.sampled_from([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80"]),  # invalid UTF-8
    st.sampled_from(EXTREME_DATES),
    st.uuids(),
)
hostile_json = st.one_of(
    st.recursive(
        st.none() | st.booleans() | st.sampled_from(EXTREME_INTS) | st.floats() | hostile_text,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.text(max_size=8) | st.sampled_from(INJECTIONS), children, max_size=4
            )
        ),
        max_leaves=12,
    ),
    st.integers(min_value=10, max_value=400).map(nested),
    st.sampled_from([{"big": "x" * 70_000}, {"nul": "\x00"}, {"\x00": 1}, {"s": "\ud800"}]),
)
hostile_value = st.one_of(hostile_scalar, hostile_json, st.lists(hostile_scalar, max_size=5))


def maybe(values: st.SearchStrategy[Any], sane: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly hostile, sometimes a sane value (so later checks also see stored rows)."""
    return st.one_of(sane, values)


# -- running library calls -----------------------------------------------------------------------


class World:
    """One database on one event loop for a whole module of Hypothesis tests."""

    def __init__(self, runner: asyncio.Runner, db: Database) -> None:
        self.runner = runner
        self.db = db
        self.cases: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.created: Counter[str] = Counter()
        self.unhandled: list[str] = []
        self.ids: dict[str, Any] = {}

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    def attempt(self, entry: str, call: Callable[[], Awaitable[T]]) -> T | None:
        """Run ``call()``; a library error is a fine outcome, anything else fails the example."""
        self.cases[entry] += 1

        async def guarded() -> T:
            return await call()

        try:
            result = self.run(guarded())
        except ProjectArchitectDBError as error:
            self.outcomes[f"{entry}: {type(error).__name__}"] += 1
            assert str(error).strip(), "a library error without a message"
            return None
        except Exception as error:
            self.unhandled.append(f"{entry}: {type(error).__name__}: {str(error)[:200]}")
            raise
        self.outcomes[f"{entry}: ok"] += 1
        return result


def random_id() -> st.SearchStrategy[uuid.UUID]:
    """Ids that exist nowhere."""
    return st.uuids()
