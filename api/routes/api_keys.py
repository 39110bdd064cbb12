"""API keys: create (the key is in this one response, never again), list, revoke.

Scopes: `read`, `run` (read + trigger runs, retries, resumes, cancels, webhooks), `full`.
Creating and revoking need `full`; listing needs any scope. Only the SHA-256 of a key is stored,
and revocation takes effect on the next request (every request looks the key up).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Response
from pydantic import AfterValidator, BaseModel, Field
from sqlmodel import select

from api.deps import CurrentUser, RequireFull, ServicesDep, SessionDep
from api.errors import not_found
from api.schemas.common import Page
from api.schemas.workflows import storable_text
from shared.db.models import ApiKey
from shared.db.types import utcnow
from shared.identity.api_keys import issue_api_key

router = APIRouter(tags=["api-keys"])

Scope = Literal["read", "run", "full"]


class ApiKeyCreate(BaseModel):
    name: Annotated[str, AfterValidator(storable_text), Field(min_length=1, max_length=200)]
    scope: Scope = "full"


class ApiKeyPublic(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scope: Scope
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The whole key. Shown in this response only: store it now.")


ApiKeysPublic = Page[ApiKeyPublic]


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, dependencies=[RequireFull])
def create_api_key(body: ApiKeyCreate, session: SessionDep, user: CurrentUser) -> ApiKeyCreated:
    """A new key for the caller. The response holds the key itself, once; later only its prefix."""
    issued = issue_api_key(session, user.id, body.name, body.scope)
    session.commit()
    public = ApiKeyPublic.model_validate(issued.record, from_attributes=True)
    return ApiKeyCreated(**public.model_dump(), key=issued.key)


@router.get("/api-keys", response_model=ApiKeysPublic)
def list_api_keys(session: SessionDep, user: CurrentUser) -> ApiKeysPublic:
    """The caller's keys, newest first, revoked ones included (with `revoked_at`)."""
    rows = session.exec(
        select(ApiKey).where(ApiKey.owner_id == user.id).order_by(sa.desc(ApiKey.created_at), sa.desc(ApiKey.id))
    ).all()
    data = [ApiKeyPublic.model_validate(row, from_attributes=True) for row in rows]
    return ApiKeysPublic(data=data, count=len(data))


@router.delete(
    "/api-keys/{key_id}", status_code=204, response_class=Response, response_model=None, dependencies=[RequireFull]
)
def revoke_api_key(key_id: uuid.UUID, session: SessionDep, user: CurrentUser, services: ServicesDep) -> Response:
    """Revoke a key: requests with it fail from now on. Revoking a revoked key changes nothing."""
    key = session.exec(select(ApiKey).where(ApiKey.id == key_id, ApiKey.owner_id == user.id)).first()
    if key is None:
        raise not_found("API key")
    if key.revoked_at is None:
        session.execute(
            sa.update(ApiKey).where(ApiKey.id == key.id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())  # type: ignore[union-attr]
        )
        session.commit()
        services.identity_cache.forget_user(user.id)
    return Response(status_code=204)
