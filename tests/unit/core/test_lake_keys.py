"""Lock keys, their one global order, and the key policy of each kind of write."""

from __future__ import annotations

import subprocess
import sys

import pytest

from project_architect_db.core.lake import (
    Keys,
    delete_keys,
    insert_keys,
    lock_id,
    plan_locks,
    row_key,
    table_key,
    unique_key,
    update_keys,
)
from project_architect_db.exceptions import ConfigurationError


def test_a_key_maps_to_the_same_signed_64_bit_lock_in_every_process() -> None:
    here = lock_id("projects:1")
    there = subprocess.run(
        [
            sys.executable,
            "-c",
            "from project_architect_db.core.lake import lock_id;print(lock_id('projects:1'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert int(there) == here
    assert -(2**63) <= here < 2**63
    assert lock_id("projects:2") != here


def test_locks_are_planned_in_ascending_order_with_exclusive_winning_over_shared() -> None:
    plan = plan_locks(["b", "a"], ["a", "c", "c"])
    ids = [ident for ident, _ in plan.locks]
    assert ids == sorted(ids)
    assert dict(plan.locks) == {lock_id("a"): True, lock_id("b"): True, lock_id("c"): False}
    assert plan_locks(["a", "b"], []).locks == plan_locks(["b", "a"], []).locks


def test_the_lock_statement_opens_a_transaction_bounds_the_wait_and_locks_in_order() -> None:
    plan = plan_locks(["x"], ["y"])
    statements = plan.sql(250).split(";")
    assert statements[:2] == ["BEGIN", "SET LOCAL lock_timeout = '250ms'"]
    expected = [
        f"SELECT pg_advisory_xact_lock{'' if exclusive else '_shared'}({ident})"
        for ident, exclusive in plan.locks
    ]
    assert statements[2:] == expected


@pytest.mark.parametrize("bad", ["slug", [""], [None], [3]])
def test_bad_keys_are_refused(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        plan_locks(bad, [])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        plan_locks([], bad)  # type: ignore[arg-type]


def test_an_insert_shares_its_table_and_ancestors_and_claims_its_unique_values() -> None:
    keys = insert_keys(
        "messages",
        ancestors=[("conversations", "c1"), ("projects", "p1")],
        numbered_under=("conversations", "c1"),
    )
    assert keys == Keys(
        exclusive=("conversations:c1#sequence",),
        shared=("table:messages", "conversations:c1", "projects:p1"),
    )
    slug = insert_keys("projects", unique=[("projects", ("slug",), ("demo",))])
    assert slug.exclusive == (unique_key("projects", ("slug",), ("demo",)),)
    assert unique_key("projects", ("slug",), ("demo",)) == 'projects(slug):["demo"]'


def test_unique_keys_of_different_values_never_share_a_string() -> None:
    one = unique_key("documents", ("project_id", "path"), ("p", "a,b"))
    two = unique_key("documents", ("project_id", "path"), ("p,a", "b"))
    assert one != two


def test_an_update_takes_the_row_version_and_the_table_and_shares_the_row() -> None:
    keys = update_keys(
        "projects",
        "p1",
        unique_changes=[("projects", ("slug",), ("old",)), ("projects", ("slug",), ("new",))],
    )
    assert keys.exclusive[:2] == ("table:projects", "projects:p1#version")
    assert len(keys.exclusive) == 4
    assert keys.shared == (row_key("projects", "p1"),)


def test_a_delete_takes_the_row_and_every_table_its_cascade_writes() -> None:
    keys = delete_keys(
        "conversations", "c1", ancestors=[("projects", "p1")], cascades_to=["messages"]
    )
    assert keys == Keys(
        exclusive=("conversations:c1", "table:conversations", table_key("messages")),
        shared=("projects:p1",),
    )


def test_a_delete_waits_for_inserts_under_it_and_they_for_it() -> None:
    insert = insert_keys("messages", ancestors=[("conversations", "c1"), ("projects", "p1")])
    delete = delete_keys("projects", "p1", cascades_to=["messages", "conversations"])
    assert set(delete.exclusive) & set(insert.shared) >= {"projects:p1", "table:messages"}


def test_merged_keys_keep_one_copy_of_each_in_order() -> None:
    merged = insert_keys("projects").merge(insert_keys("conversations"), insert_keys("projects"))
    assert merged == Keys(shared=("table:projects", "table:conversations"))
