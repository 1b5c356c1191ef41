"""Figures a reliability test records (merged across tests and xdist workers)."""

from __future__ import annotations


class FigureBook:
    """Counts per section, summed (or maximised for ``max_*`` keys) across tests and workers."""

    def __init__(self) -> None:
        self.sections: dict[str, dict[str, float]] = {}

    def add(self, section: str, **values: float) -> None:
        bucket = self.sections.setdefault(section, {})
        for key, value in values.items():
            if key.startswith("max_"):
                bucket[key] = max(bucket.get(key, value), value)
            else:
                bucket[key] = bucket.get(key, 0) + value

    def merge(self, sections: dict[str, dict[str, float]]) -> None:
        for section, values in sections.items():
            self.add(section, **values)
