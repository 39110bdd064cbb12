"""How long to wait before the next attempt of a failed step."""

from __future__ import annotations

import random

from shared.engine.definition import RetryPolicy


def backoff_delay(policy: RetryPolicy, failed_attempt: int, *, cap_s: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: the ceiling doubles per attempt (`backoff_s`, 2x, 4x, ...)
    up to the cap, and the wait is drawn from the upper half of it, so retries of many steps
    spread out but never come back sooner than half the ceiling."""
    ceiling = policy.backoff_s * (2 ** (failed_attempt - 1))
    ceiling = min(ceiling, cap_s, policy.max_backoff_s if policy.max_backoff_s is not None else cap_s)
    return ceiling * (rng or random).uniform(0.5, 1.0)
