"""The queue body of ARCHITECTURE.md: `{"execution_id": "<uuid>", "attempt": <int>}`."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class QueueMessage:
    execution_id: uuid.UUID
    attempt: int = 1
    lane: str = "light"
    """Which queue it goes to; not part of the body."""

    def body(self) -> str:
        return json.dumps({"execution_id": str(self.execution_id), "attempt": self.attempt})

    @classmethod
    def from_body(cls, body: str, lane: str = "light") -> QueueMessage:
        """Raises ValueError for anything that is not a well-formed message."""
        try:
            data = json.loads(body)
            return cls(uuid.UUID(str(data["execution_id"])), int(data.get("attempt", 1)), lane)
        except (TypeError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a queue message: {body[:200]!r}") from exc
