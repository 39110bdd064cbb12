"""Executions: listing (cursor-paged), one with its steps, and cancel, retry and resume."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import Session

from api.deps import CurrentUser, RequireRun, ServicesDep, SessionDep
from api.errors import ApiError, not_found
from api.routes.runs import dispatch_now, execution_location, runnable_plan
from api.schemas.executions import (
    ExecutionDetail,
    ExecutionPublic,
    ExecutionsPage,
    FollowUpCreate,
    RunAccepted,
    Status,
    StepRunPublic,
    Trigger,
)
from api.services import AppServices
from shared.db.execution_crud import (
    FINISHED,
    RESUMABLE,
    list_executions,
    owned_execution,
    queue_follow_up,
    request_cancel,
    step_runs,
)
from shared.db.models import Execution, Workflow

router = APIRouter(tags=["executions"])


def encode_cursor(execution: Execution) -> str:
    raw = json.dumps([execution.queued_at.isoformat(), str(execution.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        queued_at, execution_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at = datetime.fromisoformat(queued_at)
        if at.tzinfo is None:
            raise ValueError("naive timestamp")
        return at, uuid.UUID(execution_id)
    except (ValueError, TypeError, AttributeError, binascii.Error):
        raise ApiError(400, "bad_request", "the cursor is not one this API handed out") from None


@router.get("/executions", response_model=ExecutionsPage)
def list_executions_page(
    session: SessionDep,
    user: CurrentUser,
    workflow_id: uuid.UUID | None = None,
    status: Status | None = None,
    trigger: Trigger | None = None,
    cursor: Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ExecutionsPage:
    """The caller's executions, newest first, optionally of one workflow, status or trigger.
    `count` is how many match in all; follow `next_cursor` for the next page."""
    before = decode_cursor(cursor) if cursor is not None else None
    rows, total = list_executions(
        session, user.id, workflow_id=workflow_id, status=status, trigger=trigger, before=before, limit=limit + 1
    )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
    return ExecutionsPage(
        data=[ExecutionPublic.model_validate(row) for row in page], count=total, next_cursor=next_cursor
    )


def _owned(session: Session, user_id: uuid.UUID, execution_id: uuid.UUID) -> Execution:
    execution = owned_execution(session, user_id, execution_id)
    if execution is None:
        raise not_found("execution")
    return execution


@router.get("/executions/{execution_id}", response_model=ExecutionDetail)
def get_execution(execution_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> ExecutionDetail:
    """One execution with its input, output and every step run (input, output, error, timing,
    credits) in the order the steps started."""
    execution = _owned(session, user.id, execution_id)
    steps = [StepRunPublic.model_validate(step) for step in step_runs(session, execution.id)]
    summary = ExecutionPublic.model_validate(execution).model_dump(exclude={"duration_ms"})
    return ExecutionDetail(**summary, input=execution.input, output=execution.output, steps=steps)


@router.post("/executions/{execution_id}/cancel", response_model=ExecutionPublic, dependencies=[RequireRun])
def cancel_execution(execution_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> ExecutionPublic:
    """Cancel an execution: a queued one is cancelled at once, a running one is flagged and its
    runner stops between steps. 409 when it has already finished."""
    execution = _owned(session, user.id, execution_id)
    left_in = request_cancel(session, execution.id)
    if left_in is None:
        session.rollback()
        session.refresh(execution)
        raise ApiError(409, "execution_finished", f"the execution has already finished ({execution.status})")
    session.commit()
    session.refresh(execution)
    return ExecutionPublic.model_validate(execution)


@router.post("/executions/{execution_id}/retry", status_code=202, response_model=RunAccepted, dependencies=[RequireRun])
def retry_execution(
    execution_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    services: ServicesDep,
    response: Response,
    body: FollowUpCreate | None = None,
) -> RunAccepted:
    """Run a finished execution again from the start: a new execution of the same version and
    input, pointing back at this one. 409 while it is still queued or running."""
    parent = _owned(session, user.id, execution_id)
    if parent.status not in FINISHED:
        raise ApiError(409, "execution_unfinished", f"the execution is still {parent.status}; cancel it first")
    return _follow_up(session, services, response, parent, body or FollowUpCreate(), reuse_succeeded_steps=False)


@router.post(
    "/executions/{execution_id}/resume", status_code=202, response_model=RunAccepted, dependencies=[RequireRun]
)
def resume_execution(
    execution_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    services: ServicesDep,
    response: Response,
    body: FollowUpCreate | None = None,
) -> RunAccepted:
    """Continue a failed or cancelled execution: a new execution that re-uses this one's succeeded
    steps (outputs kept, no credits charged again) and runs from where it stopped."""
    parent = _owned(session, user.id, execution_id)
    if parent.status not in RESUMABLE:
        raise ApiError(
            409, "execution_not_resumable", f"only failed or cancelled executions resume; this one is {parent.status}"
        )
    return _follow_up(session, services, response, parent, body or FollowUpCreate(), reuse_succeeded_steps=True)


def _follow_up(
    session: Session,
    services: AppServices,
    response: Response,
    parent: Execution,
    body: FollowUpCreate,
    *,
    reuse_succeeded_steps: bool,
) -> RunAccepted:
    workflow = session.get(Workflow, parent.workflow_id)
    if workflow is None:
        raise not_found("workflow")
    plan = runnable_plan(session, workflow, parent.version)
    child = queue_follow_up(
        session, parent, workflow, trigger=body.trigger, lane=plan.lane, reuse_succeeded_steps=reuse_succeeded_steps
    )
    session.commit()
    dispatch_now(session, services, [child])
    response.headers["Location"] = execution_location(child.id)
    return RunAccepted(execution_id=child.id, status="queued", lane=child.lane)
