"""Webhooks: an owner creates (or rotates) a workflow's token; anyone holding it can start a run
through `/api/hooks/{token}` with any method.

Only the token's SHA-256 is stored. A body is read only in a declared, supported Content-Type and
up to 1 MiB (`api.webhook_bodies`); the run's input is `{"method", "body", "query", "headers"}`,
with only headers that cannot carry credentials. `Idempotency-Key` makes a retried delivery return
the first execution.

A webhook can also require a signature: `X-Flowbuilder-Signature: v1=<hex HMAC-SHA256 of
"<timestamp>.<raw body>">` with `X-Flowbuilder-Timestamp` within 5 minutes of the server's clock.
The signing secret lives only in the owner's vault, as the hidden credential `webhook-signing.<id>`;
`workflows.webhook_secret_ref` holds that name; `api/webhook_signatures.py` checks the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api.deps import CurrentUser, RequireRun, ServicesDep, SessionDep
from api.errors import ApiError, not_found
from api.routes.credentials import STORE_ERRORS, VaultDep, get_vault, store_failed
from api.routes.runs import dispatch_now, execution_location, require_credits, runnable_plan
from api.schemas.executions import InputRejected, WebhookAccepted, WebhookCreated, plain_json_size
from api.services import AppServices
from api.webhook_bodies import fields, parse_body, read_body
from api.webhook_known import KnownHook, accept_known, known_hook, remember_hook
from api.webhook_signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, bad_signature, check_signature
from shared.db.crud import queue_execution
from shared.db.execution_crud import (
    execution_by_idempotency_key,
    owned_workflow,
    workflow_by_webhook_hash,
)
from shared.db.models import Execution, User, Workflow
from shared.db.types import utcnow
from shared.engine.errors import CredentialNotFound
from shared.vault.store import CredentialVault
from shared.vault.types import SIGNING_NAME_PREFIX
from shared.version_memo import VersionMemo

router = APIRouter(tags=["webhooks"])

WEBHOOK_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
FORWARDED_HEADERS = frozenset({"content-type", "user-agent"})
WITHHELD_HEADERS = frozenset({"x-api-key", "authorization", "cookie"})
MAX_TOKEN_LENGTH = 128
MAX_IDEMPOTENCY_KEY_LENGTH = 255


class WebhookOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_signature: bool | None = Field(
        default=None,
        description="true: deliveries must be signed (a new signing secret is issued); false: stop "
        "requiring it; omitted: keep the current setting (a signed webhook gets a new secret too).",
    )


class WebhookIssued(WebhookCreated):
    signing_secret: str | None = Field(
        default=None, description="Shown once, when the webhook requires signatures; kept only in the vault."
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def signing_secret_name(workflow_id: uuid.UUID) -> str:
    return f"{SIGNING_NAME_PREFIX}{workflow_id}"


@router.post(
    "/workflows/{workflow_id}/webhook", status_code=201, response_model=WebhookIssued, dependencies=[RequireRun]
)
def create_webhook(
    workflow_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    vault: VaultDep,
    options: WebhookOptions | None = None,
) -> WebhookIssued:
    """Create the workflow's webhook token, or rotate it (the previous token stops working at once).
    With `{"require_signature": true}` deliveries must be signed; a signed webhook's rotation also
    replaces its signing secret. The token and the signing secret are shown only in this answer."""
    workflow = owned_workflow(session, user.id, workflow_id)
    if workflow is None:
        raise not_found("workflow")
    wanted = options.require_signature if options is not None else None
    signed = workflow.webhook_secret_ref is not None if wanted is None else wanted
    name = signing_secret_name(workflow.id)
    signing_secret = "whsec_" + secrets.token_urlsafe(32) if signed else None
    try:
        if signing_secret is not None:
            _store_signing_secret(vault, user.id, name, signing_secret)
        elif workflow.webhook_secret_ref is not None:
            vault.delete(user.id, workflow.webhook_secret_ref)
    except STORE_ERRORS as exc:
        raise store_failed(exc) from None
    token = "wh_" + secrets.token_urlsafe(32)
    workflow.webhook_token_hash = token_hash(token)
    workflow.webhook_secret_ref = name if signed else None
    workflow.updated_at = utcnow()
    session.add(workflow)
    session.commit()
    url = str(request.url_for("receive_webhook", token=token))
    return WebhookIssued(url=url, token=token, signing_secret=signing_secret)


def _store_signing_secret(vault: CredentialVault, owner_id: uuid.UUID, name: str, secret: str) -> None:
    values = {"token": secret}
    if vault.update(owner_id, name, values, "bearer") is None:
        vault.create(owner_id, name, "bearer", values)


@router.delete(
    "/workflows/{workflow_id}/webhook",
    status_code=204,
    response_class=Response,
    response_model=None,
    dependencies=[RequireRun],
)
def delete_webhook(workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser, vault: VaultDep) -> Response:
    """Remove the workflow's webhook: its token answers 404 from now on, and its signing secret is
    deleted from the vault."""
    workflow = owned_workflow(session, user.id, workflow_id)
    if workflow is None:
        raise not_found("workflow")
    try:  # the secret first: a failure leaves the webhook as it was, and a retry finishes the job
        vault.delete(user.id, signing_secret_name(workflow.id))
    except STORE_ERRORS as exc:
        raise store_failed(exc) from None
    if workflow.webhook_token_hash is not None or workflow.webhook_secret_ref is not None:
        workflow.webhook_token_hash = None
        workflow.webhook_secret_ref = None
        workflow.updated_at = utcnow()
        session.add(workflow)
        session.commit()
    return Response(status_code=204)


async def receive_webhook(token: str, request: Request, session: SessionDep, services: ServicesDep) -> Response:
    """Start a run of the workflow this token belongs to (no API key: the token is the credential).
    Answers 202 with the execution id; with a repeated `Idempotency-Key`, the first execution's id
    and `Idempotent-Replay: true`. A webhook that requires signatures answers 401 naming the header
    at fault, before anything is created."""
    digest = token_hash(token) if len(token) <= MAX_TOKEN_LENGTH else None
    body: bytes | ApiError | None = None
    if digest is not None and (hook := known_hook(digest)) is not None:
        body = await _read_or_error(request)
        try:
            if isinstance(body, ApiError):
                raise body
            key = _idempotency_key(request.headers.get("idempotency-key"))
            payload = await _payload(request, body)
        except ApiError:
            pass  # the full path below answers it, checking things in its order
        else:
            execution_id = await run_in_threadpool(accept_known, session, services, digest, hook, payload, key)
            if execution_id is not None:
                return _accepted(execution_id, replayed=False)
    return await _receive(token, request, session, services, body)


async def _read_or_error(request: Request) -> bytes | ApiError:
    try:
        return await read_body(request)
    except ApiError as exc:
        return exc


def _accepted(execution_id: uuid.UUID, *, replayed: bool) -> Response:
    """The 202 itself, rendered here (the route still declares `WebhookAccepted`): a delivery is the
    hot path, and validating a model just built from a UUID is work for nothing."""
    headers = {"Location": execution_location(execution_id)}
    if replayed:
        headers["Idempotent-Replay"] = "true"
    return JSONResponse({"execution_id": str(execution_id)}, status_code=202, headers=headers)


async def _receive(
    token: str, request: Request, session: Session, services: AppServices, body: bytes | ApiError | None
) -> Response:
    """The full path: every check in order; `body` is what `receive_webhook` already read (the
    request's stream can be read once), or the error reading it raised."""
    workflow = await run_in_threadpool(_workflow_for_token, session, token)
    key = _idempotency_key(request.headers.get("idempotency-key"))
    if isinstance(body, ApiError):
        raise body
    raw = await read_body(request) if body is None else body
    if workflow.webhook_secret_ref is not None:
        vault = get_vault(request, services)
        secret = await run_in_threadpool(_signing_secret, vault, workflow)
        headers = request.headers
        check_signature(secret, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), raw, time.time())
    payload = await _payload(request, raw)
    execution, replayed = await run_in_threadpool(_accept, session, services, workflow, payload, key)
    return _accepted(execution.id, replayed=replayed)


