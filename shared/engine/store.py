"""The storage the runner needs, as a small interface; `shared.db.execution_store` implements it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class ExecutionRecord:
    id: uuid.UUID
    workflow_id: uuid.UUID
    owner_id: uuid.UUID
    version: int
    definition: dict[str, Any]
    input: dict[str, Any]
    status: str
    attempt: int
    trigger: str
    started_at: datetime | None


@dataclass(frozen=True)
class StepRecord:
    node_id: str
    node_type: str
    status: str
    attempt: int
    output: Any
    error: str | None
    credits: int


@dataclass(frozen=True)
class ClaimedExecution:
    """What a run starts from, read by the claim itself: the record, the last event's `seq` and
    the steps of earlier attempts (both empty for a first attempt)."""

    record: ExecutionRecord
    last_seq: int = 0
    steps: dict[str, StepRecord] = field(default_factory=dict)


@dataclass
class StepWrite:
    node_id: str
    node_type: str
    status: str
    attempt: int
    input: Any = None
    output: Any = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    credits: int = 0


@dataclass(frozen=True)
class EventWrite:
    seq: int
    type: str
    payload: dict[str, Any]
    at: datetime


@dataclass
class ExecutionWrite:
    status: str
    output: Any = None
    error: str | None = None
    credits_used: int = 0
    finished_at: datetime | None = None


@dataclass
class WriteBatch:
    steps: list[StepWrite] = field(default_factory=list)
    events: list[EventWrite] = field(default_factory=list)
    execution: ExecutionWrite | None = None


class ExecutionStore(Protocol):
    def load(self, execution_id: uuid.UUID) -> ExecutionRecord: ...

    def claim(self, execution_id: uuid.UUID, worker_id: str) -> bool:
        """`queued` -> `running` as one conditional update; False when someone else has it."""
        ...

    def claim_and_load(self, execution_id: uuid.UUID, worker_id: str) -> ClaimedExecution | None:
        """`claim`, and what `load`, `last_seq` and `step_records` would read, in one go; None when
        someone else has it."""
        ...

    def step_records(self, execution_id: uuid.UUID) -> dict[str, StepRecord]: ...

    def last_seq(self, execution_id: uuid.UUID) -> int: ...

    def write(self, execution_id: uuid.UUID, batch: WriteBatch) -> bool:
        """Persist steps, events and the execution's state in one transaction, and beat the
        heartbeat. Returns whether a cancel has been requested."""
        ...
