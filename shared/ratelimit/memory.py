"""Counters in this process's memory: the local mode's single API process needs nothing more."""

from __future__ import annotations

import threading
from datetime import UTC, datetime


class MemoryCounterStore:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._counts: dict[tuple[str, datetime], tuple[int, datetime]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def increment(self, key: str, window_start: datetime, expires_at: datetime) -> int:
        with self._lock:
            if len(self._counts) >= self._max_keys:
                self._drop_expired(datetime.now(UTC))
            count = self._counts.get((key, window_start), (0, expires_at))[0] + 1
            self._counts[(key, window_start)] = (count, expires_at)
            return count

    def _drop_expired(self, now: datetime) -> None:
        for slot in [slot for slot, (_, expires_at) in self._counts.items() if expires_at <= now]:
            del self._counts[slot]
