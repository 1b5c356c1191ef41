"""Generate the API reference (docs/api/*.md) from the public modules' docstrings.

Usage: python scripts/gen_api_docs.py [--check]

Each page documents one public module: the members its ``__all__`` exports, with signatures,
docstrings, the public methods of classes and the fields of Pydantic records. ``--check``
exits with 1 when docs/api differs from what the docstrings say (the test suite runs it).
"""

from __future__ import annotations

import argparse
import enum
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "api"

MODULES: list[tuple[str, str]] = [
    ("project_architect_db", "The package: `Database`, `run`, settings and the error classes."),
    ("project_architect_db.exceptions", "The error tree: every error is a subclass of the root."),
    ("project_architect_db.repositories", "Async repositories, pages, the unit of work, changes."),
    ("project_architect_db.queries", "Filter objects, sorting and pagination cursors."),
    ("project_architect_db.queries.analytics", "The analytics builder and its expressions."),
    ("project_architect_db.search", "Full-text search (BM25) over documents and messages."),
    ("project_architect_db.schemas", "Pydantic v2 records: `*Create`, `*Update`, `*Read`."),
    ("project_architect_db.models", "SQLAlchemy 2 models of the four aggregates."),
    ("project_architect_db.migration", "Alembic inside the package: `MigrationManager`."),
    ("project_architect_db.datagen", "Realistic, seeded datasets as Arrow tables (seed, demo)."),
    ("project_architect_db.maintenance", "Compaction of a closed database file (`db-vacuum`)."),
    ("project_architect_db.testing", "Test databases for applications."),
    ("project_architect_db.testing.factories", "Deterministic factories and Arrow datasets."),
    ("project_architect_db.selfbench", "Self-benchmark run by `project-architect-db benchmark`."),
]

_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def _clean(text: str) -> str:
    return _ADDRESS.sub("", text)


_SECTION = re.compile(r"^(Args|Arguments|Attributes|Raises|Returns|Yields|Examples?|Note|Notes):$")


def _markdown(doc: str) -> str:
    """Google-style sections as Markdown: bold headings, lists, examples in pycon fences."""
    out: list[str] = []
    lines = doc.splitlines()
    i = 0
    while i < len(lines):
        match = _SECTION.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        heading = match.group(1)
        body: list[str] = []
        i += 1
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
            body.append(lines[i][4:] if lines[i].startswith("    ") else lines[i].strip())
            i += 1
        while body and not body[-1].strip():
            body.pop()
        out.append(f"**{heading}**")
        out.append("")
        if heading.startswith("Example") and any(line.startswith(">>>") for line in body):
            out += ["```pycon", *body, "```"]
        elif heading in ("Returns", "Yields", "Note", "Notes"):
            out += [" ".join(line.strip() for line in body)]
        else:
            items: list[str] = []
            for line in body:
                if line.startswith(" ") and items:
                    items[-1] += " " + line.strip()
                elif line.strip():
                    name, colon, text = line.partition(":")
                    items.append(f"- `{name.strip()}`:{text}" if colon else f"- {line.strip()}")
            out += items
        out.append("")
    return "\n".join(out).strip()


def _doc(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return _markdown(doc.strip())


def _signature(obj: Any) -> str:
    try:
        return _clean(str(inspect.signature(obj)))
    except (TypeError, ValueError):
        return "(...)"


def _is_pydantic(cls: type) -> bool:
    return hasattr(cls, "model_fields") and hasattr(cls, "model_config")


def _fields(cls: Any) -> list[str]:
    lines = ["| field | type | default | description |", "| --- | --- | --- | --- |"]
    for name, info in cls.model_fields.items():
        annotation = getattr(info.annotation, "__name__", None) or str(info.annotation)
        annotation = _clean(annotation.replace("typing.", "")).replace("|", "\\|")
        if info.is_required():
            default = "required"
        elif info.default_factory is not None:
            default = f"`{getattr(info.default_factory, '__name__', 'factory')}()`"
        else:
            default = f"`{info.default!r}`"
        alias = f" (alias `{info.alias}`)" if info.alias and info.alias != name else ""
        description = (info.description or "").replace("\n", " ").replace("|", "\\|")
        lines.append(f"| `{name}`{alias} | `{annotation}` | {default} | {description} |")
    return lines


def _undocumented_mixin(base: type) -> bool:
    """A base class from a private module that no package exports (so has no page of its own)."""
    module = getattr(base, "__module__", "")
    if not module.startswith("project_architect_db.") or "._" not in module:
        return False
    package = importlib.import_module(module.split("._", 1)[0])
    return base.__name__ not in getattr(package, "__all__", ())


def _own_members(cls: type) -> dict[str, Any]:
    """The class's members, with those of the undocumented mixins it derives from directly.

    ``AsyncRepository`` takes its reads and bulk operations from ``repositories._reads``,
    ``repositories._bulk`` and ``repositories._bulk_reads``, which have no page of their own:
    their methods belong on its page.
    """
    members: dict[str, Any] = {}
    for base in reversed(cls.__bases__):
        if _undocumented_mixin(base):
            members.update(vars(base))
    members.update(vars(cls))
    return members


def _methods(cls: type) -> list[str]:
    out: list[str] = []
    for name, member in sorted(_own_members(cls).items()):
        if name.startswith("_"):
            continue
        target = member.fget if isinstance(member, property) else member
        if isinstance(member, classmethod | staticmethod):
            target = member.__func__
        if not callable(target) or not _doc(target):
            continue
        kind = "property" if isinstance(member, property) else "method"
        if kind == "property":
            out += [f"#### `{cls.__name__}.{name}` (property)", "", _doc(target), ""]
            continue
        is_async = inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)
        prefix = "async " if is_async else ""
        out += [
            f"#### `{prefix}{cls.__name__}.{name}{_signature(target)}`",
            "",
            _doc(target),
            "",
        ]
    return out


