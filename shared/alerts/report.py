"""What a failure alert says, and the claim that makes it go out once per failed execution.

The claim is a `log` event appended to the finished execution's stream, written in the transaction
that checked there was none and that first locked the execution's row, so a second claimant waits
and then finds the claim. Events are unique per (execution, seq) besides.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shared.db.models import Execution, ExecutionEvent, StepRun, Workflow

ALERT_EVENT_KIND = "failure_alert"
"""`payload.alert` of the claiming `log` event."""

executions, workflows, steps, events = (
    Execution.__table__,
    Workflow.__table__,
    StepRun.__table__,
    ExecutionEvent.__table__,
)


@dataclass(frozen=True)
class FailureReport:
    workflow_id: str
    workflow_name: str
    execution_id: str
    trigger: str
    error: str | None
    failed_node_id: str | None
    failed_node_type: str | None
    failed_step_error: str | None
    finished_at: str | None
    run_url: str
    api_url: str

    def as_json(self) -> dict[str, Any]:
        """The webhook body."""
        return {
            "event": "execution.failed",
            "workflow": {"id": self.workflow_id, "name": self.workflow_name},
            "execution": {
                "id": self.execution_id,
                "trigger": self.trigger,
                "status": "failed",
                "error": self.error,
                "finished_at": self.finished_at,
                "url": self.run_url,
                "api_url": self.api_url,
            },
            "failed_step": None
            if self.failed_node_id is None
            else {"node_id": self.failed_node_id, "node_type": self.failed_node_type, "error": self.failed_step_error},
        }

    def subject(self) -> str:
        name = " ".join(self.workflow_name.split())[:150]
        return f"Workflow failed: {name}"

    def text(self) -> str:
        lines = [f"The workflow {self.workflow_name!r} failed (run {self.execution_id}, trigger {self.trigger}).", ""]
        if self.failed_node_id is not None:
            lines += [
                f"Failed step: {self.failed_node_id} ({self.failed_node_type})",
                f"Step error: {self.failed_step_error}",
            ]
        lines += [f"Error: {self.error}", f"Finished: {self.finished_at}", "", f"See the run: {self.run_url}"]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class AlertClaim:
    owner_id: uuid.UUID
    targets: dict[str, str]
    """`notify_on_failure`: email, webhook_url, smtp_credential."""
    report: FailureReport
    seq: int


def claim_alert(engine: Engine, execution_id: uuid.UUID, public_url: str) -> AlertClaim | None:
    """The alert to send for a failed execution whose workflow asks for one, claimed; None when the
    execution did not fail, its workflow has no alerts, or the alert was already claimed."""
    try:
        with engine.begin() as conn:
            found = _claim(conn, execution_id, public_url)
    except IntegrityError:
        return None  # another worker appended the claim first
    return found


def _claim(conn: sa.Connection, execution_id: uuid.UUID, public_url: str) -> AlertClaim | None:
    # A no-op write first: it takes the execution's row lock (PostgreSQL) or the write lock (SQLite, whose
    # transactions only begin at a write), so claimants queue here and each later one sees the claim.
    conn.execute(executions.update().where(executions.c.id == execution_id).values(worker_id=executions.c.worker_id))
    row = conn.execute(
        sa.select(
            executions.c.status,
            executions.c.owner_id,
            executions.c.workflow_id,
            executions.c.trigger,
            executions.c.error,
            executions.c.finished_at,
            workflows.c.name,
            workflows.c.notify_on_failure,
        )
        .join(workflows, workflows.c.id == executions.c.workflow_id)
        .where(executions.c.id == execution_id)
    ).first()
    if row is None or row.status != "failed" or not _targets(row.notify_on_failure):
        return None
    if _already_claimed(conn, execution_id):
        return None
    step = conn.execute(
        sa.select(steps.c.node_id, steps.c.node_type, steps.c.error)
        .where(steps.c.execution_id == execution_id, steps.c.status == "failed")
        .order_by(steps.c.finished_at.is_(None), steps.c.finished_at, steps.c.node_id)
        .limit(1)
    ).first()
    report = _report(row, execution_id, step, public_url)
    targets = _targets(row.notify_on_failure)
    seq = _append_claim(conn, execution_id, targets)
    return AlertClaim(row.owner_id, targets, report, seq)


def record_result(engine: Engine, execution_id: uuid.UUID, after_seq: int, outcomes: dict[str, str]) -> None:
    """A second `log` event saying how each channel fared (best effort)."""
    message = "failure alert: " + "; ".join(f"{channel} {outcome}" for channel, outcome in outcomes.items())
    payload = {"node_id": None, "level": "info", "message": message, "alert": "failure_alert_result", **outcomes}
    try:
        with engine.begin() as conn:
            conn.execute(events.insert().values(**_event_row(execution_id, after_seq + 1, payload)))
    except IntegrityError:
        pass  # someone appended meanwhile: the python log has the outcome too


def _targets(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    targets = {
        key: value[key] for key in ("email", "webhook_url", "smtp_credential") if isinstance(value.get(key), str)
    }
    return targets if targets.get("email") or targets.get("webhook_url") else {}


def _already_claimed(conn: sa.Connection, execution_id: uuid.UUID) -> bool:
    """Looks only after the last `run_finished`, where the claim goes."""
    mine = events.c.execution_id == execution_id
    finished = sa.select(sa.func.max(events.c.seq)).where(mine, events.c.type == "run_finished").scalar_subquery()
    found = conn.execute(
        sa.select(events.c.payload).where(mine, events.c.type == "log", events.c.seq > sa.func.coalesce(finished, 0))
    ).scalars()
    return any(isinstance(payload, dict) and payload.get("alert") == ALERT_EVENT_KIND for payload in found)


def _append_claim(conn: sa.Connection, execution_id: uuid.UUID, targets: dict[str, str]) -> int:
    last = conn.execute(sa.select(sa.func.max(events.c.seq)).where(events.c.execution_id == execution_id)).scalar()
    seq = (last or 0) + 1
    channels = [name for name in ("email", "webhook_url") if targets.get(name)]
    payload = {
        "node_id": None,
        "level": "info",
        "message": "sending the failure alert (" + ", ".join(channels) + ")",
        "alert": ALERT_EVENT_KIND,
    }
    conn.execute(events.insert().values(**_event_row(execution_id, seq, payload)))
    return seq


def _event_row(execution_id: uuid.UUID, seq: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "execution_id": execution_id,
        "seq": seq,
        "type": "log",
        "payload": payload,
        "at": datetime.now(UTC),
    }


def _report(row: Any, execution_id: uuid.UUID, step: Any, public_url: str) -> FailureReport:
    base = public_url.rstrip("/")
    return FailureReport(
        workflow_id=str(row.workflow_id),
        workflow_name=row.name,
        execution_id=str(execution_id),
        trigger=row.trigger,
        error=row.error,
        failed_node_id=step.node_id if step else None,
        failed_node_type=step.node_type if step else None,
        failed_step_error=step.error if step else None,
        finished_at=row.finished_at.isoformat() if row.finished_at else None,
        run_url=f"{base}/executions/{execution_id}",
        api_url=f"{base}/api/executions/{execution_id}",
    )
