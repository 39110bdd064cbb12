from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentUser, SessionDep

router = APIRouter(tags=["me"])


class MePublic(BaseModel):
    id: uuid.UUID
    email: str | None
    kind: str
    credits: int
    trial_expires_at: datetime | None


@router.get("/me", response_model=MePublic)
def me(user: CurrentUser, session: SessionDep) -> MePublic:
    """Who the caller is, with their credit balance."""
    session.refresh(user)
    return MePublic.model_validate(user, from_attributes=True)