def _member(name: str, obj: Any) -> list[str]:
    if inspect.isclass(obj):
        bases = [
            base.__name__ for base in obj.__bases__ if base.__name__ not in ("object", "Generic")
        ]
        header = f"### class `{name}`" + (f"({', '.join(bases)})" if bases else "")
        lines = [header, "", _doc(obj), ""]
        if issubclass(obj, enum.Enum):
            lines += ["Values: " + ", ".join(f"`{item.value}`" for item in obj), ""]
        elif _is_pydantic(obj):
            lines += [*_fields(obj), ""]
        elif not issubclass(obj, BaseException):
            lines += _methods(obj)
        return lines
    if callable(obj):
        prefix = "async " if inspect.iscoroutinefunction(obj) else ""
        return [f"### `{prefix}{name}{_signature(obj)}`", "", _doc(obj), ""]
    if isinstance(obj, int | float | str | bool):
        return [f"### `{name}`", "", f"A constant: `{obj!r}`", ""]
    return [f"### `{name}`", "", f"A constant (`{type(obj).__name__}`).", ""]


def _exports(module: Any) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        return sorted(n for n in vars(module) if not n.startswith("_"))
    return sorted(names, key=str.lower)


def page(module_name: str, summary: str) -> str:
    """The Markdown page of one module."""
    module = importlib.import_module(module_name)
    lines = [
        f"# `{module_name}`",
        "",
        "<!-- generated by scripts/gen_api_docs.py from the docstrings: do not edit -->",
        "",
        summary,
        "",
        _doc(module),
        "",
    ]
    for name in _exports(module):
        if name == "sql":  # sqlalchemy.text, re-exported: documented by SQLAlchemy
            lines += ["### `sql(text)`", "", "`sqlalchemy.text`, re-exported.", ""]
            continue
        lines += _member(name, getattr(module, name))
    return "\n".join(lines).rstrip() + "\n"


def render() -> dict[str, str]:
    """Every page, by file name, and the index."""
    pages: dict[str, str] = {}
    index = [
        "# API reference",
        "",
        "<!-- generated by scripts/gen_api_docs.py from the docstrings: do not edit -->",
        "",
        "Generated from the docstrings of the public modules "
        "(`python scripts/gen_api_docs.py`; the test suite checks it is current).",
        "",
    ]
    for module_name, summary in MODULES:
        file_name = f"{module_name}.md"
        pages[file_name] = page(module_name, summary)
        index.append(f"- [`{module_name}`]({file_name}): {summary}")
    pages["index.md"] = "\n".join(index) + "\n"
    return pages


def main() -> int:
    """Write docs/api, or with ``--check`` report whether it is current."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--out", type=Path, default=OUT, help="the folder (default docs/api)")
    args = parser.parse_args()
    out: Path = args.out
    pages = render()
    if args.check:
        stale = [
            name
            for name, text in pages.items()
            if not (out / name).exists() or (out / name).read_text(encoding="utf-8") != text
        ]
        extra = sorted(p.name for p in out.glob("*.md") if p.name not in pages)
        if stale or extra:
            print(f"{out} is out of date: {stale + extra}; run python scripts/gen_api_docs.py")
            return 1
        print(f"{out} is current")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.md"):
        if old.name not in pages:
            old.unlink()
    for name, text in pages.items():
        (out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(pages)} pages to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
