"""Typed dependencies: a route's signature reads like a sentence
(`def get_workflow(workflow_id: UUID, session: SessionDep, user: CurrentUser)`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from api.errors import ApiError
from api.services import AppServices
from shared.db.models import ApiKey, User
from shared.settings import Settings


def get_services(request: Request) -> AppServices:
    return request.app.state.services


ServicesDep = Annotated[AppServices, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with Session(services.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def get_current_key(request: Request, session: SessionDep) -> tuple[User, ApiKey]:
    from shared.identity.api_keys import authenticate_api_key

    key = presented_key(request)
    unauthorized = {"WWW-Authenticate": 'Bearer realm="flowbuilder"'}
    if key is None:
        raise ApiError(
            401, "unauthorized", "send an API key: Authorization: Bearer <key> or X-API-Key", headers=unauthorized
        )
    found = authenticate_api_key(session, key)
    if found is None:
        raise ApiError(401, "unauthorized", "the API key is unknown or revoked", headers=unauthorized)
    return found


def get_current_user(identity: Annotated[tuple[User, ApiKey], Depends(get_current_key)]) -> User:
    return identity[0]


CurrentUser = Annotated[User, Depends(get_current_user)]
