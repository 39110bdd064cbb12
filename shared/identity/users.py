"""Signed-in users: a row per Clerk user, made on first sight; and claiming a guest's work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from shared.db.models import User
from shared.db.models.accounts import Credential, CreditLedgerEntry
from shared.db.models.executions import Artifact, Execution
from shared.db.models.workflows import Workflow
from shared.db.types import utcnow

STARTING_CREDITS_REASON = "starting_credits"


def user_for_clerk_claims(session: Session, claims: dict[str, Any], starting_credits: int) -> User:
    """The user for verified Clerk claims, created with `starting_credits` (and a ledger row) the
    first time its `sub` is seen. Safe against two first requests racing: the loser re-reads."""
    clerk_user_id = str(claims["sub"])
    user = _by_clerk_id(session, clerk_user_id)
    if user is not None:
        return user
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    user = User(clerk_user_id=clerk_user_id, email=email, kind="user", credits=starting_credits)
    try:
        session.add(user)
        session.flush()
        if starting_credits:
            session.add(CreditLedgerEntry(owner_id=user.id, delta=starting_credits, reason=STARTING_CREDITS_REASON))
        session.commit()
    except IntegrityError:
        session.rollback()
        user = _by_clerk_id(session, clerk_user_id)
        if user is None:
            raise
    return user


def _by_clerk_id(session: Session, clerk_user_id: str) -> User | None:
    return session.exec(select(User).where(User.clerk_user_id == clerk_user_id)).first()


@dataclass(frozen=True)
class ClaimedGuest:
    workflows: int
    executions: int
    credentials: int


def claim_guest(session: Session, guest: User, user: User) -> ClaimedGuest:
    """Move a guest's workflows, executions, artifacts and credentials to `user`, then delete the
    guest (its keys go with it). Trial credits are not carried over. A credential whose name the
    user already has is renamed `<name> (guest)`. The caller commits."""
    if guest.kind != "guest":
        raise ValueError("only guests can be claimed")
    if guest.id == user.id:
        raise ValueError("a user cannot claim themself")
    taken = set(session.exec(select(Credential.name).where(Credential.owner_id == user.id)).all())
    credentials = list(session.exec(select(Credential).where(Credential.owner_id == guest.id)).all())
    for credential in credentials:
        credential.name = _free_name(credential.name, taken)
        taken.add(credential.name)
        credential.owner_id = user.id
        credential.updated_at = utcnow()
        session.add(credential)
    session.flush()
    workflows = _reassign(session, Workflow, guest.id, user.id)
    executions = _reassign(session, Execution, guest.id, user.id)
    _reassign(session, Artifact, guest.id, user.id)
    session.execute(sa.delete(User).where(User.id == guest.id))
    return ClaimedGuest(workflows=workflows, executions=executions, credentials=len(credentials))


def _reassign(session: Session, model: Any, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
    result = session.execute(sa.update(model).where(model.owner_id == from_id).values(owner_id=to_id))
    return result.rowcount or 0


def _free_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    candidate = f"{name[:190]} (guest)"
    while candidate in taken:
        candidate = f"{name[:180]} (guest {uuid.uuid4().hex[:6]})"
    return candidate
