"""A webhook's plan is worked out once per workflow version (api.routes.webhooks._PLANS); what can
change between deliveries (archiving, the owner's credits, a new version) is still checked on each."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from api.routes import webhooks
from shared.db.models import User, Workflow
from tests.api.test_runs import executions_of, make_workflow

FETCH = {"nodes": [{"id": "fetch", "type": "http.request", "config": {"url": "https://example.com/"}}]}


@pytest.fixture
def hook(caller, engine):
    """A workflow costing 1 credit a run, with a webhook: (workflow id, path of its endpoint)."""
    workflow_id = make_workflow(engine, caller.user_id, FETCH, status="active")
    token = caller.client.post(f"/api/workflows/{workflow_id}/webhook").json()["token"]
    return workflow_id, f"/api/hooks/{token}"


def change(engine, model, id_, **values) -> None:
    with Session(engine) as session:
        row = session.get(model, id_)
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        session.commit()


def test_later_deliveries_reuse_the_versions_plan(anonymous, engine, hook):
    workflow_id, path = hook

    assert anonymous.post(path).status_code == 202
    assert anonymous.post(path).status_code == 202

    assert webhooks._PLANS.get(workflow_id, 1) == ("light", 1)
    assert len(executions_of(engine, workflow_id)) == 2


def test_archiving_after_a_delivery_still_refuses_the_next(anonymous, engine, hook):
    workflow_id, path = hook
    assert anonymous.post(path).status_code == 202

    change(engine, Workflow, workflow_id, status="archived")

    assert anonymous.post(path).status_code == 409
    assert len(executions_of(engine, workflow_id)) == 1


def test_an_owner_out_of_credits_after_a_delivery_gets_402(anonymous, caller, engine, hook):
    workflow_id, path = hook
    assert anonymous.post(path).status_code == 202

    change(engine, User, caller.user_id, credits=0)

    response = anonymous.post(path)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert len(executions_of(engine, workflow_id)) == 1
