"""Rate limits as one app-wide dependency, plus a small ASGI middleware that puts the
`RateLimit-*` headers on every answer (including errors and streams, which a dependency's
`Response` cannot reach).

Who is counted:
- a signed-in caller (Clerk session or API key) by their user id, so a user's keys share the
  user's budget; guests get the guest limits, everyone else the user limits;
- anyone else (no credentials, or credentials that failed: webhooks, guest sign-up, brute force)
  by client IP (X-Forwarded-For read through `trusted_proxy_hops`, IPv6 grouped by /64).
Starting a run (runs, retries, resumes, webhooks) also counts against the executions limit of the
workflow's owner. Health and the API docs are never limited.

The dependency also leaves the caller on `request.state.actor` for the audit trail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, select

from api.deps import SessionDep, get_identity, services_of
from api.errors import ApiError
from shared.db.models import User, Workflow
from shared.ratelimit import Decision, Limit, RateLimiter

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from api.services import AppServices
    from shared.settings import Settings

UNLIMITED_PREFIXES = ("/api/health", "/api/docs", "/api/openapi.json")
EXECUTION_ROUTES = frozenset(
    {
        ("POST", "/api/workflows/{workflow_id}/runs"),
        ("POST", "/api/executions/{execution_id}/retry"),
        ("POST", "/api/executions/{execution_id}/resume"),
    }
)
WEBHOOK_ROUTE = "/api/hooks/{token}"


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of a request, as the audit trail needs it."""

    user_id: uuid.UUID
    kind: str


def limiter_for(app: FastAPI) -> RateLimiter:
    """One limiter per app: memory counters locally, the database's in aws mode (or as configured)."""
    limiter = getattr(app.state, "rate_limiter", None)
    if limiter is None:
        from shared.ratelimit import DatabaseCounterStore, MemoryCounterStore

        services: AppServices = app.state.services
        store_kind = services.settings.rate_limit_store
        if store_kind == "auto":
            store_kind = "database" if services.settings.mode == "aws" else "memory"
        store = DatabaseCounterStore(services.engine) if store_kind == "database" else MemoryCounterStore()
        limiter = app.state.rate_limiter = RateLimiter(store)
    return limiter


def route_template(scope: Scope) -> str:
    """The matched route's full path template (`/api/workflows/{workflow_id}/runs`): the request
    path with each path parameter's segment put back as `{name}`. (FastAPI's `scope["route"]` of
    an included router carries the path without the router's prefix.)"""
    segments = scope.get("path", "").split("/")
    for name, value in (scope.get("path_params") or {}).items():
        segments = [f"{{{name}}}" if segment == str(value) else segment for segment in segments]
    return "/".join(segments)


def request_client_ip(request: Request, settings: Settings) -> str:
    from shared.identity.guests import client_group, client_ip

    peer = request.client.host if request.client else None
    return client_group(client_ip(request.headers.get("x-forwarded-for"), peer, settings.trusted_proxy_hops))


async def _authenticate(request: Request, session: Session) -> User | None:
    """The caller's user, or None when no credentials were sent or they failed. The same
    `get_identity` the routes use, which keeps its answer for the rest of the request."""
    from api.deps import presented_key

    if presented_key(request) is None:
        return None
    try:
        return (await get_identity(request, session)).user
    except ApiError:
        return None


@dataclass(frozen=True)
class Owner:
    """Whose runs a webhook delivery counts against: all the limiter needs of a user."""

    id: uuid.UUID
    kind: str


def _known_webhook_owner(request: Request) -> Owner | None:
    """The owner of a webhook this process accepted a delivery for lately (`api/webhook_known.py`),
    without a query; None when it is not known."""
    from api.routes.webhooks import MAX_TOKEN_LENGTH, token_hash
    from api.webhook_known import known_hook

    token = request.path_params.get("token", "")
    hook = known_hook(token_hash(token)) if len(token) <= MAX_TOKEN_LENGTH else None
    return None if hook is None else Owner(hook.owner_id, hook.owner_kind)


