"""The local queue: a thread-safe FIFO per lane in the dev process (both lanes run locally)."""

from __future__ import annotations

import queue
from collections.abc import Sequence

from shared.queue.dispatcher import DispatchResult
from shared.queue.messages import QueueMessage


class InProcessQueue:
    stamps_on_insert = True
    """Its messages live and die with this process, whose next start puts its queued executions
    back in the outbox: an execution may be written already stamped `dispatched_at`, and put on the
    queue after its commit (see `api.webhook_known`)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[QueueMessage] = queue.Queue()

    def dispatch(self, messages: Sequence[QueueMessage]) -> DispatchResult:
        for message in messages:
            self._queue.put(message)
        return DispatchResult(sent=list(messages))

    def get(self, timeout: float | None = None) -> QueueMessage | None:
        """The next message, or None after `timeout` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def qsize(self) -> int:
        return self._queue.qsize()
