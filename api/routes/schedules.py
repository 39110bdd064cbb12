"""A workflow's cron schedule: set, read, preview, enable / disable, remove.

Saving an enabled schedule computes `next_run_at` (the next fire time after now) and lowers the
scheduler's "next wake" time, so a sleeping scheduler picks the new schedule up on time.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from fastapi import APIRouter, Response

from api.deps import CurrentUser, RequireFull, SessionDep, SettingsDep
from api.errors import ApiError
from api.routes.workflows import commit, owned_workflow
from api.schemas.schedules import ScheduleIn, ScheduleOut
from shared.db import workflow_crud as crud
from shared.db.models import Workflow
from shared.db.types import utcnow
from shared.scheduling import CronSchedule, ScheduleError
from shared.settings import Settings

router = APIRouter(tags=["schedules"])
logger = logging.getLogger("flowbuilder.api")

PREVIEW_COUNT = 5


def parse_schedule(cron: str, timezone: str) -> CronSchedule:
    """The schedule, or 422 naming `cron` or `timezone` with scheduling's own message."""
    try:
        schedule = CronSchedule.parse(cron, timezone)
        schedule.next_after(utcnow())
    except (ScheduleError, ValueError) as exc:
        field, _, message = str(exc).partition(": ")
        if field not in ("cron", "timezone"):
            field, message = "cron", str(exc)
        raise ApiError(
            422,
            "validation_error",
            f"the schedule is invalid: {exc}",
            [{"field": field, "node": None, "message": message}],
        ) from None
    return schedule


def schedule_out(
    schedule: CronSchedule, misfire_policy: str, enabled: bool, now: datetime, next_run_at: datetime | None = None
) -> ScheduleOut:
    times = schedule.next_times(now, PREVIEW_COUNT)
    return ScheduleOut(
        cron=schedule.cron,
        timezone=schedule.timezone,
        misfire_policy=misfire_policy,
        enabled=enabled,
        next_run_at=(next_run_at or times[0]) if enabled else None,
        next_fire_times=times,
        description=schedule.describe(),
    )


def stored_schedule(workflow: Workflow) -> CronSchedule:
    if workflow.cron is None:
        raise ApiError(404, "not_found", "this workflow has no schedule; set one with PUT /workflows/{id}/schedule")
    return parse_schedule(workflow.cron, workflow.timezone)


def refuse_if_archived(workflow: Workflow) -> None:
    if workflow.status == "archived":
        raise ApiError(409, "conflict", "an archived workflow can't have an enabled schedule; unarchive it first")


def lower_next_wake(settings: Settings, next_run_at: datetime | None) -> None:
    """Tell the scheduler to wake by `next_run_at`. The gate is optional: without it the scheduler
    ticks every time; a failing gate is logged, not fatal (the schedule is already saved)."""
    if next_run_at is None:
        return
    try:
        from shared.scheduler import gate
    except ImportError:
        return
    try:
        gate.lower_next_wake(settings, next_run_at)
    except Exception:
        logger.exception("could not lower the scheduler's next wake time to %s", next_run_at.isoformat())


@router.put("/workflows/{workflow_id}/schedule", response_model=ScheduleOut, dependencies=[RequireFull])
def set_schedule(
    workflow_id: uuid.UUID, body: ScheduleIn, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> ScheduleOut:
    """Set (or replace) the cron schedule. 422 names `cron` or `timezone` when either is invalid;
    409 when enabling it on an archived workflow. Fires next at `next_run_at`."""
    workflow = owned_workflow(session, user, workflow_id, for_update=True)
    schedule = parse_schedule(body.cron, body.timezone)
    if body.enabled:
        refuse_if_archived(workflow)
    now = utcnow()
    out = schedule_out(schedule, body.misfire_policy, body.enabled, now)
    crud.save_schedule(
        session,
        workflow,
        cron=schedule.cron,
        timezone=schedule.timezone,
        misfire_policy=body.misfire_policy,
        enabled=body.enabled,
        next_run_at=out.next_run_at,
    )
    commit(session)
    lower_next_wake(settings, out.next_run_at)
    return out


@router.get("/workflows/{workflow_id}/schedule", response_model=ScheduleOut)
def get_schedule(workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> ScheduleOut:
    """The schedule with its next fire times; 404 when the workflow has none."""
    workflow = owned_workflow(session, user, workflow_id)
    schedule = stored_schedule(workflow)
    return schedule_out(schedule, workflow.misfire_policy, workflow.schedule_enabled, utcnow(), workflow.next_run_at)


@router.post("/workflows/{workflow_id}/schedule/preview", response_model=ScheduleOut)
def preview_schedule(workflow_id: uuid.UUID, body: ScheduleIn, session: SessionDep, user: CurrentUser) -> ScheduleOut:
    """Validate a schedule and show its next 5 fire times without saving anything."""
    owned_workflow(session, user, workflow_id)
    return schedule_out(parse_schedule(body.cron, body.timezone), body.misfire_policy, body.enabled, utcnow())


@router.post("/workflows/{workflow_id}/schedule/enable", response_model=ScheduleOut, dependencies=[RequireFull])
def enable_schedule(
    workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> ScheduleOut:
    """Switch the schedule on; `next_run_at` is recomputed from now (missed times are not replayed)."""
    workflow = owned_workflow(session, user, workflow_id, for_update=True)
    schedule = stored_schedule(workflow)
    refuse_if_archived(workflow)
    out = schedule_out(schedule, workflow.misfire_policy, True, utcnow())
    crud.set_schedule_enabled(session, workflow, out.next_run_at)
    commit(session)
    lower_next_wake(settings, out.next_run_at)
    return out


@router.post("/workflows/{workflow_id}/schedule/disable", response_model=ScheduleOut, dependencies=[RequireFull])
def disable_schedule(workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> ScheduleOut:
    """Switch the schedule off (kept, with `next_run_at` cleared) until it is enabled again."""
    workflow = owned_workflow(session, user, workflow_id, for_update=True)
    schedule = stored_schedule(workflow)
    crud.set_schedule_enabled(session, workflow, None)
    commit(session)
    return schedule_out(schedule, workflow.misfire_policy, False, utcnow())


@router.delete(
    "/workflows/{workflow_id}/schedule",
    status_code=204,
    response_class=Response,
    response_model=None,
    dependencies=[RequireFull],
)
def delete_schedule(workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Response:
    """Remove the schedule; 404 when the workflow has none."""
    workflow = owned_workflow(session, user, workflow_id, for_update=True)
    stored_schedule(workflow)
    crud.clear_schedule(session, workflow)
    commit(session)
    return Response(status_code=204)
