"""Recently authenticated API keys, so that a burst of reads with one key costs one database
lookup every `api_key_cache_s` seconds instead of one per request.

Only reads (GET, HEAD) are answered from here: a write always looks its key up afresh, so a revoked
key or an ended trial can never change anything. Revoking a key, claiming a guest or deleting an
account forgets the owner's entries in this process at once; another process (another Lambda
instance) may still answer reads with a revoked key for up to `api_key_cache_s` seconds. Routes that
show the credit balance read it afresh, since runs change it.

Entries are detached copies: a route gets its own copy merged into its session, so nothing a route
does to its `User` reaches the cache or another request."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached

if TYPE_CHECKING:
    from sqlmodel import Session

    from shared.db.models import ApiKey, User

Row = TypeVar("Row")


def _detached_copy(row: Row) -> Row:
    """A clean, detached copy of a loaded row: `Session.merge(copy, load=False)` attaches a copy of
    it to a session without a query."""
    mapper = inspect(type(row))
    copy = type(row)(**{attr.key: getattr(row, attr.key) for attr in mapper.column_attrs})
    make_transient_to_detached(copy)
    return copy


class IdentityCache:
    def __init__(self, ttl_s: float, max_entries: int = 4096, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, User, ApiKey]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def get(self, key_hash: str, session: Session) -> tuple[User, ApiKey] | None:
        """The key's owner, merged into `session` without a query, and the key; None when not
        cached or expired."""
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        stored_at, user, api_key = entry
        if self.clock() - stored_at > self.ttl_s:
            self._entries.pop(key_hash, None)
            return None
        return session.merge(user, load=False), api_key

    def put(self, key_hash: str, user: User, api_key: ApiKey) -> None:
        if not self.enabled:
            return
        entry = (self.clock(), _detached_copy(user), _detached_copy(api_key))
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key_hash] = entry

    def forget_key(self, key_hash: str) -> None:
        self._entries.pop(key_hash, None)

    def forget_user(self, user_id: uuid.UUID) -> None:
        with self._lock:
            for key_hash in [h for h, (_, user, _) in self._entries.items() if user.id == user_id]:
                del self._entries[key_hash]
