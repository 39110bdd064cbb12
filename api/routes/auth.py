"""Guest trials and claiming them.

`POST /auth/guest` needs no credentials. Its token is an API key (scope `full`) owned by a new
guest user: send it as `Authorization: Bearer <token>` like any key. One active trial per client
IP hash (see `shared.identity.guests`); when the trial ends, runs and writes answer 403
`trial_expired` while reads keep working, so the guest can still sign in and claim.

`POST /auth/claim-guest` is called with a Clerk session (`Authorization: Bearer <jwt>`) and the
guest token in the body: the guest's workflows, executions and credentials move to the signed-in
user and the guest (with its token) is deleted.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import CurrentIdentity, ServicesDep, SessionDep, SettingsDep
from api.errors import ApiError

router = APIRouter(tags=["auth"])


class GuestCreated(BaseModel):
    token: str = Field(description="The guest's API key: shown once; send it as `Authorization: Bearer <token>`")
    expires_at: datetime = Field(description="When the trial ends")
    credits: int


class GuestClaim(BaseModel):
    guest_token: str = Field(min_length=1, max_length=200, description="The token from POST /auth/guest")


class GuestClaimed(BaseModel):
    workflows: int
    executions: int
    credentials: int


@router.post("/auth/guest", status_code=201, response_model=GuestCreated)
def start_guest(request: Request, session: SessionDep, settings: SettingsDep) -> GuestCreated:
    """Start a guest trial from this network: a token, the trial's end and its credits. 409 while
    another guest trial from the same network is active."""
    from shared.identity.guests import TrialUnavailable, client_ip, start_guest_trial

    peer = request.client.host if request.client else None
    ip = client_ip(request.headers.get("x-forwarded-for"), peer, settings.trusted_proxy_hops)
    try:
        trial = start_guest_trial(session, settings, ip)
    except TrialUnavailable as exc:
        session.rollback()
        raise ApiError(
            409, "guest_trial_active", f"{exc}; sign up to keep going, or come back when it has ended"
        ) from None
    session.commit()
    return GuestCreated(token=trial.token, expires_at=trial.expires_at, credits=trial.credits)


@router.post("/auth/claim-guest", response_model=GuestClaimed)
def claim_guest_work(
    body: GuestClaim, identity: CurrentIdentity, session: SessionDep, services: ServicesDep
) -> GuestClaimed:
    """Move a guest's work to the signed-in caller. Needs a Clerk session, not an API key; 404 when
    the guest token is unknown, revoked or not a guest's."""
    from shared.identity.api_keys import authenticate_api_key
    from shared.identity.users import claim_guest

    if identity.api_key is not None or identity.user.kind != "user":
        raise ApiError(403, "sign_in_required", "claiming a guest needs a signed-in session, not an API key")
    found = authenticate_api_key(session, body.guest_token)
    if found is None or found[0].kind != "guest":
        raise ApiError(404, "not_found", "guest not found: the token is unknown, revoked or not a guest's")
    claimed = claim_guest(session, found[0], identity.user)
    session.commit()
    services.identity_cache.forget_user(found[0].id)
    services.identity_cache.forget_user(identity.user.id)
    return GuestClaimed(workflows=claimed.workflows, executions=claimed.executions, credentials=claimed.credentials)
