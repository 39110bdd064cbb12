"""Credits: a balance on `users` (a cache of the ledger's sum) and an append-only `credit_ledger`.

- At trigger time a run is refused when the owner's balance is below the plan's estimate
  (`check_balance`: runs, retries, resumes, webhooks; the scheduler uses `out_of_credits`).
- As steps finish, each charged step writes a ledger row (`reason = "step"`) and decrements the
  balance in the runner's own write (see `shared.db.execution_store`): the same transaction as the
  step row, so a step is charged exactly when its result is stored, with no extra round trip.
- Operators grant credits with `flowbuilder credits grant USER N` (`reason = "grant"`).

A run may overdraw: the estimate counts every node once, while `for_each` nodes cost per item and
retried failures still cost; the balance then goes negative and the next trigger is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from shared.db.models import CreditLedgerEntry, Execution, User
from shared.db.types import utcnow
from shared.engine.store import StepWrite

users = User.__table__
ledger = CreditLedgerEntry.__table__

CHARGED_STATUSES = frozenset({"succeeded", "failed"})


class InsufficientCredits(Exception):
    def __init__(self, estimate: int, balance: int) -> None:
        super().__init__(f"this run needs about {estimate} credits and the balance is {balance}")
        self.estimate, self.balance = estimate, balance


def balance_of(session: Session, user_id: uuid.UUID) -> int:
    return session.execute(sa.select(users.c.credits).where(users.c.id == user_id)).scalar_one_or_none() or 0


def check_balance(session: Session, user_id: uuid.UUID, estimate: int) -> int:
    """The balance; raises `InsufficientCredits` when it is below `estimate`."""
    balance = balance_of(session, user_id)
    if out_of_credits(balance, estimate):
        raise InsufficientCredits(estimate, balance)
    return balance


def out_of_credits(balance: int, estimate: int) -> bool:
    return balance < estimate


def grant(session: Session, user_id: uuid.UUID, amount: int, reason: str = "grant") -> int:
    """Add `amount` (negative to take away) with a ledger row; returns the new balance. Raises
    LookupError for an unknown user. The caller commits."""
    balance = session.execute(
        sa.update(users)
        .where(users.c.id == user_id)
        .values(credits=users.c.credits + amount, updated_at=utcnow())
        .returning(users.c.credits)
    ).scalar_one_or_none()
    if balance is None:
        raise LookupError(f"no user {user_id}")
    session.execute(ledger.insert().values(id=uuid.uuid4(), owner_id=user_id, delta=amount, reason=reason, at=utcnow()))
    return balance


def charged_steps(writes: Iterable[StepWrite]) -> list[StepWrite]:
    """The finished steps among a batch's writes (one per node: a step's start and finish may be the
    same object, buffered twice) that cost something. A step finishes once per execution, and
    reused steps of a resumed execution are not written again, so nothing is charged twice."""
    return [write for write in writes if write.status in CHARGED_STATUSES and write.credits > 0]


def charge_steps(conn: sa.Connection, execution_id: uuid.UUID, charges: list[StepWrite]) -> None:
    """The ledger rows and the balance decrement of `charges`, on a connection inside the write's
    transaction (SQLite; PostgreSQL does the same in `pg_write`'s single statement)."""
    executions = Execution.__table__
    owner_id = conn.execute(sa.select(executions.c.owner_id).where(executions.c.id == execution_id)).scalar_one()
    conn.execute(ledger.insert(), [_ledger_row(owner_id, execution_id, write) for write in charges])
    total = sum(write.credits for write in charges)
    conn.execute(users.update().where(users.c.id == owner_id).values(credits=users.c.credits - total))


def _ledger_row(owner_id: uuid.UUID, execution_id: uuid.UUID, write: StepWrite) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "owner_id": owner_id,
        "delta": -write.credits,
        "reason": "step",
        "execution_id": execution_id,
        "node_id": write.node_id,
        "at": write.finished_at or utcnow(),
    }


_estimates: dict[tuple[uuid.UUID, int], int] = {}


def estimate_of(workflow_id: uuid.UUID, version: int, definition: Any) -> int:
    """A workflow version's credit estimate, cached (versions never change); 0 when it does not
    validate (it will fail without running a step)."""
    key = (workflow_id, version)
    if key not in _estimates:
        from shared.engine.planner import build_plan
        from shared.engine.validation import DefinitionInvalid, parse_definition
        from shared.nodes import default_registry

        registry = default_registry()
        try:
            estimate = build_plan(parse_definition(definition, registry), registry).credit_estimate()
        except (DefinitionInvalid, TypeError, ValueError):
            estimate = 0
        if len(_estimates) >= 10_000:
            _estimates.clear()
        _estimates[key] = estimate
    return _estimates[key]


def out_of_credits_error(balance: int, estimate: int) -> str:
    return (
        f"not run: the owner is out of credits (balance {balance}, this workflow needs about {estimate}); "
        "add credits and the next scheduled run will go ahead"
    )
