"""Webhooks: an owner creates (or rotates) a workflow's token; anyone holding it can start a run
through `/api/hooks/{token}` with any method.

Only the token's SHA-256 is stored. A body is read only in a declared, supported Content-Type and
up to 1 MiB; the run's input is `{"method", "body", "query", "headers"}`, with only headers that
cannot carry credentials. `Idempotency-Key` makes a retried delivery return the first execution.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.deps import CurrentUser, RequireRun, ServicesDep, SessionDep
from api.errors import ApiError, not_found
from api.routes.runs import dispatch_now, execution_location, runnable_plan
from api.schemas.executions import InputRejected, WebhookAccepted, WebhookCreated, plain_json_size
from api.services import AppServices
from shared.db.crud import queue_execution
from shared.db.execution_crud import (
    execution_by_idempotency_key,
    owned_workflow,
    workflow_by_webhook_hash,
)
from shared.db.models import Execution, Workflow
from shared.db.types import utcnow

router = APIRouter(tags=["webhooks"])

MAX_BODY_BYTES = 1024 * 1024
WEBHOOK_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
FORWARDED_HEADERS = frozenset({"content-type", "user-agent"})
WITHHELD_HEADERS = frozenset({"x-api-key", "authorization", "cookie"})
MAX_TOKEN_LENGTH = 128
MAX_IDEMPOTENCY_KEY_LENGTH = 255


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@router.post(
    "/workflows/{workflow_id}/webhook", status_code=201, response_model=WebhookCreated, dependencies=[RequireRun]
)
def create_webhook(workflow_id: uuid.UUID, request: Request, session: SessionDep, user: CurrentUser) -> WebhookCreated:
    """Create the workflow's webhook token, or rotate it (the previous token stops working at once).
    The token is shown only in this answer."""
    workflow = owned_workflow(session, user.id, workflow_id)
    if workflow is None:
        raise not_found("workflow")
    token = "wh_" + secrets.token_urlsafe(32)
    workflow.webhook_token_hash = token_hash(token)
    workflow.updated_at = utcnow()
    session.add(workflow)
    session.commit()
    return WebhookCreated(url=str(request.url_for("receive_webhook", token=token)), token=token)


@router.delete(
    "/workflows/{workflow_id}/webhook",
    status_code=204,
    response_class=Response,
    response_model=None,
    dependencies=[RequireRun],
)
def delete_webhook(workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Response:
    """Remove the workflow's webhook: its token answers 404 from now on."""
    workflow = owned_workflow(session, user.id, workflow_id)
    if workflow is None:
        raise not_found("workflow")
    if workflow.webhook_token_hash is not None:
        workflow.webhook_token_hash = None
        workflow.updated_at = utcnow()
        session.add(workflow)
        session.commit()
    return Response(status_code=204)


async def receive_webhook(
    token: str, request: Request, response: Response, session: SessionDep, services: ServicesDep
) -> WebhookAccepted:
    """Start a run of the workflow this token belongs to (no API key: the token is the credential).
    Answers 202 with the execution id; with a repeated `Idempotency-Key`, the first execution's id
    and `Idempotent-Replay: true`."""
    workflow = await run_in_threadpool(_workflow_for_token, session, token)
    key = _idempotency_key(request.headers.get("idempotency-key"))
    payload = {
        "method": request.method,
        "body": await _parsed_body(request),
        "query": _fields(request.query_params.multi_items()),
        "headers": _forwarded_headers(request.headers.items()),
    }
    try:
        plain_json_size(payload)
    except InputRejected as exc:
        raise ApiError(400, "bad_request", f"the request {exc}") from None
    execution, replayed = await run_in_threadpool(_accept, session, services, workflow, payload, key)
    if replayed:
        response.headers["Idempotent-Replay"] = "true"
    response.headers["Location"] = execution_location(execution.id)
    return WebhookAccepted(execution_id=execution.id)


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


def _accept(
    session: Session, services: AppServices, workflow: Workflow, payload: dict[str, Any], key: str | None
) -> tuple[Execution, bool]:
    if key is not None:
        earlier = execution_by_idempotency_key(session, workflow.id, key)
        if earlier is not None:
            return earlier, True
    plan = runnable_plan(session, workflow, workflow.current_version)
    try:
        execution = queue_execution(
            session, workflow, trigger="webhook", input=payload, lane=plan.lane, idempotency_key=key
        )
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent delivery with the same key won the race
        earlier = execution_by_idempotency_key(session, workflow.id, key) if key is not None else None
        if earlier is None:
            raise
        return earlier, True
    dispatch_now(session, services, [execution])
    return execution, False


def _idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not 0 < len(value) <= MAX_IDEMPOTENCY_KEY_LENGTH or not all(" " <= ch <= "~" for ch in value):
        raise ApiError(400, "bad_request", "Idempotency-Key must be 1-255 printable ASCII characters")
    return value


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise ApiError(400, "bad_request", "Content-Length is not a number")
        if int(declared) > MAX_BODY_BYTES:
            raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _too_large()
    return bytes(body)


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")


def _unsupported(message: str) -> ApiError:
    return ApiError(
        415,
        "unsupported_media_type",
        message + "; send application/json, application/x-www-form-urlencoded, multipart/form-data or text/plain",
    )


async def _parsed_body(request: Request) -> Any:
    raw = await _read_body(request)
    declared = request.headers.get("content-type")
    if not declared:
        if raw:
            raise _unsupported("a body needs a Content-Type")
        return None
    media_type, _, parameters = declared.partition(";")
    media_type = media_type.strip().lower()
    if media_type == "application/json":
        return _json_body(raw)
    if media_type == "application/x-www-form-urlencoded":
        return _form_body(raw)
    if media_type == "multipart/form-data":
        return await _multipart_body(request, raw)
    if media_type == "text/plain":
        return _text_body(raw, _charset(parameters))
    raise _unsupported(f"Content-Type {media_type or declared!r} is not accepted")


def _json_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_request", "the body is not valid JSON") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _form_body(raw: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=1000)
    except ValueError:  # also UnicodeDecodeError
        raise ApiError(400, "bad_request", "the form body is not valid UTF-8 form data") from None
    return _fields(pairs)


async def _multipart_body(request: Request, raw: bytes) -> dict[str, Any]:
    async def replay() -> AsyncIterator[bytes]:
        yield raw

    try:
        form = await MultiPartParser(request.headers, replay(), max_files=10, max_fields=1000).parse()
    except MultiPartException as exc:
        raise ApiError(400, "bad_request", f"the multipart body is invalid: {exc.message}") from None
    has_files = any(isinstance(value, UploadFile) for _, value in form.multi_items())
    if has_files:
        await form.close()
        raise _unsupported("file uploads are not accepted")
    return _fields((name, str(value)) for name, value in form.multi_items())


def _charset(parameters: str) -> str:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"') or "utf-8"
    return "utf-8"


def _text_body(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", f"the body is not valid {charset} text") from None


def _fields(pairs: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Name -> value, or a list of values when a name repeats."""
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name not in fields:
            fields[name] = value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
    return fields


def _forwarded_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in items:
        if name in FORWARDED_HEADERS or (name.startswith("x-") and name not in WITHHELD_HEADERS):
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers
