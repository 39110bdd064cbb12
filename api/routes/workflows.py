"""Workflows: CRUD, immutable versions with rollback, export / import, and validation without saving.

Everything is owner-scoped: another owner's workflow answers 404, exactly like a missing one.
Lists are offset-paged (`limit` 1-100, `offset`), `count` being the total that match.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.deps import CurrentUser, RequireFull, SessionDep
from api.errors import ApiError, not_found
from api.routes.credentials import STORE_ERRORS, VaultDep, store_failed
from api.schemas.alerts import FailureAlerts
from api.schemas.workflows import (
    DefinitionCheck,
    IssuePublic,
    RollbackRequest,
    Status,
    ValidationResult,
    VersionNumber,
    VersionPublic,
    VersionsPublic,
    WorkflowCreate,
    WorkflowExport,
    WorkflowImport,
    WorkflowPublic,
    WorkflowsPublic,
    WorkflowUpdate,
    storable_text,
)
from shared.db import workflow_crud as crud
from shared.db.models import Credential, User, Workflow
from shared.db.types import utcnow

router = APIRouter(tags=["workflows"])

Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="how many to skip")]
SearchText = Annotated[str | None, Query(max_length=200), AfterValidator(lambda q: q and storable_text(q))]


def owned_workflow(session: Session, user: User, workflow_id: uuid.UUID, *, for_update: bool = False) -> Workflow:
    workflow = crud.get_owned_workflow(session, user.id, workflow_id, for_update=for_update)
    if workflow is None:
        raise not_found("workflow")
    return workflow


def checked_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """`definition` unchanged when the registry accepts it; otherwise 422 listing every issue."""
    from shared.engine.validation import validate_definition
    from shared.nodes import default_registry

    _, issues = validate_definition(definition, default_registry())
    if issues:
        count = f"{len(issues)} problem{'s' if len(issues) != 1 else ''}"
        raise ApiError(
            422, "validation_error", f"the workflow definition is invalid ({count})", [i.as_dict() for i in issues]
        )
    return definition


def set_failure_alerts(session: Session, user: User, workflow: Workflow, alerts: FailureAlerts) -> None:
    """Store `notify_on_failure`; 422 naming the field for an email alert on a guest account (it would
    send mail to anyone from a throwaway trial) or an SMTP credential the owner lacks."""
    if alerts.email and user.kind == "guest":
        raise _alerts_invalid("email", "guest accounts cannot send email alerts; use webhook_url or sign up")
    if alerts.smtp_credential:
        found = session.exec(
            select(Credential.type).where(Credential.owner_id == user.id, Credential.name == alerts.smtp_credential)
        ).first()
        if found != "smtp":
            reason = "no credential of that name" if found is None else f"the credential has type {found!r}, not smtp"
            raise _alerts_invalid("smtp_credential", reason)
    stored = alerts.stored()
    if stored != workflow.notify_on_failure:
        workflow.notify_on_failure, workflow.updated_at = stored, utcnow()
        session.add(workflow)


def _alerts_invalid(field: str, message: str) -> ApiError:
    detail = {"field": f"notify_on_failure.{field}", "node": None, "message": message}
    return ApiError(422, "validation_error", f"notify_on_failure.{field}: {message}", [detail])


def commit(session: Session) -> None:
    """Commit; a unique-constraint race (two writers appending the same version) is a 409."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ApiError(409, "conflict", "the workflow was changed by another request at the same time; retry") from None


def created_workflow(request: Request, response: Response, workflow: Workflow, definition: dict) -> WorkflowPublic:
    response.headers["Location"] = request.app.url_path_for("get_workflow", workflow_id=str(workflow.id))
    return WorkflowPublic.build(workflow, definition, with_definition=True)


def detail(session: Session, workflow: Workflow) -> WorkflowPublic:
    return WorkflowPublic.build(workflow, crud.current_definition(session, workflow), with_definition=True)


