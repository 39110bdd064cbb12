"""Starting runs (queued, committed, then dispatched to the lane) and previewing them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel
from sqlmodel import Session, select

from shared.db.crud import create_workflow, save_workflow_definition
from shared.db.models import Execution, Workflow, WorkflowVersion
from shared.nodes import build_registry
from shared.nodes.registry import NodeType
from shared.queue import DispatchResult
from shared.scheduler.gate import gate_for

GREET = {"nodes": [{"id": "greet", "type": "text.combine", "config": {"parts": ["hi ", "{{ input.name }}"]}}]}
FETCH_THEN_GREET = {
    "nodes": [
        {"id": "fetch", "type": "http.request", "config": {"url": "https://example.com/{{ input.q }}"}},
        {"id": "greet", "type": "text.combine", "config": {"parts": ["{{ nodes.fetch.output.status }}"]}},
    ],
    "edges": [{"from": "fetch", "to": "greet"}],
}


def make_workflow(engine, owner_id, definition=GREET, status="active") -> uuid.UUID:
    with Session(engine) as session:
        workflow, _ = create_workflow(session, owner_id, "greeter", definition, status=status)
        session.commit()
        return workflow.id


def executions_of(engine, workflow_id) -> list[Execution]:
    with Session(engine) as session:
        return list(session.exec(select(Execution).where(Execution.workflow_id == workflow_id)).all())


def test_a_run_is_queued_and_answered_with_202_and_a_location(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)

    response = caller.client.post(f"/api/workflows/{workflow_id}/runs", json={"input": {"name": "Ada"}})

    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["lane"]) == ("queued", "light")
    assert response.headers["location"] == f"/api/executions/{body['execution_id']}"
    [execution] = executions_of(engine, workflow_id)
    assert str(execution.id) == body["execution_id"]
    assert (execution.trigger, execution.input, execution.version) == ("api", {"name": "Ada"}, 1)


def test_a_run_is_dispatched_to_its_lane_and_stamped(caller, engine, services):
    workflow_id = make_workflow(engine, caller.user_id)

    execution_id = caller.client.post(f"/api/workflows/{workflow_id}/runs", json={}).json()["execution_id"]

    message = services.dispatcher.get(timeout=1)
    assert (str(message.execution_id), message.attempt, message.lane) == (execution_id, 1, "light")
    assert executions_of(engine, workflow_id)[0].dispatched_at is not None


def test_a_run_without_a_body_has_an_empty_input_and_the_api_trigger(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)

    assert caller.client.post(f"/api/workflows/{workflow_id}/runs").status_code == 202

    [execution] = executions_of(engine, workflow_id)
    assert (execution.input, execution.trigger) == ({}, "api")


def test_a_manual_run_is_recorded_as_manual(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)

    caller.client.post(f"/api/workflows/{workflow_id}/runs", json={"trigger": "manual"})

    assert executions_of(engine, workflow_id)[0].trigger == "manual"


def test_the_current_version_is_the_one_run(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)
    with Session(engine) as session:
        save_workflow_definition(session, caller.user_id, "greeter", FETCH_THEN_GREET)
        session.commit()

    caller.client.post(f"/api/workflows/{workflow_id}/runs")

    assert executions_of(engine, workflow_id)[0].version == 2


def test_a_workflow_with_a_browser_node_goes_to_the_browser_lane(caller, engine, services, monkeypatch):
    class Empty(BaseModel):
        pass

    async def shoot(ctx, config):
        return {}

    registry = build_registry()
    registry.add(NodeType("testing.browser_step", Empty, shoot, lane="browser"))
    monkeypatch.setattr("shared.nodes.default_registry", lambda: registry)
    workflow_id = make_workflow(engine, caller.user_id, {"nodes": [{"id": "shot", "type": "testing.browser_step"}]})

    body = caller.client.post(f"/api/workflows/{workflow_id}/runs").json()

    assert body["lane"] == "browser"
    assert services.dispatcher.get(timeout=1).lane == "browser"


class RefusingDispatcher:
    def dispatch(self, messages):
        return DispatchResult(failed=list(messages))


class BrokenDispatcher:
    def dispatch(self, messages):
        raise ConnectionError("queue unreachable")


@pytest.mark.parametrize(
    "dispatcher", [RefusingDispatcher(), BrokenDispatcher(), None], ids=["refused", "raises", "none"]
)
def test_an_undispatched_run_is_kept_for_the_outbox(caller, engine, services, dispatcher):
    services.dispatcher = dispatcher
    gate_for(services.settings).set(datetime.now(UTC) + timedelta(hours=1))
    workflow_id = make_workflow(engine, caller.user_id)

    response = caller.client.post(f"/api/workflows/{workflow_id}/runs")

    assert response.status_code == 202
    [execution] = executions_of(engine, workflow_id)
    assert (execution.status, execution.dispatched_at) == ("queued", None)
    assert gate_for(services.settings).read() <= execution.queued_at  # the tick wakes for it


def test_a_run_is_accepted_even_when_the_scheduler_cannot_be_woken(caller, engine, services, monkeypatch):
    services.dispatcher = RefusingDispatcher()

    def broken_gate(settings, when):
        raise OSError("read-only data dir")

    monkeypatch.setattr("shared.scheduler.gate.lower_next_wake", broken_gate)
    workflow_id = make_workflow(engine, caller.user_id)

    assert caller.client.post(f"/api/workflows/{workflow_id}/runs").status_code == 202
    assert executions_of(engine, workflow_id)[0].dispatched_at is None


def test_an_archived_workflow_is_not_run(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id, status="archived")

    response = caller.client.post(f"/api/workflows/{workflow_id}/runs")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "workflow_archived"
    assert executions_of(engine, workflow_id) == []


def test_a_definition_that_no_longer_validates_is_409_naming_the_node(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id, {"nodes": [{"id": "old", "type": "legacy.thing"}]})

    response = caller.client.post(f"/api/workflows/{workflow_id}/runs")

    assert response.status_code == 409
    assert response.json()["error"]["details"][0]["node"] == "old"
    assert executions_of(engine, workflow_id) == []


@pytest.mark.parametrize(
    "raw",
    ['{"input": [1, 2]}', '{"input": {"x": NaN}}', '{"input": {}, "extra": 1}', '{"trigger": "schedule"}', "nope"],
    ids=["not-an-object", "nan", "unknown-field", "trigger", "not-json"],
)
def test_an_invalid_run_request_is_422(caller, engine, raw):
    workflow_id = make_workflow(engine, caller.user_id)

    response = caller.client.post(
        f"/api/workflows/{workflow_id}/runs", content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert executions_of(engine, workflow_id) == []


def test_an_input_over_1_mib_is_422(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)

    response = caller.client.post(f"/api/workflows/{workflow_id}/runs", json={"input": {"x": "a" * (1024 * 1024)}})

    assert response.status_code == 422


def test_an_unknown_workflow_is_404(caller):
    response = caller.client.post(f"/api/workflows/{uuid.uuid4()}/runs")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_stranger_cannot_run_or_preview_the_workflow(caller, stranger, engine, services):
    workflow_id = make_workflow(engine, caller.user_id)

    assert stranger.client.post(f"/api/workflows/{workflow_id}/runs").status_code == 404
    assert stranger.client.post(f"/api/workflows/{workflow_id}/preview").status_code == 404
    assert executions_of(engine, workflow_id) == []
    assert services.dispatcher.qsize() == 0


def test_a_preview_gives_lane_credit_estimate_and_nodes_without_running(caller, engine, services):
    workflow_id = make_workflow(engine, caller.user_id, FETCH_THEN_GREET)

    response = caller.client.post(f"/api/workflows/{workflow_id}/preview", json={"input": {"q": "x"}})

    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "issues": [],
        "lane": "light",
        "credit_estimate": 1,
        "nodes": [
            {"id": "fetch", "type": "http.request", "lane": "light", "cost": 1},
            {"id": "greet", "type": "text.combine", "lane": "light", "cost": 0},
        ],
    }
    assert executions_of(engine, workflow_id) == []
    assert services.dispatcher.qsize() == 0


def test_a_preview_of_an_invalid_definition_lists_its_issues(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id, {"nodes": [{"id": "old", "type": "legacy.thing"}]})

    body = caller.client.post(f"/api/workflows/{workflow_id}/preview").json()

    assert (body["valid"], body["lane"], body["credit_estimate"], body["nodes"]) == (False, None, None, [])
    assert body["issues"][0]["node"] == "old"


def test_a_preview_does_not_change_the_workflow(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)

    caller.client.post(f"/api/workflows/{workflow_id}/preview", json={"input": {}})

    with Session(engine) as session:
        assert session.get(Workflow, workflow_id).current_version == 1
        assert len(session.exec(select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id)).all()) == 1
