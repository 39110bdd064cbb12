"""Typed dependencies: a route's signature reads like a sentence
(`def get_workflow(workflow_id: UUID, session: SessionDep, user: CurrentUser)`).

Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` in a worker thread, and that
hop costs more than they do."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from api.errors import ApiError
from api.services import AppServices
from shared.db.models import ApiKey, User
from shared.db.read_only import ReadOnlySession, read_only_session
from shared.settings import Settings


def services_of(request: Request) -> AppServices:
    return request.app.state.services


async def get_services(request: Request) -> AppServices:
    return services_of(request)


ServicesDep = Annotated[AppServices, Depends(get_services)]


async def get_settings(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


READ_METHODS = frozenset({"GET", "HEAD"})
WRITING_READ_PREFIXES = ("/api/hooks/",)
"""Paths whose GET or HEAD may still write: a webhook accepts any method and starts a run."""


def reads_only(request: Request) -> bool:
    return request.method in READ_METHODS and not request.scope["path"].startswith(WRITING_READ_PREFIXES)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A read (`reads_only`) gets a read-only session in autocommit (`shared/db/read_only.py`),
    closed on the event loop: handing its connection back does no I/O. Any other request gets a
    transactional session; closing one that began a transaction does I/O (rollback, return to the
    pool): a worker thread's job then."""
    services = services_of(request)
    if reads_only(request):
        reader = read_only_session(services.autocommit_engine)
        try:
            yield reader
        finally:
            reader.close()
        return
    session = Session(services.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


SCOPE_RANK = {"read": 0, "run": 1, "full": 2}


@dataclass(frozen=True)
class Identity:
    """Who is calling and what they may do: `scope` is the API key's, `full` for a Clerk session
    (`api_key` is then None)."""

    user: User
    scope: str
    api_key: ApiKey | None = None


def _unauthorized(message: str, reason: str | None = None) -> ApiError:
    challenge = 'Bearer realm="flowbuilder"'
    if reason is not None:
        description = reason.replace("\\", "").replace('"', "'")
        challenge += f', error="invalid_token", error_description="{description}"'
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


async def get_identity(request: Request, session: SessionDep) -> Identity:
    """A Clerk session (`Authorization: Bearer <jwt>`: a JWT has two dots) or an API key (Bearer or
    `X-API-Key`; keys never contain dots). Looked up once per request: the rate limit asks first,
    the route's dependencies get the same answer. Reads may take a recent API-key lookup from the
    identity cache (`api/identity_cache.py`) without touching the database."""
    known = getattr(request.state, "identity", None)
    if known is None:
        services = services_of(request)
        known = _cached_identity(request, session, services)
        if known is None:
            known = await run_in_threadpool(_identity, request, session, services)
        request.state.identity = known
    return known


def _cached_identity(request: Request, session: Session, services: AppServices) -> Identity | None:
    cache = services.identity_cache
    if not cache.enabled or request.method not in READ_METHODS:
        return None
    token = presented_key(request)
    if token is None or token.count(".") == 2:
        return None
    from shared.identity.api_keys import hash_key

    hit = cache.get(hash_key(token), session)
    return None if hit is None else Identity(user=hit[0], scope=hit[1].scope, api_key=hit[1])


def _identity(request: Request, session: Session, services: AppServices) -> Identity:
    """Signing in may write (a key's last use, a Clerk user's first sign-in): a read-only request
    does that in a short transaction of its own and gets the rows merged into its session."""
    if not isinstance(session, ReadOnlySession):
        return _signed_in(request, session, services)
    with Session(services.engine, expire_on_commit=False) as writer:
        found = _signed_in(request, writer, services)
    api_key = None if found.api_key is None else session.merge(found.api_key, load=False)
    return Identity(user=session.merge(found.user, load=False), scope=found.scope, api_key=api_key)


def _signed_in(request: Request, session: Session, services: AppServices) -> Identity:
    token = presented_key(request)
    if token is None:
        raise _unauthorized("sign in, or send an API key: Authorization: Bearer <key> or X-API-Key")
    if token.count(".") == 2:
        return _clerk_identity(session, services.settings, token)
    from shared.identity.api_keys import authenticate_api_key, hash_key

    found = authenticate_api_key(session, token)
    if found is None:
        services.identity_cache.forget_key(hash_key(token))
        raise _unauthorized("the API key is unknown or revoked", "the API key is unknown or revoked")
    user, api_key = found
    services.identity_cache.put(hash_key(token), user, api_key)
    return Identity(user=user, scope=api_key.scope, api_key=api_key)


def _clerk_identity(session: Session, settings: Settings, token: str) -> Identity:
    from shared.identity.clerk import ClerkTokenError, verifier_for
    from shared.identity.users import user_for_clerk_claims

    verifier = verifier_for(settings)
    if verifier is None:
        raise _unauthorized("sign-in with Clerk is not configured here", "Clerk sign-in is not configured")
    try:
        claims = verifier.verify(token)
    except ClerkTokenError as exc:
        raise _unauthorized(f"the session token was refused: {exc.reason}", exc.reason) from None
    return Identity(user=user_for_clerk_claims(session, claims, settings.user_starting_credits), scope="full")


CurrentIdentity = Annotated[Identity, Depends(get_identity)]


async def get_current_user(request: Request, session: SessionDep) -> User:
    """`get_identity`'s user, called directly: one dependency fewer for FastAPI to solve on every
    request."""
    return (await get_identity(request, session)).user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_scope(scope: str) -> Callable[[Identity], None]:
    """A route dependency: 403 unless the caller's key has at least `scope` (read < run < full),
    and 403 for a guest whose trial has ended (reads stay open so they can sign in and claim)."""
    needed = SCOPE_RANK[scope]
    challenge = f'Bearer realm="flowbuilder", error="insufficient_scope", scope="{scope}"'

    def check_scope(identity: CurrentIdentity) -> None:
        if SCOPE_RANK.get(identity.scope, -1) < needed:
            raise ApiError(
                403,
                "insufficient_scope",
                f"this API key has scope `{identity.scope}`; this operation needs `{scope}`",
                headers={"WWW-Authenticate": challenge},
            )
        from shared.identity.guests import trial_has_ended

        if trial_has_ended(identity.user):
            raise ApiError(
                403, "trial_expired", "your guest trial has ended: sign in to keep your workflows and run them again"
            )

    return check_scope


RequireRun = Depends(require_scope("run"))
RequireFull = Depends(require_scope("full"))
