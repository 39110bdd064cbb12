"""What routes share across requests: the database engine (built on first use), the dispatcher,
and the live-event notifier. The dev process and tests hand in their own."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from api.identity_cache import IdentityCache
    from shared.queue import Dispatcher
    from shared.settings import Settings


class EventNotifier:
    """Wakes SSE streams and long-polls when an execution writes events (local mode); in aws
    mode nothing calls `notify` and waiters fall back to polling the database."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._versions: dict[str, int] = {}

    def notify(self, execution_id: str) -> None:
        with self._condition:
            self._versions[execution_id] = self._versions.get(execution_id, 0) + 1
            self._condition.notify_all()

    def version(self, execution_id: str) -> int:
        with self._condition:
            return self._versions.get(execution_id, 0)

    def wait(self, execution_id: str, seen: int, timeout: float) -> int:
        with self._condition:
            self._condition.wait_for(lambda: self._versions.get(execution_id, 0) != seen, timeout)
            return self._versions.get(execution_id, 0)


@dataclass
class AppServices:
    settings: Settings
    dispatcher: Dispatcher | None = None
    notifier: EventNotifier = field(default_factory=EventNotifier)
    _engine: Engine | None = None
    _autocommit_engine: Engine | None = None
    _identity_cache: IdentityCache | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from shared.db.session import get_engine

            self._engine = get_engine(self.settings.resolved_database_url)
        return self._engine

    @property
    def autocommit_engine(self) -> Engine:
        """The engine's autocommit twin, sharing its pool: for requests that only read
        (`shared/db/read_only.py`) and for single statements that need no transaction."""
        if self._autocommit_engine is None:
            from shared.db.read_only import autocommit_engine

            self._autocommit_engine = autocommit_engine(self.engine)
        return self._autocommit_engine

    @property
    def identity_cache(self) -> IdentityCache:
        if self._identity_cache is None:
            from api.identity_cache import IdentityCache

            self._identity_cache = IdentityCache(self.settings.api_key_cache_s)
        return self._identity_cache
