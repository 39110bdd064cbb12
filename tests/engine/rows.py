"""Reading back what a run persisted."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shared.db.models import Execution, ExecutionEvent, StepRun


def execution_row(engine: Engine, execution_id: uuid.UUID) -> Execution:
    with Session(engine) as session:
        return session.get(Execution, execution_id)


def step_rows(engine: Engine, execution_id: uuid.UUID) -> dict[str, StepRun]:
    with Session(engine) as session:
        rows = session.exec(select(StepRun).where(StepRun.execution_id == execution_id)).all()
        return {row.node_id: row for row in rows}


def event_rows(engine: Engine, execution_id: uuid.UUID) -> list[ExecutionEvent]:
    with Session(engine) as session:
        query = select(ExecutionEvent).where(ExecutionEvent.execution_id == execution_id).order_by(ExecutionEvent.seq)
        return list(session.exec(query).all())
