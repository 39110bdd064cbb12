"""A fixed-window limiter: `count` hits per `window_s`, counted per key in a `CounterStore`.

Fixed windows are exact with one atomic increment per hit (the store returns the new count), which
is what makes the limit hold across many API processes sharing a store. The cost is a possible
burst of up to 2x the limit across a window boundary, acceptable for abuse protection."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Limit:
    count: int
    window_s: int = 60


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    """Seconds until the window ends (and the count starts over)."""

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_s)
        return headers


class CounterStore(Protocol):
    def increment(self, key: str, window_start: datetime, expires_at: datetime) -> int:
        """Add one to the counter of (key, window_start), creating it at 1; returns the new count."""
        ...


def window_start(now: datetime, window_s: int) -> datetime:
    elapsed = math.floor((now - EPOCH).total_seconds())
    return EPOCH + timedelta(seconds=elapsed - elapsed % window_s)


class RateLimiter:
    def __init__(self, store: CounterStore) -> None:
        self.store = store

    def hit(self, key: str, limit: Limit, now: datetime | None = None) -> Decision:
        """Count one hit on `key` and say whether it is within `limit`. Hits over the limit are
        counted too, so hammering does not open a gap."""
        now = now or datetime.now(UTC)
        start = window_start(now, limit.window_s)
        end = start + timedelta(seconds=limit.window_s)
        count = self.store.increment(f"{key}:{limit.window_s}", start, end)
        reset_s = max(1, math.ceil((end - now).total_seconds()))
        return Decision(count <= limit.count, limit.count, max(0, limit.count - count), reset_s)
