"""Documents, and the history rows of their earlier versions."""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import pyarrow as pa

from project_architect_db.datagen import _text as text
from project_architect_db.datagen._columns import _digests, _json, _Masked, _table
from project_architect_db.datagen._context import _Context
from project_architect_db.datagen._draws import (
    _US_PER_DAY,
    _US_PER_S,
    _assign_ids,
    _codes,
    _lognormal_us,
)

_BODY_VARIANTS: Final = 8  # at most, document bodies per (stack, document type)
_PROJECT: Final = "@@project@@"  # placeholders in pooled document bodies
_TITLE: Final = "@@title@@"


class _Documents(_Context):
    """Generates documents and ``document_versions``, each version a longer revision."""

    def _authors(self) -> list[str]:
        rng = self.shared_rng("authors")
        return [text.person_name(rng) for _ in range(200)]

    def _documents(self, per_project: int, versions: int) -> tuple[pa.Table, pa.Table]:
        gen, rng = self.gen["documents"], self.rng("documents")
        P, n = self.project_count, versions + 1
        doc_project = np.repeat(np.arange(P, dtype=np.int64), per_project)
        D = len(doc_project)
        slot = np.tile(np.arange(per_project, dtype=np.int64), P)
        # Slot 0 is the README, slot 1 the architecture overview, the rest drawn.
        drawn_types = ("spec", "adr", "note", "other", "architecture", "readme")
        drawn = _codes(gen, (30, 30, 20, 10, 6, 4), D)
        doc_type = [
            "readme" if s == 0 else "architecture" if s == 1 else drawn_types[d]
            for s, d in zip(slot.tolist(), drawn.tolist(), strict=True)
        ]
        # Revision instants: t_1 (creation) ... t_n (current version), fitted before now.
        start = self.project_created[doc_project] + gen.integers(
            0, 3 * _US_PER_DAY, size=D, endpoint=True
        )
        gaps = _lognormal_us(gen, 3 * 86_400.0, 1.0, 60 * 86_400.0, (D, n))
        gaps[:, 0] = 0
        offset = np.cumsum(gaps, axis=1)
        room = np.maximum(self.now_us - _US_PER_S - start, 1)
        scale = np.minimum(1.0, room / np.maximum(offset[:, -1], 1))
        revised = start[:, None] + (offset * scale[:, None]).astype(np.int64) + np.arange(n)
        dates = np.datetime_as_string(revised.astype("datetime64[us]"), unit="D").tolist()
        authors = self.pooled("authors", self._authors)
        author = gen.integers(0, len(authors), size=(D, n)).tolist()
        status = _codes(gen, (20, 15, 65), D).tolist()

        # Bodies come from a pool per (stack, type), written with placeholders for the
        # project's name and the document's title, filled in per document.
        # (one pool for the whole dataset: later batches reuse the bodies earlier ones wrote)
        body_rng = self.pooled("document-body-rng", lambda: self.shared_rng("document-bodies"))
        bodies: dict[tuple[int, str], list[list[str]]] = self.pooled("document-bodies", dict)
        variants = min(_BODY_VARIANTS, max(2, self.shared.documents // 5000))
        variant = gen.integers(0, variants, size=D).tolist()

        doc: dict[str, list[Any]] = {k: [] for k in ("path", "title", "content", "metadata")}
        ver: dict[str, list[Any]] = {k: [] for k in ("title", "content")}
        project_of = doc_project.tolist()
        slots = slot.tolist()
        stack_of = self.project_stack.tolist()
        content = ""
        for d in range(D):
            p = project_of[d]
            stack = self.stacks[stack_of[p]]
            path, title = text.document_path_and_title(rng, doc_type[d], slots[d], stack)
            key = (stack_of[p], doc_type[d])
            if key not in bodies:
                bodies[key] = [
                    text.document_body(body_rng, doc_type[d], _TITLE, _PROJECT, stack)
                    for _ in range(variants)
                ]
            sections = bodies[key][variant[d]]
            name = self.project_names[p]
            for k in range(n):
                keep = max(1, math.ceil(len(sections) * (k + 1) / n))
                body = "\n\n".join(sections[:keep]).replace(_PROJECT, name).replace(_TITLE, title)
                content = f"{body}\n\n_Last edited {dates[d][k]} by {authors[author[d][k]]}._\n"
                if k + 1 < n:
                    ver["title"].append(title)
                    ver["content"].append(content)
            doc["path"].append(path)
            doc["title"].append(title)
            doc["content"].append(content)
            doc["metadata"].append(
                _json(
                    {
                        "author": authors[author[d][0]],
                        "status": ("draft", "in-review", "approved")[status[d]],
                    }
                )
            )
        doc_hash, doc_size = _digests(doc["content"])
        ver_hash, ver_size = _digests(ver["content"])
        doc_ids = _assign_ids(self.id_gen, revised[:, 0])
        documents = _table(
            "documents",
            {
                "id": doc_ids.halves,
                "project_id": self.project_ids[doc_project],
                "path": doc["path"],
                "title": doc["title"],
                "doc_type": doc_type,
                "content": doc["content"],
                "content_hash": doc_hash,
                "size_bytes": doc_size,
                "metadata": doc["metadata"],
                "created_at": revised[:, 0],
                "updated_at": revised[:, -1],
                "version": np.full(D, n, dtype=np.int32),
            },
            doc_ids.order,
        )
        # History row for version k (1..n-1) is written when version k+1 replaces it.
        ver_doc = np.repeat(np.arange(D, dtype=np.int64), versions)
        ver_created = revised[:, 1:].ravel()
        # version k's predecessor is version k - 1 (created at revised[:, k - 1]); none for k = 1
        ver_previous = revised[:, :-1].ravel()
        first = np.tile(np.arange(1, n, dtype=np.int32) == 1, D)
        ver_ids = _assign_ids(self.id_gen, ver_created)
        document_versions = _table(
            "document_versions",
            {
                "id": ver_ids.halves,
                "document_id": doc_ids.halves[ver_doc],
                "project_id": self.project_ids[doc_project[ver_doc]],
                "version": np.tile(np.arange(1, n, dtype=np.int32), D),
                "title": ver["title"],
                "content": ver["content"],
                "content_hash": ver_hash,
                "size_bytes": ver_size,
                "created_at": ver_created,
                "previous_created_at": _Masked(ver_previous, first),
            },
            ver_ids.order,
        )
        return documents, document_versions
