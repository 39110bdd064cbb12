from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import SessionDep
from api.errors import ApiError

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/health", response_model=Health)
def health(session: SessionDep) -> Health:
    """Answers 200 when the API can reach its database, 503 when it cannot."""
    try:
        session.execute(sa.text("select 1"))
    except sa.exc.SQLAlchemyError:
        raise ApiError(503, "unavailable", "the database does not answer") from None
    return Health(status="ok", database="ok")
