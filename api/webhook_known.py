"""Deliveries to a webhook this process has already accepted one for: one statement, one commit.

The first accepted delivery of an unsigned webhook leaves a `KnownHook` (its token's hash, the
workflow and its owner, the version and that version's lane and credit estimate), used for
`KNOWN_HOOK_TTL_S`. A later delivery to the same
token inserts its execution with `INSERT ... SELECT` from the workflow row, under conditions that
re-check everything the full path checks against the database: the token is still this
workflow's, the workflow is not archived, its current version is still the known one, it still
needs no signature, the owner's balance covers the estimate, and the owner is not a guest whose
trial has ended. When a condition fails nothing is written and the delivery takes the full path,
which answers as it always did (404, 409, 402, 403, 401).
So the entry is only a hint: a token rotated, or a workflow archived, in another process is seen
at once.

With a dispatcher whose messages live in this process (`InProcessQueue.stamps_on_insert`), the
execution is written already stamped `dispatched_at` and put on the queue after the commit: no
second transaction. A crash in between loses the queue anyway, and the next start puts the
process's queued executions back in the outbox (`shared.local.dev_server.prepare_database`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api.services import AppServices
from shared.db.models import Execution, User, Workflow
from shared.db.types import new_id, utcnow
from shared.identity.guests import trial_ended_at
from shared.queue.messages import QueueMessage

MAX_KNOWN_HOOKS = 4096


KNOWN_HOOK_TTL_S = 60.0
"""How long an entry is used before a delivery takes the full path again and renews it: what the
insert does not re-check (the owner's `kind`, for callers such as the rate limiter) is never staler."""


@dataclass(frozen=True)
class KnownHook:
    workflow_id: uuid.UUID
    owner_id: uuid.UUID
    owner_kind: str
    version: int
    lane: str
    credit_estimate: int
    learned_at: float = field(default_factory=time.monotonic)


_KNOWN: dict[str, KnownHook] = {}
"""Token hash -> the webhook it opened, for unsigned webhooks that accepted a delivery."""


def known_hook(digest: str | None) -> KnownHook | None:
    hook = _KNOWN.get(digest) if digest else None
    if hook is None or time.monotonic() - hook.learned_at >= KNOWN_HOOK_TTL_S:
        return None
    return hook


def remember_hook(digest: str, hook: KnownHook) -> None:
    if len(_KNOWN) >= MAX_KNOWN_HOOKS:
        _KNOWN.clear()
    _KNOWN[digest] = hook


def forget_hook(digest: str) -> None:
    _KNOWN.pop(digest, None)


def accept_known(
    session: Session,
    services: AppServices,
    digest: str,
    hook: KnownHook,
    payload: dict[str, Any],
    key: str | None,
) -> uuid.UUID | None:
    """The new execution's id, or None when the delivery needs the full path (nothing written)."""
    from api.routes.runs import dispatch_now

    execution_id, now = new_id(), utcnow()
    stamped = bool(getattr(services.dispatcher, "stamps_on_insert", False))
    values = {
        "id": execution_id,
        "token_hash": digest,
        "workflow_id": hook.workflow_id,
        "version": hook.version,
        "estimate": hook.credit_estimate,
        "input": payload,
        "idempotency_key": key,
        "lane": hook.lane,
        "queued_at": now,
        "dispatched_at": now if stamped else None,
        "now": now,
    }
    try:
        inserted = _insert(session, services, values)
    except IntegrityError:
        return None  # the idempotency key was used before: the full path finds that execution
    if not inserted:
        forget_hook(digest)
        return None
    if stamped:
        services.dispatcher.dispatch([QueueMessage(execution_id, 1, hook.lane)])
    else:
        written = Execution(
            id=execution_id,
            workflow_id=hook.workflow_id,
            owner_id=hook.owner_id,
            version=hook.version,
            trigger="webhook",
            lane=hook.lane,
            queued_at=now,
        )
        dispatch_now(session, services, [written])
    return execution_id


def _insert(session: Session, services: AppServices, values: dict[str, Any]) -> bool:
    """The insert, committed: in the request's transaction when one has begun (e.g. the rate
    limiter read in it), else alone in autocommit (one statement is atomic: no BEGIN and COMMIT
    round trips)."""
    statement = _insert_from_workflow()
    if not session.in_transaction():
        with services.autocommit_engine.connect() as conn:
            return conn.execute(statement, values).first() is not None
    try:
        inserted = session.execute(statement, values).first() is not None
    except IntegrityError:
        session.rollback()
        raise
    if inserted:
        session.commit()
    else:
        session.rollback()
    return inserted


@lru_cache(maxsize=1)
def _insert_from_workflow() -> sa.Insert:
    executions, workflows, users = Execution.__table__, Workflow.__table__, User.__table__

    def bound(name: str, column: sa.Column) -> sa.BindParameter:
        return sa.bindparam(name, type_=column.type)

    columns = {
        "id": bound("id", executions.c.id),
        "workflow_id": workflows.c.id,
        "version": workflows.c.current_version,
        "owner_id": workflows.c.owner_id,
        "trigger": sa.literal("webhook", executions.c.trigger.type),
        "status": sa.literal("queued", executions.c.status.type),
        "input": bound("input", executions.c.input),
        "attempt": sa.literal(1, executions.c.attempt.type),
        "credits_used": sa.literal(0, executions.c.credits_used.type),
        "idempotency_key": bound("idempotency_key", executions.c.idempotency_key),
        "cancel_requested": sa.literal(False, executions.c.cancel_requested.type),
        "lane": bound("lane", executions.c.lane),
        "queued_at": bound("queued_at", executions.c.queued_at),
        "dispatched_at": bound("dispatched_at", executions.c.dispatched_at),
    }
    source = (
        sa.select(*columns.values())
        .select_from(workflows.join(users, users.c.id == workflows.c.owner_id))
        .where(
            workflows.c.webhook_token_hash == bound("token_hash", workflows.c.webhook_token_hash),
            workflows.c.id == bound("workflow_id", workflows.c.id),
            workflows.c.current_version == bound("version", workflows.c.current_version),
            workflows.c.status != "archived",
            workflows.c.webhook_secret_ref.is_(None),
            users.c.credits >= bound("estimate", users.c.credits),
            sa.not_(trial_ended_at(bound("now", users.c.trial_expires_at))),
        )
    )
    return executions.insert().from_select(list(columns), source).returning(executions.c.id)
