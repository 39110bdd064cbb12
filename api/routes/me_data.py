"""Data rights: `GET /api/me/export` (everything of one's own, as JSON) and `DELETE /api/me`.

The export never carries a secret or a hash: credentials are names and types, keys are names and
prefixes, webhook token hashes, guest IP hashes and audit IP hashes are left out. Deleting removes
credentials through the vault first (so their secrets go from the backend too), then the user row;
the database's `ON DELETE CASCADE` takes workflows, versions, executions, steps, events, artifacts
rows and keys with it, and `SET NULL` leaves the credit ledger anonymised. Audit rows are kept,
anonymised the same way."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from sqlmodel import Session, col, select

from api.deps import CurrentUser, ServicesDep, SessionDep
from shared.db.models import (
    ApiKey,
    AuditLog,
    Credential,
    CreditLedgerEntry,
    Execution,
    StepRun,
    User,
    Workflow,
    WorkflowVersion,
)

router = APIRouter(tags=["me"])

WORKFLOW_WITHHELD = {"webhook_token_hash", "webhook_secret_ref"}


def _rows(session: Session, query, exclude: set[str] | None = None) -> list[dict[str, Any]]:
    return [row.model_dump(mode="json", exclude=exclude) for row in session.exec(query)]


def export_user_data(session: Session, user: User) -> dict[str, Any]:
    owner = user.id
    workflows = []
    for workflow in session.exec(select(Workflow).where(Workflow.owner_id == owner).order_by(Workflow.created_at)):
        versions = select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow.id)
        workflows.append(
            {
                **workflow.model_dump(mode="json", exclude=WORKFLOW_WITHHELD),
                "versions": _rows(session, versions.order_by(WorkflowVersion.version)),
            }
        )
    executions = []
    for execution in session.exec(select(Execution).where(Execution.owner_id == owner).order_by(Execution.queued_at)):
        steps = select(StepRun).where(StepRun.execution_id == execution.id).order_by(StepRun.started_at)
        executions.append({**execution.model_dump(mode="json"), "steps": _rows(session, steps)})
    credentials = session.exec(select(Credential).where(Credential.owner_id == owner).order_by(Credential.name))
    keys = select(ApiKey).where(ApiKey.owner_id == owner).order_by(ApiKey.created_at)
    ledger = select(CreditLedgerEntry).where(CreditLedgerEntry.owner_id == owner).order_by(CreditLedgerEntry.at)
    audit = select(AuditLog).where(AuditLog.actor_id == owner).order_by(col(AuditLog.at))
    return {
        "user": user.model_dump(mode="json", exclude={"guest_ip_hash"}),
        "workflows": workflows,
        "executions": executions,
        "credentials": [
            {"name": row.name, "type": row.type, "created_at": row.created_at.isoformat()} for row in credentials
        ],
        "api_keys": _rows(session, keys, exclude={"key_hash", "owner_id"}),
        "credit_ledger": _rows(session, ledger),
        "audit": _rows(session, audit, exclude={"ip_hash"}),
    }


def erase_user(session: Session, services, user_id: uuid.UUID) -> None:
    """Credentials (with their secrets) through the vault, then the user and what cascades from it."""
    from shared.audit import anonymise_actor

    try:
        from shared.vault.store import vault_from_settings
    except ImportError:  # no vault module: the rows cascade with the user
        vault_from_settings = None
    if vault_from_settings is not None:
        vault_from_settings(services.engine, services.settings).delete_all(user_id)
    from shared.artifacts import artifact_store  # the rows cascade; their files or S3 objects must go first

    artifact_store(services.settings, services.engine).delete_owner_content(user_id)
    anonymise_actor(session, user_id)
    user = session.get(User, user_id)
    if user is not None:
        session.delete(user)
    session.commit()


@router.get("/me/export")
def export_me(session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """All of the caller's data as one JSON document: profile and balance, workflows with every
    version, executions with their steps, credentials (names and types), API keys (names and
    prefixes), the credit ledger and the audit trail. No secret values or hashes."""
    session.refresh(user)
    return export_user_data(session, user)


@router.delete("/me", status_code=204, response_class=Response, response_model=None)
def delete_me(session: SessionDep, user: CurrentUser, services: ServicesDep) -> Response:
    """Delete the caller's account: workflows, executions, credentials (secrets included) and keys.
    The credit ledger and audit rows stay, no longer linked to anyone. Cannot be undone."""
    erase_user(session, services, user.id)
    services.identity_cache.forget_user(user.id)
    return Response(status_code=204)
