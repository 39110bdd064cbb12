"""The audit trail: a middleware that records every successful authenticated write, and
`GET /api/audit` that lists the caller's own rows.

The middleware writes the row before the answer's first byte leaves, so a client that saw a 2xx
can read its row at once. It only records requests the rate-limit dependency identified
(`request.state.actor`): unauthenticated writes (webhooks, guest sign-up) have no actor to record.
A failing audit write is logged and does not turn a done write into an error."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlmodel import Session

from api.deps import CurrentUser, SessionDep
from api.errors import ApiError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

router = APIRouter(tags=["audit"])
logger = logging.getLogger("flowbuilder.audit")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuditEntryPublic(BaseModel):
    id: uuid.UUID
    action: str
    target_type: str
    target_id: str | None
    at: datetime


class AuditPage(BaseModel):
    data: list[AuditEntryPublic]
    next_cursor: str | None


@router.get("/audit", response_model=AuditPage)
def list_audit(
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AuditPage:
    """The caller's audit rows, newest first; pass `next_cursor` back as `cursor` for the next page."""
    from shared.audit import actor_rows

    try:
        rows, next_cursor = actor_rows(session, user.id, limit, cursor)
    except ValueError:
        raise ApiError(400, "bad_request", "the cursor is not one this API gave out") from None
    return AuditPage(
        data=[AuditEntryPublic.model_validate(row, from_attributes=True) for row in rows], next_cursor=next_cursor
    )


def _record(scope: Scope) -> None:
    from api.ratelimit import request_client_ip, route_template
    from shared.audit import record_write
    from shared.identity.guests import ip_hash

    services = scope["app"].state.services
    actor = scope["state"]["actor"]
    request = Request(scope)
    template = route_template(scope)
    erased = template == "/api/me" and request.method == "DELETE"  # the user is gone: keep no link to them
    hashed = ip_hash(request_client_ip(request, services.settings), services.settings.guest_ip_salt.get_secret_value())
    with Session(services.engine) as session:
        record_write(
            session,
            actor_id=None if erased else actor.user_id,
            method=request.method,
            template=template,
            path_params=scope.get("path_params", {}),
            ip_hash=None if erased else hashed,
        )
        session.commit()


class AuditTrail:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return

        async def send_after_recording(message: Message) -> None:
            if message["type"] == "http.response.start" and _should_record(scope, message):
                try:
                    await run_in_threadpool(_record, scope)
                except Exception:
                    logger.exception("could not write the audit row of %s %s", scope["method"], scope["path"])
            await send(message)

        await self.app(scope, receive, send_after_recording)


def _should_record(scope: Scope, message: dict[str, Any]) -> bool:
    return 200 <= message["status"] < 300 and scope.get("state", {}).get("actor") is not None


def install_audit(app: FastAPI) -> None:
    app.add_middleware(AuditTrail)