async def _payload(request: Request, raw: bytes) -> dict[str, Any]:
    payload = {
        "method": request.method,
        "body": await parse_body(request, raw),
        "query": fields(request.query_params.multi_items()),
        "headers": _forwarded_headers(request.headers.items()),
    }
    try:
        plain_json_size(payload)
    except InputRejected as exc:
        raise ApiError(400, "bad_request", f"the request {exc}") from None
    return payload


for _method in WEBHOOK_METHODS:  # one route per method, so each gets its own OpenAPI operation id
    router.add_api_route(
        "/hooks/{token}",
        receive_webhook,
        methods=[_method],
        status_code=202,
        response_model=WebhookAccepted,
        name="receive_webhook",
        operation_id=f"receive_webhook_{_method.lower()}",
    )


def _workflow_for_token(session: Session, token: str) -> Workflow:
    digest = token_hash(token) if len(token) <= MAX_TOKEN_LENGTH else None
    workflow = workflow_by_webhook_hash(session, digest) if digest else None
    if workflow is None or not hmac.compare_digest(workflow.webhook_token_hash or "", digest or ""):
        raise not_found("webhook")
    return workflow


def _signing_secret(vault: CredentialVault, workflow: Workflow) -> str:
    """Fails closed: a signed webhook whose secret cannot be read accepts nothing."""
    try:
        return vault.values(workflow.owner_id, workflow.webhook_secret_ref or "")["token"]
    except CredentialNotFound:
        raise bad_signature("this webhook's signing secret is gone; its owner must rotate the webhook") from None
    except STORE_ERRORS as exc:
        raise store_failed(exc) from None


def _accept(
    session: Session, services: AppServices, workflow: Workflow, payload: dict[str, Any], key: str | None
) -> tuple[Execution, bool]:
    if key is not None:
        earlier = execution_by_idempotency_key(session, workflow.id, key)
        if earlier is not None:
            return earlier, True
    _refuse_ended_trial(session, workflow.owner_id)
    lane = _runnable_lane(session, workflow)
    try:
        execution = queue_execution(session, workflow, trigger="webhook", input=payload, lane=lane, idempotency_key=key)
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent delivery with the same key won the race
        earlier = execution_by_idempotency_key(session, workflow.id, key) if key is not None else None
        if earlier is None:
            raise
        return earlier, True
    dispatch_now(session, services, [execution])
    _remember(session, workflow)
    return execution, False


def _refuse_ended_trial(session: Session, owner_id: uuid.UUID) -> None:
    """A guest's webhooks stop with their trial, like their schedules and API runs."""
    from shared.identity.guests import trial_has_ended

    owner = session.get(User, owner_id)
    if owner is not None and trial_has_ended(owner):
        raise ApiError(
            403, "trial_expired", "this webhook's owner is a guest whose trial has ended: they must sign in to run it"
        )


def _remember(session: Session, workflow: Workflow) -> None:
    """Let the next deliveries of an unsigned webhook take `api.webhook_known`'s one statement."""
    plan = _PLANS.get(workflow.id, workflow.current_version)
    if plan is None or workflow.webhook_secret_ref is not None or workflow.webhook_token_hash is None:
        return
    owner = session.get(User, workflow.owner_id)  # the rate limiter has usually loaded it already
    if owner is not None:
        hook = KnownHook(workflow.id, owner.id, owner.kind, workflow.current_version, plan[0], plan[1])
        remember_hook(workflow.webhook_token_hash, hook)


_PLANS: VersionMemo[tuple[str, int]] = VersionMemo()
"""(lane, credit estimate) of versions that validated: a webhook's every delivery after the first
skips loading, validating and planning the definition."""


def _runnable_lane(session: Session, workflow: Workflow) -> str:
    """The lane of the workflow's current version; 409 (archived, invalid) and 402 as `runnable_plan`."""
    known = _PLANS.get(workflow.id, workflow.current_version)
    if known is not None and workflow.status != "archived":
        require_credits(session, workflow.owner_id, known[1])
        return known[0]
    plan = runnable_plan(session, workflow, workflow.current_version)
    lane, _ = _PLANS.get_or_compute(workflow.id, workflow.current_version, lambda: (plan.lane, plan.credit_estimate()))
    return lane


def _idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not 0 < len(value) <= MAX_IDEMPOTENCY_KEY_LENGTH or not all(" " <= ch <= "~" for ch in value):
        raise ApiError(400, "bad_request", "Idempotency-Key must be 1-255 printable ASCII characters")
    return value


def _forwarded_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in items:
        if name in FORWARDED_HEADERS or (name.startswith("x-") and name not in WITHHELD_HEADERS):
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers
