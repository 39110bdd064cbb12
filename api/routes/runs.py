"""Starting a run of a workflow, and previewing one without running it.

A run is written first and dispatched after the commit: if the dispatch fails the execution keeps
`dispatched_at` NULL, the scheduler's next-wake gate is lowered, and the tick's outbox sends it, so
a run is never lost between the two.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fastapi import APIRouter, Response
from sqlmodel import Session

from api.deps import CurrentUser, RequireRun, ServicesDep, SessionDep
from api.errors import ApiError, not_found
from api.schemas.executions import Preview, PreviewIssue, PreviewNode, PreviewRequest, RunAccepted, RunCreate
from api.services import AppServices
from shared.db.crud import queue_execution
from shared.db.execution_crud import dispatch_executions, owned_workflow, workflow_version
from shared.db.models import Execution, Workflow
from shared.engine.planner import Plan, build_plan
from shared.engine.validation import ValidationIssue, validate_definition

if TYPE_CHECKING:
    from shared.nodes.registry import NodeRegistry

router = APIRouter(tags=["runs"])
logger = logging.getLogger("flowbuilder.api")


def _registry() -> NodeRegistry:
    from shared.nodes import default_registry

    return default_registry()


def _checked_plan(session: Session, workflow_id: uuid.UUID, version: int) -> tuple[Plan | None, list[ValidationIssue]]:
    row = workflow_version(session, workflow_id, version)
    if row is None:
        return None, [ValidationIssue(f"version {version} of the workflow does not exist")]
    definition, issues = validate_definition(row.definition, _registry())
    if definition is None:
        return None, issues
    return build_plan(definition, _registry()), []


def runnable_plan(session: Session, workflow: Workflow, version: int) -> Plan:
    """The plan of `version`, or a 409 when the workflow is archived or the version no longer
    validates (e.g. a node type was removed since it was saved)."""
    if workflow.status == "archived":
        raise ApiError(409, "workflow_archived", "the workflow is archived; restore it before running it")
    plan, issues = _checked_plan(session, workflow.id, version)
    if plan is None:
        raise ApiError(
            409, "definition_invalid", "the workflow definition is invalid", [issue.as_dict() for issue in issues]
        )
    require_credits(session, workflow.owner_id, plan.credit_estimate())
    return plan


def require_credits(session: Session, owner_id: uuid.UUID, estimate: int) -> None:
    """402 when the owner's balance is below the run's estimate (runs, retries, resumes, webhooks)."""
    from shared.credits import InsufficientCredits, check_balance

    try:
        check_balance(session, owner_id, estimate)
    except InsufficientCredits as exc:
        details = [
            {"field": "credit_estimate", "message": str(exc.estimate)},
            {"field": "balance", "message": str(exc.balance)},
        ]
        raise ApiError(402, "insufficient_credits", f"not enough credits: {exc}", details) from None


def dispatch_now(session: Session, services: AppServices, executions: Sequence[Execution]) -> None:
    """Dispatch committed executions; for any not sent, wake the scheduler so its outbox sends them
    on its next tick (a failing wake-up is logged: the tick still finds them, only later)."""
    unsent = dispatch_executions(session, services.dispatcher, executions)
    if not unsent:
        return
    try:
        from shared.scheduler.gate import lower_next_wake

        lower_next_wake(services.settings, min(execution.queued_at for execution in unsent))
    except Exception:
        logger.warning("could not wake the scheduler for %d undispatched execution(s)", len(unsent), exc_info=True)


def execution_location(execution_id: uuid.UUID) -> str:
    return f"/api/executions/{execution_id}"


@router.post("/workflows/{workflow_id}/runs", status_code=202, response_model=RunAccepted, dependencies=[RequireRun])
def start_run(
    workflow_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    services: ServicesDep,
    response: Response,
    body: RunCreate | None = None,
) -> RunAccepted:
    """Queue a run of the workflow's current version and dispatch it to its lane. Answers 202 with
    the execution's id and a Location to follow; 409 when the workflow is archived."""
    body = body or RunCreate()
    workflow = owned_workflow(session, user.id, workflow_id)
    if workflow is None:
        raise not_found("workflow")
    plan = runnable_plan(session, workflow, workflow.current_version)
    execution = queue_execution(session, workflow, trigger=body.trigger, input=body.input, lane=plan.lane)
    session.commit()
    dispatch_now(session, services, [execution])
    response.headers["Location"] = execution_location(execution.id)
    return RunAccepted(execution_id=execution.id, status="queued", lane=execution.lane)


@router.post("/workflows/{workflow_id}/preview", response_model=Preview)
def preview_run(
    workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser, body: PreviewRequest | None = None
) -> Preview:
    """What a run of the current version would do, without running it: whether it validates, the
    lane it would go to, its credit estimate and each node's lane and cost."""
    workflow = owned_workflow(session, user.id, workflow_id)
    if workflow is None:
        raise not_found("workflow")
    plan, issues = _checked_plan(session, workflow.id, workflow.current_version)
    if plan is None:
        problems = [PreviewIssue(**issue.as_dict()) for issue in issues]
        return Preview(valid=False, issues=problems, lane=None, credit_estimate=None, nodes=[])
    nodes = [
        PreviewNode(id=node.id, type=node.type, lane=plan.node_types[node.id].lane, cost=plan.node_types[node.id].cost)
        for node in plan.definition.nodes
    ]
    return Preview(valid=True, issues=[], lane=plan.lane, credit_estimate=plan.credit_estimate(), nodes=nodes)
