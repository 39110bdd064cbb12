"""Runs, executions, their steps and events, webhooks and statistics in and out.

Inputs must be plain JSON (no NaN or Infinity, no unpaired surrogates) and are capped in size, so
nothing reaches the database, or comes back out of it, in a shape that fails there.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field

from api.schemas.common import Page

MAX_INPUT_BYTES = 1024 * 1024

Trigger = Literal["manual", "schedule", "webhook", "api"]
CallerTrigger = Literal["api", "manual"]
Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class InputRejected(ValueError):
    pass


def plain_json_size(value: Any) -> int:
    """The UTF-8 size of `value` as JSON; raises InputRejected when it is not plain JSON."""
    try:
        return len(json.dumps(value, allow_nan=False, ensure_ascii=False).encode())
    except (ValueError, TypeError, RecursionError):
        raise InputRejected(
            "must be plain JSON (no NaN or Infinity, no unpaired surrogates, nested at most a few hundred levels)"
        ) from None


def _plain_input(value: dict[str, Any]) -> dict[str, Any]:
    size = plain_json_size(value)
    if size > MAX_INPUT_BYTES:
        raise ValueError(f"is {size} bytes; the limit is {MAX_INPUT_BYTES}")
    return value


RunInput = Annotated[
    dict[str, Any],
    AfterValidator(_plain_input),
    Field(description="The run's `input` (read by templates as `{{ input.x }}`); a JSON object up to 1 MiB."),
]


def _milliseconds(started_at: datetime | None, finished_at: datetime | None) -> int | None:
    if started_at is None or finished_at is None:
        return None
    return max(0, round((finished_at - started_at).total_seconds() * 1000))


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: RunInput = Field(default_factory=dict)
    trigger: CallerTrigger = "api"


class RunAccepted(BaseModel):
    execution_id: uuid.UUID
    status: Status
    lane: str


class FollowUpCreate(BaseModel):
    """Retry or resume: who asked for it."""

    model_config = ConfigDict(extra="forbid")

    trigger: CallerTrigger = "api"


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: RunInput = Field(default_factory=dict)


class PreviewIssue(BaseModel):
    field: str | None
    node: str | None
    message: str


class PreviewNode(BaseModel):
    id: str
    type: str
    lane: str
    cost: int


class Preview(BaseModel):
    valid: bool
    issues: list[PreviewIssue]
    lane: str | None = Field(description="The queue a run would go to; null when the definition is invalid.")
    credit_estimate: int | None = Field(description="Running every node once; for_each nodes count once.")
    nodes: list[PreviewNode]


class WebhookCreated(BaseModel):
    url: str = Field(description="Call it with any method; the token is part of it.")
    token: str = Field(description="Shown once; only its SHA-256 is stored.")


class WebhookAccepted(BaseModel):
    execution_id: uuid.UUID


class ExecutionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    workflow_id: uuid.UUID
    version: int
    trigger: Trigger
    status: Status
    attempt: int
    lane: str
    credits_used: int
    error: str | None
    cancel_requested: bool
    parent_execution_id: uuid.UUID | None
    queued_at: datetime
    dispatched_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None

    @computed_field
    @property
    def duration_ms(self) -> int | None:
        return _milliseconds(self.started_at, self.finished_at)


class StepRunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    node_id: str
    node_type: str
    status: str
    attempt: int
    input: Any | None
    output: Any | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    credits: int

    @computed_field
    @property
    def duration_ms(self) -> int | None:
        return _milliseconds(self.started_at, self.finished_at)


class ExecutionDetail(ExecutionPublic):
    input: dict[str, Any]
    output: Any | None
    steps: list[StepRunPublic] = Field(description="In the order they started; steps not started come last.")


ExecutionsPage = Page[ExecutionPublic]


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    type: str
    payload: dict[str, Any]
    at: datetime


class EventsPage(BaseModel):
    events: list[EventPublic]
    next_after: int = Field(description="Pass as `after` to get what comes next.")
    finished: bool = Field(description="The execution has finished and every event has been returned.")


class DayFigures(BaseModel):
    day: date
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    credits: int = 0


class WorkflowStats(BaseModel):
    workflow_id: uuid.UUID
    since: datetime = Field(description="Start of the window: midnight UTC 29 days ago (30 calendar days).")
    runs: int
    succeeded: int
    failed: int
    success_rate: float | None = Field(description="succeeded / (succeeded + failed); null before any verdict.")
    p50_duration_ms: int | None
    p95_duration_ms: int | None
    credits: int
    by_day: list[DayFigures]


class Usage(BaseModel):
    credits_balance: int
    credits_used_30d: int
    runs_30d: int
    since: datetime
    by_day: list[DayFigures]
