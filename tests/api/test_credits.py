"""Credits: the balance is checked when a run is triggered, each charged step is written to the
ledger and taken off the balance as it finishes, unfunded schedules do not dispatch, operators grant."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel
from sqlmodel import Session, select
from typer.testing import CliRunner

from shared.cli import app as cli_app
from shared.db.crud import create_workflow, queue_execution
from shared.db.execution_store import SqlExecutionStore
from shared.db.models import CreditLedgerEntry, Execution, User
from shared.engine.runner import WorkflowRunner
from shared.nodes import build_registry
from shared.nodes.registry import NodeType
from shared.scheduler.due import claim_due_batch
from shared.vault import InMemoryCredentialProvider
from tests.api.conftest import make_user

PAID = {  # http.request costs 1 credit
    "nodes": [
        {"id": "a", "type": "http.request", "config": {"url": "https://example.com/a"}},
        {"id": "b", "type": "http.request", "config": {"url": "https://example.com/b"}},
    ],
    "edges": [{"from": "a", "to": "b"}],
}


def set_balance(engine, user_id, credits: int) -> None:
    with Session(engine) as session:
        user = session.get(User, user_id)
        user.credits = credits
        session.add(user)
        session.commit()


def balance(engine, user_id) -> int:
    with Session(engine) as session:
        return session.get(User, user_id).credits


def make_workflow(engine, owner_id, definition=PAID, **fields) -> uuid.UUID:
    with Session(engine) as session:
        workflow, _ = create_workflow(session, owner_id, "paid", definition)
        for name, value in fields.items():
            setattr(workflow, name, value)
        session.add(workflow)
        session.commit()
        return workflow.id


def test_a_run_is_refused_with_402_when_the_balance_is_below_the_estimate(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)
    set_balance(engine, caller.user_id, 1)

    response = caller.client.post(f"/api/workflows/{workflow_id}/runs", json={})

    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "insufficient_credits"
    assert "2 credits" in error["message"] and "balance is 1" in error["message"]
    assert {(d["field"], d["message"]) for d in error["details"]} == {("credit_estimate", "2"), ("balance", "1")}


def test_a_run_within_the_balance_is_accepted(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)
    set_balance(engine, caller.user_id, 2)

    assert caller.client.post(f"/api/workflows/{workflow_id}/runs", json={}).status_code == 202


@pytest.mark.parametrize("action", ["retry", "resume"])
def test_retries_and_resumes_check_the_balance_too(caller, engine, action):
    workflow_id = make_workflow(engine, caller.user_id)
    with Session(engine) as session:
        execution = Execution(
            workflow_id=workflow_id, version=1, owner_id=caller.user_id, trigger="api", status="failed"
        )
        session.add(execution)
        session.commit()
        execution_id = execution.id
    set_balance(engine, caller.user_id, 0)

    response = caller.client.post(f"/api/executions/{execution_id}/{action}", json={})

    assert response.status_code == 402


def test_webhook_deliveries_check_the_owners_balance(caller, anonymous, engine):
    workflow_id = make_workflow(engine, caller.user_id)
    token = caller.client.post(f"/api/workflows/{workflow_id}/webhook").json()["token"]
    set_balance(engine, caller.user_id, 0)

    response = anonymous.post(f"/api/hooks/{token}", json={})

    assert response.status_code == 402
    assert "balance is 0" in response.json()["error"]["message"]


class PaidConfig(BaseModel):
    fail: bool = False


async def _paid(ctx, config: PaidConfig):
    if config.fail:
        from shared.engine.errors import NodeError

        raise NodeError("planned failure", retryable=False)
    return {"ok": True}


def run_paid_workflow(engine, settings, owner_id, definition) -> uuid.UUID:
    registry = build_registry()
    registry.add(NodeType("test.paid", PaidConfig, _paid, cost=3))
    with Session(engine) as session:
        workflow, _ = create_workflow(session, owner_id, "charged", definition)
        execution_id = queue_execution(session, workflow, trigger="api").id
        session.commit()
    store = SqlExecutionStore(engine)
    store.claim(execution_id, "test")
    runner = WorkflowRunner(store, settings=settings, credentials=InMemoryCredentialProvider(), registry=registry)
    asyncio.run(runner.run(execution_id))
    return execution_id


def test_each_finished_step_is_charged_with_a_ledger_row(engine, settings):
    owner_id, _ = make_user(engine, credits=10)
    definition = {
        "nodes": [
            {"id": "one", "type": "test.paid", "config": {}},
            {"id": "free", "type": "text.combine", "config": {"parts": ["x"]}},
            {"id": "two", "type": "test.paid", "config": {"fail": True}},
        ],
        "edges": [{"from": "one", "to": "free"}, {"from": "free", "to": "two"}],
    }

    execution_id = run_paid_workflow(engine, settings, owner_id, definition)

    with Session(engine) as session:
        rows = session.exec(select(CreditLedgerEntry).where(CreditLedgerEntry.execution_id == execution_id)).all()
        execution = session.get(Execution, execution_id)
    assert sorted((row.node_id, row.delta, row.reason, row.owner_id) for row in rows) == [
        ("one", -3, "step", owner_id),
        ("two", -3, "step", owner_id),  # a failed step ran, and is charged
    ]
    assert balance(engine, owner_id) == 4
    assert execution.credits_used == 6


def test_scheduled_runs_of_an_owner_out_of_credits_are_created_failed_and_say_why(engine):
    broke, _ = make_user(engine, credits=0)
    funded, _ = make_user(engine, credits=100)
    due = datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
    fields = {"cron": "0 9 * * *", "schedule_enabled": True, "next_run_at": due}
    broke_workflow = make_workflow(engine, broke, **fields)
    funded_workflow = make_workflow(engine, funded, **fields)

    claim_due_batch(engine, due + timedelta(seconds=5), batch_size=1000)

    with Session(engine) as session:
        [refused] = session.exec(select(Execution).where(Execution.workflow_id == broke_workflow)).all()
        [queued] = session.exec(select(Execution).where(Execution.workflow_id == funded_workflow)).all()
    assert (refused.status, refused.dispatched_at is not None, refused.finished_at is not None) == (
        "failed",
        True,
        True,
    )
    assert "out of credits" in refused.error and "balance 0" in refused.error
    assert (queued.status, queued.dispatched_at, queued.error) == ("queued", None, None)


def test_me_shows_balance_kind_and_trial_expiry(caller, engine):
    expiry = datetime(2031, 5, 1, tzinfo=UTC)
    with Session(engine) as session:
        user = session.get(User, caller.user_id)
        user.kind, user.credits, user.trial_expires_at = "guest", 25, expiry
        session.add(user)
        session.commit()

    body = caller.client.get("/api/me").json()

    assert (body["credits"], body["kind"]) == (25, "guest")
    assert datetime.fromisoformat(body["trial_expires_at"].replace("Z", "+00:00")) == expiry


def test_operators_grant_credits_through_the_ledger(engine, monkeypatch):
    user_id, _ = make_user(engine, credits=5)
    monkeypatch.setenv("FLOWBUILDER_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    from shared.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["credits", "grant", str(user_id), "20", "--json"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert '"balance": 25' in result.output
    with Session(engine) as session:
        [row] = session.exec(select(CreditLedgerEntry).where(CreditLedgerEntry.owner_id == user_id)).all()
    assert (row.delta, row.reason) == (20, "grant")
    assert balance(engine, user_id) == 25
