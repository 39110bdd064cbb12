"""Facts worked out once per workflow version and process: a version never changes once saved, and
the node registry is fixed for the life of the process, so its lane, credit estimate or plan can be
kept. Bounded: when full, it starts over (the facts are cheap to work out again)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

Fact = TypeVar("Fact")


class VersionMemo(Generic[Fact]):
    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._facts: dict[tuple[uuid.UUID, int], Fact] = {}

    def get(self, workflow_id: uuid.UUID, version: int) -> Fact | None:
        return self._facts.get((workflow_id, version))

    def get_or_compute(self, workflow_id: uuid.UUID, version: int, compute: Callable[[], Fact]) -> Fact:
        """The kept fact, else `compute()`'s, kept. Nothing is kept when `compute` raises."""
        key = (workflow_id, version)
        found = self._facts.get(key)
        if found is None:
            found = compute()
            if len(self._facts) >= self.max_entries:
                self._facts.clear()
            self._facts[key] = found
        return found

    def __len__(self) -> int:
        return len(self._facts)
