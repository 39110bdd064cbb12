"""What the API, the tick and the reaper dispatch through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shared.queue.messages import QueueMessage


@dataclass
class DispatchResult:
    sent: list[QueueMessage] = field(default_factory=list)
    failed: list[QueueMessage] = field(default_factory=list)


class Dispatcher(Protocol):
    def dispatch(self, messages: Sequence[QueueMessage]) -> DispatchResult:
        """Send each message to its lane's queue; report which were sent and which failed."""
        ...