def _webhook_owner(session: Session, token: str) -> User | None:
    from api.routes.webhooks import MAX_TOKEN_LENGTH, token_hash

    if len(token) > MAX_TOKEN_LENGTH:
        return None
    query = select(User).join(Workflow, Workflow.owner_id == User.id)
    return session.exec(query.where(Workflow.webhook_token_hash == token_hash(token))).first()


def _limits(settings: Settings, kind: str) -> tuple[Limit, Limit]:
    window = settings.rate_limit_window_s
    if kind == "guest":
        return Limit(settings.rate_limit_guest_requests, window), Limit(settings.rate_limit_guest_executions, window)
    return Limit(settings.rate_limit_user_requests, window), Limit(settings.rate_limit_user_executions, window)


def _check(
    request: Request, session: Session, services: AppServices, user: User | None, template: str
) -> tuple[Decision, str]:
    """The decision that matters for this request (the failed one, else the one with the least
    left) and what it counts: `requests` or `runs`. `template` is the matched route's."""
    settings = services.settings
    limiter = limiter_for(request.app)
    if user is not None:
        decision = limiter.hit(f"req:user:{user.id}", _limits(settings, user.kind)[0])
    else:
        ip_limit = Limit(settings.rate_limit_ip_requests, settings.rate_limit_window_s)
        decision = limiter.hit(f"req:ip:{request_client_ip(request, settings)}", ip_limit)
    if not decision.allowed:
        return decision, "requests"
    owner: User | Owner | None = user
    if template == WEBHOOK_ROUTE:
        owner = _known_webhook_owner(request) or _webhook_owner(session, request.path_params.get("token", ""))
    elif (request.method, template) not in EXECUTION_ROUTES:
        return decision, "requests"
    if owner is None:
        return decision, "requests"
    runs = limiter.hit(f"exec:user:{owner.id}", _limits(settings, owner.kind)[1])
    if not runs.allowed or runs.remaining < decision.remaining:
        return runs, "starts of runs"
    return decision, "requests"


async def enforce_rate_limit(request: Request, session: SessionDep) -> None:
    """429 with `Retry-After` when the caller is over a limit; the headers go out on every answer."""
    if request.scope["path"].startswith(UNLIMITED_PREFIXES):
        return
    services = services_of(request)
    user = await _authenticate(request, session)
    if user is not None:
        request.state.actor = Actor(user.id, user.kind)
    if not services.settings.rate_limit_enabled:
        return
    template = route_template(request.scope)
    if _needs_database(request, template):
        decision, what = await run_in_threadpool(_check, request, session, services, user, template)
    else:
        decision, what = _check(request, session, services, user, template)
    request.state.rate_limit = decision
    if not decision.allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"too many {what}: the limit is {decision.limit} per {services.settings.rate_limit_window_s} s; "
            f"try again in {decision.reset_s} s",
            headers=decision.headers(),
        )


def _needs_database(request: Request, template: str) -> bool:
    """Counting in memory does no I/O, so it runs on the event loop; counters in the database and
    the lookup of a webhook owner this process does not know go to a worker thread."""
    from shared.ratelimit import MemoryCounterStore

    if not isinstance(limiter_for(request.app).store, MemoryCounterStore):
        return True
    return template == WEBHOOK_ROUTE and _known_webhook_owner(request) is None


class RateLimitHeaders:
    """Adds the request's `RateLimit-*` headers (left on `request.state` by the dependency) to
    whatever answer goes out, unless the answer already carries them (a 429)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            decision = scope.get("state", {}).get("rate_limit")
            if message["type"] == "http.response.start" and decision is not None:
                headers: list[Any] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in decision.headers().items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_rate_limits(app: FastAPI) -> None:
    """Call before the routers are included: the dependency is added to every route after it."""
    app.router.dependencies.append(Depends(enforce_rate_limit))
    app.add_middleware(RateLimitHeaders)
