"""Counters in the `rate_limit_counters` table, shared by every API process (aws mode).

Why the database and not DynamoDB: the database is already there and already billed while the API
serves requests; a request that is rate limited is a request that reaches the database anyway.
When nobody uses the system, Aurora Serverless v2 pauses and the counters cost nothing, the same
as an on-demand DynamoDB table, without another table, IAM policy and client in every Lambda.
DynamoDB would take load off the database at very high request rates; a DynamoDB store can follow
behind the same `CounterStore` interface (`UpdateItem ADD count :1` with `ReturnValues=UPDATED_NEW`
and a TTL attribute).

Each hit is one atomic statement: `INSERT ... ON CONFLICT (key, window_start) DO UPDATE SET
count = count + 1 RETURNING count` (PostgreSQL and SQLite >= 3.35), so concurrent processes never
lose an increment. Expired rows are deleted opportunistically, at most once per `cleanup_every_s`
per process."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from shared.db.models import RateLimitCounter

counters = RateLimitCounter.__table__


class DatabaseCounterStore:
    def __init__(self, engine: Engine, cleanup_every_s: float = 60.0) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._cleanup_every_s = cleanup_every_s
        self._next_cleanup = time.monotonic() + cleanup_every_s
        self._lock = threading.Lock()

    def increment(self, key: str, window_start: datetime, expires_at: datetime) -> int:
        statement = self._insert(counters).values(key=key, window_start=window_start, count=1, expires_at=expires_at)
        statement = statement.on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"count": counters.c.count + 1}
        ).returning(counters.c.count)
        with self.engine.begin() as conn:
            count = conn.execute(statement).scalar_one()
        if self._cleanup_due():
            self.delete_expired()
        return count

    def _cleanup_due(self) -> bool:
        with self._lock:
            if time.monotonic() < self._next_cleanup:
                return False
            self._next_cleanup = time.monotonic() + self._cleanup_every_s
            return True

    def delete_expired(self, now: datetime | None = None) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(counters.delete().where(counters.c.expires_at <= (now or datetime.now(UTC))))
            return result.rowcount