@router.get("/workflows", response_model=WorkflowsPublic)
def list_workflows(
    session: SessionDep,
    user: CurrentUser,
    q: SearchText = None,
    status: Status | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> WorkflowsPublic:
    """The caller's workflows, most recently updated first, without definitions. `q` searches name
    and description (case-insensitive); `status` filters; archived ones appear only with
    `status=archived`. Offset-paged: `count` is the total, fetch the next page with `offset + limit`."""
    rows, total = crud.list_workflows(session, user.id, q=q, status=status, limit=limit, offset=offset)
    data = [WorkflowPublic.build(workflow, definition, with_definition=False) for workflow, definition in rows]
    return WorkflowsPublic(data=data, count=total)


@router.post("/workflows", status_code=201, response_model=WorkflowPublic, dependencies=[RequireFull])
def create_workflow(
    body: WorkflowCreate, request: Request, response: Response, session: SessionDep, user: CurrentUser
) -> WorkflowPublic:
    """Create a workflow with its first version. The definition is validated first: 422 lists every
    problem, each naming its node and field."""
    definition = checked_definition(body.definition)
    workflow = crud.new_workflow(
        session, user.id, body.name, definition, description=body.description, status=body.status
    )
    if body.notify_on_failure is not None:
        set_failure_alerts(session, user, workflow, body.notify_on_failure)
    commit(session)
    return created_workflow(request, response, workflow, definition)


@router.post("/workflows/validate", response_model=ValidationResult)
def validate_workflow(body: DefinitionCheck, _user: CurrentUser) -> ValidationResult:
    """Check a definition without saving it: every issue, and when valid its lane and credit estimate."""
    from shared.engine.planner import build_plan
    from shared.engine.validation import validate_definition
    from shared.nodes import default_registry

    definition, issues = validate_definition(body.definition, default_registry())
    plan = build_plan(definition, default_registry()) if definition is not None and not issues else None
    return ValidationResult(
        valid=plan is not None,
        issues=[IssuePublic(**issue.as_dict()) for issue in issues],
        lane=plan.lane if plan else None,
        credit_estimate=plan.credit_estimate() if plan else None,
    )


@router.post("/workflows/import", status_code=201, response_model=WorkflowPublic, dependencies=[RequireFull])
def import_workflow(
    body: WorkflowImport, request: Request, response: Response, session: SessionDep, user: CurrentUser
) -> WorkflowPublic:
    """Create a workflow from an export (`GET /workflows/{id}/export`) or from a bare definition
    carrying a `name` beside its `nodes` and `edges`. Validated like a new workflow."""
    definition = checked_definition(body.definition)
    workflow = crud.new_workflow(
        session, user.id, body.name, definition, description=body.description, status=body.status
    )
    commit(session)
    return created_workflow(request, response, workflow, definition)


@router.get("/workflows/{workflow_id}", response_model=WorkflowPublic)
async def get_workflow(workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> WorkflowPublic:
    """One workflow with its current definition."""
    # async, with the query in a worker thread: a plain `def` route costs a second hop, FastAPI
    # validating its answer in a thread too. This is the API's most frequent request.
    row = await run_in_threadpool(crud.owned_workflow_row, session, user.id, workflow_id)
    if row is None:
        raise not_found("workflow")
    return WorkflowPublic.from_row(row)


@router.patch("/workflows/{workflow_id}", response_model=WorkflowPublic, dependencies=[RequireFull])
def update_workflow(
    workflow_id: uuid.UUID, body: WorkflowUpdate, session: SessionDep, user: CurrentUser
) -> WorkflowPublic:
    """Change name, description, status or definition. A changed definition becomes a new immutable
    version (422 with every issue when invalid); an unchanged one makes no version."""
    workflow = owned_workflow(session, user, workflow_id, for_update=True)
    changes = body.model_dump(exclude_none=True)
    if "definition" in changes:
        checked_definition(changes["definition"])
    crud.update_workflow(session, workflow, changes)
    if body.notify_on_failure is not None:
        set_failure_alerts(session, user, workflow, body.notify_on_failure)
    commit(session)
    return detail(session, workflow)


@router.post("/workflows/{workflow_id}/archive", response_model=WorkflowPublic, dependencies=[RequireFull])
def archive_workflow(workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> WorkflowPublic:
    """Archive: hidden from the default list and its schedule switched off (kept, so it can be
    re-enabled after `PATCH status`). Versions and executions stay."""
    workflow = owned_workflow(session, user, workflow_id, for_update=True)
    crud.archive_workflow(session, workflow)
    commit(session)
    return detail(session, workflow)


@router.delete(
    "/workflows/{workflow_id}",
    status_code=204,
    response_class=Response,
    response_model=None,
    dependencies=[RequireFull],
)
def delete_workflow(workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser, vault: VaultDep) -> Response:
    """Delete the workflow with its versions, executions and their steps and events, and its
    webhook signing secret. Not undoable."""
    workflow = owned_workflow(session, user, workflow_id, for_update=True)
    if workflow.webhook_secret_ref is not None:
        try:  # the secret first: a failure leaves everything as it was, and a retry finishes the job
            vault.delete(user.id, workflow.webhook_secret_ref)
        except STORE_ERRORS as exc:
            raise store_failed(exc) from None
    crud.delete_workflow(session, workflow)
    commit(session)
    return Response(status_code=204)


@router.get("/workflows/{workflow_id}/versions", response_model=VersionsPublic)
def list_versions(
    workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser, limit: Limit = 20, offset: Offset = 0
) -> VersionsPublic:
    """The workflow's versions, newest first, without definitions (offset-paged)."""
    workflow = owned_workflow(session, user, workflow_id)
    versions, total = crud.list_versions(session, workflow.id, limit=limit, offset=offset)
    return VersionsPublic(
        data=[VersionPublic.build(found, workflow, with_definition=False) for found in versions], count=total
    )


@router.get("/workflows/{workflow_id}/versions/{version}", response_model=VersionPublic)
def get_version(
    workflow_id: uuid.UUID, version: VersionNumber, session: SessionDep, user: CurrentUser
) -> VersionPublic:
    """One version with its definition. Versions never change once written."""
    workflow = owned_workflow(session, user, workflow_id)
    found = crud.get_version(session, workflow.id, version)
    if found is None:
        raise not_found(f"version {version} of this workflow")
    return VersionPublic.build(found, workflow, with_definition=True)


@router.post("/workflows/{workflow_id}/rollback", response_model=WorkflowPublic, dependencies=[RequireFull])
def rollback_workflow(
    workflow_id: uuid.UUID, body: RollbackRequest, session: SessionDep, user: CurrentUser
) -> WorkflowPublic:
    """Make version N current again by appending a NEW version with N's definition; history is never
    rewritten. The old definition is re-validated (a node type may have changed since)."""
    workflow = owned_workflow(session, user, workflow_id, for_update=True)
    found = crud.get_version(session, workflow.id, body.version)
    if found is None:
        raise not_found(f"version {body.version} of this workflow")
    crud.append_version(session, workflow, checked_definition(found.definition))
    commit(session)
    return detail(session, workflow)


@router.get("/workflows/{workflow_id}/export", response_model=WorkflowExport)
def export_workflow(workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> WorkflowExport:
    """The workflow as a portable document that `POST /workflows/import` (or `flowbuilder run`) reads.
    Schedule, webhook and history are not part of it."""
    workflow = owned_workflow(session, user, workflow_id)
    return WorkflowExport(
        name=workflow.name, description=workflow.description, definition=crud.current_definition(session, workflow)
    )
