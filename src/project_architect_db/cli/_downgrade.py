"""What ``migrate downgrade`` would undo, told before it asks: revisions, tables, columns.

The steps are the ones Alembic itself would run (``_downgrade_revs``, as the manager uses). What
each drops is read from its ``downgrade()`` source: ``op.drop_table("t")``,
``op.drop_column("t", "c")`` and ``batch_op.drop_column("c")`` inside
``with op.batch_alter_table("t") as batch_op``. A drop written as raw SQL is not seen, so the
prompt always says that undoing a revision can delete data, and lists the drops it could read.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any

__all__ = ["Step", "describe", "plan"]


@dataclass(frozen=True, slots=True)
class Step:
    """One revision a downgrade undoes, and the tables and columns its ``downgrade()`` drops."""

    revision: str
    message: str
    tables: tuple[str, ...]
    columns: tuple[str, ...]


def plan(script: Any, current: str | None, target: str) -> list[Step]:
    """The revisions a downgrade from ``current`` to ``target`` undoes, newest first.

    Raises:
        alembic.util.CommandError: ``target`` is not a revision of this history.
    """
    if current is None:
        return []
    steps = []
    for step in script._downgrade_revs(target, current):
        item = step.revision
        tables, columns = _drops(item.module)
        steps.append(Step(item.revision, (item.doc or "").strip(), tables, columns))
    return steps


def _drops(module: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    function = getattr(module, "downgrade", None)
    try:
        source = textwrap.dedent(inspect.getsource(function))  # type: ignore[arg-type]
    except (OSError, TypeError):  # no source on disk (a compiled-only install)
        return (), ()
    tables: list[str] = []
    columns: list[str] = []
    batches: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.With):
            for item in node.items:
                table = _call_argument(item.context_expr, "batch_alter_table", 0)
                if table is not None and isinstance(item.optional_vars, ast.Name):
                    batches[item.optional_vars.id] = table
    for node in ast.walk(ast.parse(source)):
        if (table := _call_argument(node, "drop_table", 0)) is not None:
            tables.append(table)
        elif isinstance(node, ast.Call) and _method(node) == "drop_column":
            receiver = node.func.value  # type: ignore[attr-defined]
            owner = batches.get(receiver.id) if isinstance(receiver, ast.Name) else None
            if owner is not None and (column := _call_argument(node, "drop_column", 0)):
                columns.append(f"{owner}.{column}")
            elif (table := _call_argument(node, "drop_column", 0)) is not None and (
                column := _call_argument(node, "drop_column", 1)
            ) is not None:
                columns.append(f"{table}.{column}")
    return tuple(tables), tuple(columns)


def _method(node: ast.Call) -> str | None:
    return node.func.attr if isinstance(node.func, ast.Attribute) else None


def _call_argument(node: ast.AST, method: str, index: int) -> str | None:
    """The ``index``-th argument of a ``<x>.<method>(...)`` call when it is a string literal."""
    if not isinstance(node, ast.Call) or _method(node) != method or len(node.args) <= index:
        return None
    argument = node.args[index]
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return argument.value
    return None


def describe(steps: list[Step]) -> list[str]:
    """The lines the prompt shows: one per revision, with what it drops."""
    lines = []
    for step in steps:
        drops = [f"table {t}" for t in step.tables] + [f"column {c}" for c in step.columns]
        what = f": drops {', '.join(drops)}" if drops else ""
        lines.append(f"  undo {step.revision} ({step.message}){what}")
    return lines
