"""Fixed-window rate limits over a counter store: in memory (local mode) or the database (aws mode)."""

from shared.ratelimit.database import DatabaseCounterStore
from shared.ratelimit.limiter import CounterStore, Decision, Limit, RateLimiter
from shared.ratelimit.memory import MemoryCounterStore

__all__ = ["CounterStore", "DatabaseCounterStore", "Decision", "Limit", "MemoryCounterStore", "RateLimiter"]
